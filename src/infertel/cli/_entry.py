"""The ``infertel`` console script: imports the typer app, or says how to install it.

The library installs without the command line's dependencies (``pip install infertel``); the
command line needs the ``cli`` extra. This module imports nothing that extra brings.
"""

from __future__ import annotations

import sys

# Top-level modules the `cli` extra brings (typer brings click).
CLI_MODULES = frozenset({"typer", "click", "rich", "duckdb"})


def main() -> None:
    try:
        from infertel.cli._app import app
    except ImportError as error:
        missing = (error.name or "").partition(".")[0]
        if missing not in CLI_MODULES:
            raise  # not a missing extra: a broken install, whose traceback says where
        # Plain print, no markup: the brackets of the extra's name must survive.
        print(f"infertel: the command line needs {missing}: "
              "pip install 'infertel[cli]'", file=sys.stderr)
        raise SystemExit(2) from None
    app()
