"""`rnntui runs` and `rnntui presets`: what there is to train and what has been trained; and
`rnntui runs --watch`, the System pane's figures for every live run, headless."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, TextIO

import typer

from rnntui.cli.main import app, fail
from rnntui.cli.options import RunsDirOption
from rnntui.config import describe_presets

WATCH_INTERVAL_S = 1.0
CLEAR = "\x1b[H\x1b[J"  # on a terminal each refresh replaces the last


@app.command()
def runs(
    runs_dir: RunsDirOption = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch", help="Show CPU, memory, disk and GPU use of each live run, each second."
        ),
    ] = False,
) -> None:
    """List training runs: name, preset, date, steps and the final metric."""
    from rnntui.runs.alerts import describe_alert, last_alert
    from rnntui.runs.files import default_runs_dir
    from rnntui.runs.listing import list_runs
    from rnntui.sessions.headless import os_reason

    if watch:
        watch_runs(Path(runs_dir).expanduser() if runs_dir else default_runs_dir())
        return
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
        alert = last_alert(row.path)
        typer.echo(
            f"{row.name:<{width}}  {row.preset:<{preset_width}}  {row.date}  {steps}  "
            f"{live}{row.final}" + (f"  {describe_alert(alert)}" if alert else "")
        )


def watch_runs(root: Path, out: TextIO | None = None, interval_s: float = WATCH_INTERVAL_S) -> None:
    """Print the machine's figures and each live run's until interrupted (KeyboardInterrupt
    ends it quietly)."""
    from rnntui.runs.live import live_runs
    from rnntui.runtime.system import SystemSampler, describe

    out = out or sys.stdout
    tty = out.isatty()
    sampler = SystemSampler(root)
    try:
        while True:
            found = live_runs(root)
            sampler.forget_others(set(found.values()))
            sample = sampler.sample(found)
            count = f"{len(found)} run(s) training" if found else "no run training"
            head = f"{datetime.now():%H:%M:%S}  {count} in {root}  (Ctrl+C ends)"
            text = "\n".join([head, *describe(sample)]) + "\n"
            out.write(CLEAR + text if tty else text + "\n")
            out.flush()
            time.sleep(interval_s)
    except KeyboardInterrupt:
        pass
    finally:
        sampler.close()


@app.command()
def presets() -> None:
    """List the bundled and your own presets with their descriptions."""
    rows = describe_presets()
    width = max((len(name) for name, _, _ in rows), default=0)
    for name, description, _ in rows:
        typer.echo(f"{name:<{width}}  {description}")
