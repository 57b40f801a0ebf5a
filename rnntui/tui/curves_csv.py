"""Export the curves on the chart as CSV, in long format: one row per point.

    curve,step,loss
    run 1: raw_rnn 4 n=5,1,0.6931
    ...

The live run contributes every step's loss and its smoothed line (a curve named "... (smoothed)");
comparison curves (earlier and loaded runs) contribute the points the chart draws: the smoothed
loss at up to 1,000 steps. Long format keeps curves of different lengths in one table that
pandas (`pivot`), R and spreadsheets read directly. The file is written atomically.

A live run longer than the chart keeps exactly (2^20 steps, rnntui/runs/live_curve.py) has its
older steps in blocks of 512: those are one row per block, at the block's last step, with the
block's mean loss (and mean smoothed loss), before one row per exact step; the steps of a
curve's rows always increase. `rnntui export RUN FILE.csv` writes every step a run stored.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from rnntui.util.atomic_write import atomic_write_text

HEADER = ("curve", "step", "loss")
FORMAT_NOTE = (
    "columns curve,step,loss: the live run per step (+ smoothed; past 2^20 steps, older ones as"
    " 512-step means), comparisons as drawn"
)

Curve = tuple[str, Sequence[float], Sequence[float]]


def curves_to_csv(curves: Sequence[Curve]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for label, steps, losses in curves:
        for step, loss in zip(steps, losses, strict=True):
            writer.writerow((label, int(step), repr(float(loss))))
    return out.getvalue()


def export_path(folder: Path, now: datetime | None = None) -> Path:
    """A new file name in `folder`: rnntui-curves-<date-time>[-n].csv."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    path = folder / f"rnntui-curves-{stamp}.csv"
    n = 1
    while path.exists():
        path, n = folder / f"rnntui-curves-{stamp}-{n}.csv", n + 1
    return path


def write_curves_csv(curves: Sequence[Curve], folders: Sequence[Path]) -> Path:
    """Write into the first folder that takes it (the working directory, then a fallback);
    raise the last OSError when none does."""
    text = curves_to_csv(curves)
    error: OSError | None = None
    for folder in folders:
        try:
            path = export_path(Path(folder))
            atomic_write_text(path, text)
        except OSError as problem:
            error = problem
            continue
        return path
    raise error or OSError("no folder to write the CSV to")
