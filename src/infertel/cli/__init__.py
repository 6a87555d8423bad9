"""The ``infertel`` command line. Commands are registered in ``infertel.cli._app``.

This package's ``__init__`` imports no CLI dependency, so the console script can tell a user
without the ``cli`` extra how to install it instead of failing with a traceback.
"""

from __future__ import annotations


def main() -> None:
    from infertel.cli._entry import main as entry

    entry()


def __getattr__(name: str) -> object:
    # `from infertel.cli import app` keeps working; typer loads only then.
    if name == "app":
        from infertel.cli._app import app

        return app
    raise AttributeError(f"module 'infertel.cli' has no attribute {name!r}")
