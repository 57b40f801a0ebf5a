"""The run folder's layout: the name of every file in it, and where run folders live.

Run folders: everything needed to see, compare and resume a training run, written atomically.

    <runs>/<YYYYmmdd-HHMMSS>-<preset>/
        config.toml      the resolved config (a run can be reproduced from its folder alone)
        metrics/         every step's loss, compact, and events (knob changes, evaluations):
                         rnntui/runs/store/ (flushed at least every second)
        metrics.jsonl    what runs of older rnntui logged instead: a line per step (step, epoch,
                         loss, wall_s) and one per knob change; read as before, converted once
        summary.json     the run's summary (rewritten at epoch ends and at the finish)
        checkpoint.npz   weights, optimizer state, carried RNN state, data position, best weights
        status.json      who trains it now (pid) and how it stands: training, paused, finished…
        train.log        what a run in the background (detached, or the app's) printed

        lock             while a process trains the run: its pid, host and start time (runs/lock.py)

Every file but the metrics is written to a temporary name and renamed, so a crash mid-write
leaves the previous good version in place. Every file is read through `safe_read`: a FIFO or a
directory where a file should be is reported, never opened in a way that could block.
"""

from __future__ import annotations

from pathlib import Path

CONFIG_FILE = "config.toml"
METRICS_FILE = "metrics.jsonl"  # older rnntui's metrics log
METRICS_STORE = "metrics"  # the metrics store (a folder): rnntui/runs/store/
SUMMARY_FILE = "summary.json"
CHECKPOINT_FILE = "checkpoint.npz"
STATUS_FILE = "status.json"
CONTROL_FILE = "control.json"  # knobs and probe requests for the trainer (from the app)
LOG_FILE = "train.log"
# what a task's evaluation left to draw (a ViewTask's view: a series' forecasts), JSON
EVALUATION_FILE = "evaluation.json"

LIVE_STATES = ("starting", "training", "paused")  # what status.json says while a process trains


class RunFolderError(ValueError):
    """A run folder that cannot be resumed as it is; `str()` is one line saying why."""


def default_runs_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("rnntui")) / "runs"
