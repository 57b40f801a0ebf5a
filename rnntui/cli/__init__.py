"""The command line: `rnntui` opens the app; its commands work headless.

`main.py` holds the Typer app and the app-opening default; each other module adds a command group.
They are imported here in the order `rnntui --help` lists the commands.
"""
# ruff: noqa: I001 - the import order is the commands' order in `rnntui --help`

from rnntui.cli.main import app
from rnntui.cli import train as _train  # noqa: F401 - each module registers its commands on `app`
from rnntui.cli import runs as _runs  # noqa: F401
from rnntui.cli import inspect as _inspect  # noqa: F401
from rnntui.cli import sweep as _sweep  # noqa: F401
from rnntui.cli import text as _text  # noqa: F401
from rnntui.cli import forecast as _forecast  # noqa: F401
from rnntui.cli import probe as _probe  # noqa: F401
from rnntui.cli import serve as _serve  # noqa: F401

__all__ = ["app"]
