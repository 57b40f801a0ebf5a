"""A past run as a comparison curve: its smoothed loss as the chart keeps one, and its labels.

Runs in a thread worker; reads about a thousand bins of the run's metrics store whatever its
length (an older rnntui's metrics.jsonl is converted once, which takes a pass over it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnntui.runs.curves import COMPARISON_POINTS, knob_mark
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
    from rnntui.runs.folder import RunFolder
    from rnntui.runs.store.opening import open_metrics

    try:
        with open_metrics(info.path) as reader:
            bins = reader.chart(COMPARISON_POINTS)  # = downsample(smooth(losses)), exactly
            marks = [knob_mark(row["step"], row["knob"], row["value"]) for row in reader.knobs()]
        if not len(bins):
            raise ValueError("its metrics log has no steps yet")
        try:
            summary = RunFolder(info.path).read_summary()
        except (OSError, ValueError):
            summary = {}
        final, task = summary.get("final_loss"), summary.get("task")
        task = task if isinstance(task, str) else ""
        curve = bins.as_curve(past_run_label(info, final), marks, task)
        return PastRunLoaded(info.name, curve, int(bins.count.sum()), path=str(info.path))
    except (OSError, ValueError, KeyError, TypeError) as error:
        return PastRunLoaded(info.name, None, error=f"{type(error).__name__}: {error}")
