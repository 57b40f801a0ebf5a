"""Reading a run's metrics log: the loss of every step, and the live knob changes."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from rnntui.util.numbers import is_number
from rnntui.util.safe_read import open_regular


def read_metrics(path: Path, *, knobs: bool = False) -> list[dict[str, Any]]:
    """Step records of a metrics log (with `knobs`, the knob-change rows too, in file order).
    Lines that are neither (a torn last line from a crash mid-append, damage) are skipped.
    OSError for a FIFO or directory: never blocks."""
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


def read_knobs(path: Path) -> list[dict[str, Any]]:
    """The live knob changes a metrics log records: `{"step", "knob", "value"}`, in order."""
    return [row for row in read_metrics(path, knobs=True) if "knob" in row]
