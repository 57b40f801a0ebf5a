"""Options and arguments several commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

OverridesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", metavar="KEY=VALUE", help="Override a setting: section.key=value (repeatable)."
    ),
]
DeviceOption = Annotated[
    str | None,
    typer.Option("--device", metavar="DEVICE", help="auto, cpu, gpu or gpu:N (sets train.device)."),
]
NotifyOption = Annotated[
    str | None,
    typer.Option(
        "--notify",
        metavar="URL",
        help="Alert an ntfy topic URL (or an apprise URL) when a run finishes, fails or stalls.",
    ),
]
RunsDirOption = Annotated[
    Path | None,
    typer.Option(
        "--runs-dir",
        metavar="DIR",
        help="Where run folders go (default: your user data folder).",
        readable=False,  # checked by the commands, which say what is wrong in one line
    ),
]
SweepsDirOption = Annotated[
    Path | None,
    typer.Option(
        "--runs-dir", metavar="DIR", help="Where sweep folders go (default: your user data folder)."
    ),
]
PresetArgument = Annotated[
    str, typer.Argument(metavar="PRESET", help="Preset name or path to a TOML file.")
]


def run_argument(help_text: str) -> typer.models.ArgumentInfo:
    """A command's RUN argument (a run's name or folder), with its own help."""
    return typer.Argument(metavar="RUN", help=help_text)


def json_option(help_text: str) -> typer.models.OptionInfo:
    """A command's --json flag, with what its JSON holds."""
    return typer.Option("--json", help=help_text)
