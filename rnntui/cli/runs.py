"""`rnntui runs` and `rnntui presets`: what there is to train and what has been trained."""

from __future__ import annotations

import typer

from rnntui.cli.main import app, fail
from rnntui.cli.options import RunsDirOption
from rnntui.config import describe_presets


@app.command()
def runs(runs_dir: RunsDirOption = None) -> None:
    """List training runs: name, preset, date, steps and the final metric."""
    from rnntui.runs.files import default_runs_dir
    from rnntui.runs.listing import list_runs
    from rnntui.sessions.headless import os_reason

    try:
        rows = list_runs(runs_dir)
    except OSError as error:
        where = runs_dir if runs_dir is not None else default_runs_dir()
        raise fail(f"cannot list the runs in {where} ({os_reason(error)})") from None
    if not rows:
        typer.echo("no runs yet; start one with `rnntui train PRESET`")
        return
    width = max(len(row.name) for row in rows)
    preset_width = max(len(row.preset) for row in rows)
    for row in rows:
        steps = f"{row.steps:>9,}" if row.steps is not None else f"{'-':>9}"
        live = f"● {row.live_state} (pid {row.live_pid})  " if row.live_pid else ""
        typer.echo(
            f"{row.name:<{width}}  {row.preset:<{preset_width}}  {row.date}  {steps}  "
            f"{live}{row.final}"
        )


@app.command()
def presets() -> None:
    """List the bundled and your own presets with their descriptions."""
    rows = describe_presets()
    width = max((len(name) for name, _, _ in rows), default=0)
    for name, description, _ in rows:
        typer.echo(f"{name:<{width}}  {description}")
