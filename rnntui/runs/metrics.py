"""Reading a run's metrics as whole lists: the loss of every step, and the live knob changes.

For small runs and tests; long runs are read through rnntui/runs/store/ (bins, a tail, streams).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from rnntui.runs.files import METRICS_FILE, METRICS_STORE
from rnntui.util.numbers import is_number
from rnntui.util.safe_read import open_regular


def read_metrics(path: Path, *, knobs: bool = False) -> list[dict[str, Any]]:
    """Step records of a metrics log (with `knobs`, the knob-change rows too, in file order).
    Lines that are neither (a torn last line from a crash mid-append, damage) are skipped.
    OSError for a FIFO or directory: never blocks.

    For a run folder's metrics.jsonl that a metrics store replaced: `{"step", "loss"}` of each
    step whose own loss is kept (and the knob rows after the step they follow)."""
    path = Path(path)
    if path.name == METRICS_FILE and not os.path.lexists(path):
        if (path.parent / METRICS_STORE).is_dir():
            return _store_rows(path.parent / METRICS_STORE, knobs)
    rows = []
    with os.fdopen(open_regular(path), "rb") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except ValueError:  # not JSON, or not UTF-8
                continue
            if not isinstance(row, dict):
                continue
            is_step = (
                isinstance(row.get("step"), int)
                and not isinstance(row["step"], bool)
                and is_number(row.get("loss"))
                and math.isfinite(row["loss"])  # a run stops before it logs a NaN
            )
            is_knob = (
                knobs
                and isinstance(row.get("step"), int)
                and isinstance(row.get("knob"), str)
                and is_number(row.get("value"))
            )
            if is_step or is_knob:
                rows.append(row)
    return rows


def _store_rows(store: Path, knobs: bool) -> list[dict[str, Any]]:
    from rnntui.runs.store.reader import MetricsReader

    with MetricsReader(store) as reader:
        steps: list[dict[str, Any]] = [
            {"step": int(step), "loss": float(loss)}
            for points in reader.iter_points()
            for step, loss, count in zip(
                points.step.tolist(), points.loss.tolist(), points.count.tolist(), strict=True
            )
            if count == 1
        ]
        if not knobs:
            return steps
        marks = reader.knobs()
    rows, at = [], 0
    for knob in marks:
        while at < len(steps) and steps[at]["step"] <= knob["step"]:
            rows.append(steps[at])
            at += 1
        rows.append(knob)
    return rows + steps[at:]


def read_knobs(path: Path) -> list[dict[str, Any]]:
    """The live knob changes a metrics log records: `{"step", "knob", "value"}`, in order."""
    return [row for row in read_metrics(path, knobs=True) if "knob" in row]
