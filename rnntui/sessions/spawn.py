"""Training in another process: the trainer child (`sessions/child_main.py`), started by the app
or `rnntui train --detach`.

A child runs in its own session, so closing the terminal (SIGHUP to the terminal's process group)
does not reach it; its stderr goes to the run folder's `train.log`. The app's children also write
their events to stdout for the app (see `pipe.py`); a detached run writes nothing but its
folder. Either way the child is controlled by signals (see `signals.py`), so the app can
pause, resume or stop a run it started and one it only attached to in the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rnntui.runs.files import LOG_FILE

# The app's children yield to the app's own process: with two cores, the trainer, the TensorFlow
# helper importing, and the UI drawing compete, and at equal priority the UI's frames came late.
APP_CHILD_NICE = 5


def spawn_trainer(args: list[str], run_path: Path, *, events: bool) -> subprocess.Popen:
    """Start the trainer child with `args` in its own session; with `events` (the app's child), its
    stdout is a pipe of JSON event lines (text) and it runs a little nicer than the app, else
    its stdout joins stderr in the run's log."""
    log = open(run_path / LOG_FILE, "ab")  # noqa: SIM115 - the child keeps it; we close ours
    try:
        environment = {"TF_CPP_MIN_LOG_LEVEL": "2", **os.environ}
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rnntui.sessions.child_main",
                *args,
                *(["--events", "--nice", str(APP_CHILD_NICE)] if events else []),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if events else log,
            stderr=log,
            text=events,
            bufsize=1 if events else -1,
            start_new_session=True,
            env=environment,
        )
    finally:
        log.close()


def send(pid: int, signum: int) -> bool:
    """Signal a training process; False when it is gone."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return False
    return True
