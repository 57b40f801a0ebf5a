"""The trainer child's own entry point: `python -m rnntui.sessions.child_main FOLDER [options]`.

Started by the app (`sessions/child.py`, with `--events`: its stdout is a pipe of JSON event
lines) and by `rnntui train --detach` (its output goes to the run's train.log). FOLDER holds the
run's config.toml (a new run) or its checkpoint (`--resume`, with the settings the resume was
given). It trains with the same steps as `rnntui train` (`sessions/headless.py`), obeys
SIGUSR1/SIGUSR2/SIGTERM (pause, resume, stop with a checkpoint) and exits with the CLI's codes.
It parses nothing but its own few options: it is not a user-facing command.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rnntui.util import exit_codes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rnntui.sessions.child_main")
    parser.add_argument("folder")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--events", action="store_true")
    parser.add_argument("--tensorboard", action="store_true")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--device")
    parser.add_argument("--notify")
    parser.add_argument("--nice", type=int, default=0)  # the app's: yield to the app's UI
    options = parser.parse_args(argv)
    if options.nice:  # here, not in a pre-exec hook: forking a threaded app and running Python
        os.nice(options.nice)  # before exec can deadlock the child (and the app waiting on it)

    from rnntui.config import ConfigError
    from rnntui.runs.folder import RunFolder
    from rnntui.runs.resume import resume_command
    from rnntui.sessions.headless import (
        TrainRefused,
        TrainRequest,
        failure,
        hint_runs_dir,
        prepare,
        train,
    )

    held: list[RunFolder] = []
    try:
        if options.resume:
            request = TrainRequest(
                overrides=options.overrides,
                epochs=options.epochs,
                resume=options.folder,
                device=options.device,
                notify=options.notify,
            )
            config, run = prepare(request, held)
            assert run is not None
        else:
            run = RunFolder(Path(options.folder))
            try:
                config = run.load_config()
            except ConfigError as error:
                raise TrainRefused(str(error)) from None
        on_event, printer = _listener(options.events)
        hint = resume_command(run.name, hint_runs_dir(run, None))
        summary, error = train(
            config, run, on_event, resume=options.resume, tensorboard=options.tensorboard
        )
        printer.close()
        if options.events:  # the app reads the events; the exit code says the rest
            if summary.get("stopped"):
                return exit_codes.INTERRUPTED
            return exit_codes.TRAINING_FAILED if "failed" in summary else exit_codes.OK
        if "failed" in summary:
            raise failure(summary, error, run, resume=options.resume, hint=hint)
        print(printer.describe_summary(summary), flush=True)
        if summary.get("stopped"):
            print(f"stopped with a checkpoint; continue with: {hint}", file=sys.stderr)
            return exit_codes.INTERRUPTED
        return exit_codes.OK
    except TrainRefused as refused:
        print(f"rnntui: {refused}", file=sys.stderr)
        return refused.code
    finally:
        for folder in held:
            folder.release()


def _listener(events: bool):  # noqa: ANN202 - an EventWriter or a ProgressPrinter
    """Where the trainer's events go: JSON lines on stdout for the app, or the progress line
    (into the run's log)."""
    if events:
        from rnntui.sessions.pipe import EventWriter

        writer = EventWriter(sys.stdout)
        return writer, writer
    from rnntui.sessions.progress import ProgressPrinter

    printer = ProgressPrinter()
    return printer, printer


if __name__ == "__main__":
    sys.exit(main())
