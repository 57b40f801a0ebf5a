"""The store's exact records: events (knob changes, evaluations, epoch ends, alerts: JSON
lines in step order) and marks (step, epoch, wall_s about once a second), read in pieces.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnntui.runs.store.format import MARK, MARKS_FILE, parse_event, read_records
from rnntui.util.safe_read import open_regular


@dataclass(frozen=True)
class Mark:
    """Where the run was: its step, 0-based epoch and training time then."""

    step: int
    epoch: int
    wall_s: float


def iter_events(path: Path, kinds: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
    needles = [f'"kind": {json.dumps(kind)}'.encode() for kind in kinds] if kinds else None
    try:
        fd = open_regular(path)
    except FileNotFoundError:
        return
    with os.fdopen(fd, "rb") as handle:
        rest = b""
        while data := handle.read(1 << 20):
            data = rest + data
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            if needles and not any(needle in data for needle in needles):
                continue
            for line in data[:cut].splitlines():
                if needles and not any(needle in line for needle in needles):
                    continue
                row = parse_event(line)
                if row is not None and (kinds is None or row["kind"] in kinds):
                    yield row


def events_offset(fd: int, size: int, step: int) -> int:
    """A line start in an events file at or before the first event after `step` (events are
    appended in step order): a bisection over byte offsets, a few reads whatever its length."""
    low, high = 0, size  # the answer is a line start in [low, high]
    while high - low > 1 << 16:
        middle = (low + high) // 2
        data = os.pread(fd, 1 << 12, middle)
        start = data.find(b"\n") + 1
        end = data.find(b"\n", start)
        row = parse_event(data[start:end]) if start and end > 0 else None
        if row is None:  # a line longer than a read, or damage: stop narrowing
            break
        if row["step"] <= step:
            low = middle + start
        else:
            high = middle
    return low


def last_mark(store: Path) -> Mark | None:
    try:
        fd = open_regular(store / MARKS_FILE)
    except FileNotFoundError:
        return None
    try:
        size = os.fstat(fd).st_size // MARK.itemsize
        if not size:
            return None
        mark = read_records(fd, size - 1, size, MARK)[0]
    finally:
        os.close(fd)
    return Mark(int(mark["step"]), int(mark["epoch"]), float(mark["wall_s"]))
