"""How the commands write: one place that decides width, markup and where errors go.

* Output that is not a terminal (a pipe, a file, CI) is never wrapped, folded or cut: ids are
  copied from it and searched with grep. rich would otherwise lay it out for 80 columns.
* Text that comes from data or from error messages is never read as rich markup: a pip hint such
  as ``pip install 'infertel[ner]'`` loses its ``[ner]`` to the markup parser otherwise. Such
  lines are printed with :func:`plain` / :func:`error`, or passed to rich as ``Text``.
"""

from __future__ import annotations

import sys
from typing import Final

import typer
from rich.console import Console

# Wide enough that no table or line is laid out narrower than its content; rich sizes tables
# to their content, so this adds no padding.
PIPE_WIDTH: Final = 100_000


def console(*, stderr: bool = False) -> Console:
    """A rich console for this command's output (``highlight`` off: no guessing at numbers)."""
    probe = Console(stderr=stderr)
    if probe.is_terminal:
        return Console(stderr=stderr, highlight=False)
    return Console(stderr=stderr, highlight=False, width=PIPE_WIDTH, soft_wrap=True)


def is_terminal(*, stderr: bool = False) -> bool:
    return Console(stderr=stderr).is_terminal


def plain(text: str = "", *, err: bool = False) -> None:
    """One line exactly as given: no markup, no wrapping."""
    typer.echo(text, err=err)


def error(command: str, message: str) -> None:
    """``infertel COMMAND: message`` on stderr, literally."""
    typer.echo(f"infertel {command}: {message}", err=True)


def program() -> str:
    """How this process was invoked, for commands we print for the user to run next.

    ``.venv/bin/infertel`` when run as that (the README's venv, not activated), ``infertel`` when
    that is what PATH finds, ``python -m infertel`` with this interpreter otherwise.
    """
    import os
    import shlex
    import shutil

    argv0 = sys.argv[0] if sys.argv else ""
    name = os.path.basename(argv0)
    if name == "infertel":
        on_path = shutil.which("infertel")
        if on_path and os.path.realpath(on_path) == os.path.realpath(argv0):
            return "infertel"
        return shlex.quote(_relative(argv0))
    return f"{shlex.quote(_relative(sys.executable))} -m infertel"


def _relative(path: str) -> str:
    """``path`` relative to the working directory when it lies below it (shorter to read)."""
    import os

    absolute = os.path.abspath(path)
    if not absolute.startswith(os.getcwd() + os.sep):
        return absolute
    relative = os.path.relpath(absolute)
    # A bare name would be looked up on PATH by the shell, not in this folder.
    return relative if os.sep in relative else os.path.join(".", relative)
