"""`rnntui train`: parse the options, then train headless (`sessions/headless.py`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from rnntui.cli.main import app, fail, safe_echo
from rnntui.cli.options import DeviceOption, NotifyOption, OverridesOption, RunsDirOption
from rnntui.sessions.headless import TrainRefused, TrainRequest
from rnntui.sessions.signals import ignore_stop_signals
from rnntui.util import exit_codes

if TYPE_CHECKING:
    from rnntui.runs.folder import RunFolder


@app.command()
def train(
    preset: Annotated[
        str | None, typer.Argument(metavar="PRESET", help="Preset name or path to a TOML file.")
    ] = None,
    overrides: OverridesOption = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", metavar="N", help="Override train.epochs.", min=1)
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run summary as one JSON line, no progress.")
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option("--resume", metavar="RUN", help="Continue a run (its name or folder)."),
    ] = None,
    runs_dir: RunsDirOption = None,
    tensorboard: Annotated[
        bool, typer.Option("--tensorboard", help="Also write TensorBoard scalars to the run.")
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Only validate: print the resolved config and exit.")
    ] = False,
    device: DeviceOption = None,
    detach: Annotated[
        bool,
        typer.Option(
            "--detach", help="Train in the background: survives closing the terminal or SSH."
        ),
    ] = False,
    notify: NotifyOption = None,
) -> None:
    """Train a preset headless and print its result. Ctrl+C stops with a checkpoint."""
    request = TrainRequest(
        preset, overrides or [], epochs, resume, runs_dir, tensorboard, device, notify
    )
    held: list[RunFolder] = []  # a resume locks its folder before checking anything
    try:
        _train(request, held, as_json=as_json, check=check, detach=detach)
    except TrainRefused as refused:
        raise fail(str(refused), refused.code) from None
    finally:
        for run in held:
            run.release()


def _train(
    request: TrainRequest, held: list[RunFolder], *, as_json: bool, check: bool, detach: bool
) -> None:
    from rnntui.runs.resume import resume_command
    from rnntui.sessions.headless import (
        check_device,
        create_run,
        failure,
        hint_runs_dir,
        prepare,
        start_detached,
        train,
    )
    from rnntui.sessions.progress import ProgressPrinter

    config, run = prepare(request, held)
    if check:
        typer.echo(config.to_toml(), nl=False)
        return
    check_device(config)
    if run is None:
        run = create_run(config, request.runs_dir)
    hint_dir = hint_runs_dir(run, request.runs_dir)
    hint = resume_command(run.name, hint_dir)
    resuming = bool(request.resume)
    if detach:
        for folder in held:  # the background process takes the lock itself
            folder.release()
        safe_echo(start_detached(run, request, hint_dir, resume=resuming, as_json=as_json))
        return

    printer = ProgressPrinter(enabled=not as_json)
    summary, error = train(
        config, run, printer, resume=resuming, tensorboard=request.tensorboard,
        warn=lambda text: safe_echo(f"rnntui: {text}", err=True),
    )  # fmt: skip
    printer.close()
    if summary.get("stopped"):  # saved: a Ctrl+C pressed again as it exits must not cut it short
        ignore_stop_signals()
    if "failed" in summary:
        raise failure(summary, error, run, resume=resuming, hint=hint)
    safe_echo(json.dumps(summary) if as_json else printer.describe_summary(summary))
    if summary.get("stopped"):
        safe_echo(f"stopped with a checkpoint; continue with: {hint}", err=True)
        raise typer.Exit(exit_codes.INTERRUPTED)
