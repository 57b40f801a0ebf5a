"""A past run as a comparison curve: read its metrics log, smooth it, label it.

Runs in a thread worker (a long run's log has a line per step); returns a message for the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnntui.runs.curves import comparison_curve, knob_mark, smooth
from rnntui.tui.messages import PastRunLoaded

if TYPE_CHECKING:
    from rnntui.runs.listing import RunInfo


def past_run_label(info: RunInfo, final: object = None) -> str:
    """ "echo-raw-5 05-02 14:31 0.519": a loaded run on the chart, short enough for 80 columns."""
    loss = f" {final:.3f}" if isinstance(final, float) else ""
    return f"{info.preset} {info.date[5:]}{loss}"


def load_past_run(info: RunInfo) -> PastRunLoaded:
    """The run's smoothed loss curve with its knob changes marked, or the reason it cannot be
    read (never raises)."""
    from rnntui.runs.files import METRICS_FILE
    from rnntui.runs.folder import RunFolder
    from rnntui.runs.metrics import read_metrics

    try:
        rows = read_metrics(info.path / METRICS_FILE, knobs=True)
        losses = [float(row["loss"]) for row in rows if "knob" not in row]
        marks = [knob_mark(row["step"], row["knob"], row["value"]) for row in rows if "knob" in row]
        if not losses:
            raise ValueError("its metrics log has no steps yet")
        try:
            summary = RunFolder(info.path).read_summary()
        except (OSError, ValueError):
            summary = {}
        final, task = summary.get("final_loss"), summary.get("task")
        task = task if isinstance(task, str) else ""
        curve = comparison_curve(past_run_label(info, final), smooth(losses), marks, task)
        return PastRunLoaded(info.name, curve, len(losses), path=str(info.path))
    except (OSError, ValueError, KeyError, TypeError) as error:
        return PastRunLoaded(info.name, None, error=f"{type(error).__name__}: {error}")
