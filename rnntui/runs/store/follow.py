"""Following a live run's metrics as they are written: each poll reads only what is new, from
a given step on, never the whole history (an attach to a day-long run starts where it is).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnntui.runs.store.events import Mark, events_offset, last_mark
from rnntui.runs.store.format import (
    EVENTS_FILE,
    FORMAT_FILE,
    LEGACY_FILE,
    STORE_DIR,
    parse_event,
    read_format,
)
from rnntui.runs.store.layout import Layout, RawReader
from rnntui.runs.store.legacy import parse_legacy
from rnntui.util.safe_read import open_regular


@dataclass(frozen=True)
class FollowUpdate:
    """What a run logged since the last poll: the losses of steps first_step+1 ... (NaN where a
    step has none), the events, the latest mark. `restarted`: the run was truncated (a resume)
    or the follower fell behind what is kept; drop what you have after `first_step`."""

    first_step: int
    losses: np.ndarray
    events: list[dict[str, Any]]
    mark: Mark | None
    restarted: bool = False

    @property
    def step(self) -> int:
        return self.first_step + len(self.losses)


class MetricsFollower:
    """Reads a live run's metrics as they are written, from `from_step` on: each `poll` reads
    only what is new (at most `max_steps` losses), never the whole history. Follows an old
    metrics.jsonl by byte offset when the run (trained by an older rnntui) has no store."""

    def __init__(self, run_path: Path, from_step: int = 0) -> None:
        self.run_path = Path(run_path)
        self.store = self.run_path / STORE_DIR
        self.position = int(from_step)
        self._generation: int | None = None
        self._format_mtime: int | None = None
        self._events_offset: int | None = None  # found by bisection on the first read
        self._events_rest = b""
        self._skip_events_to = int(from_step)  # events at or before this were seen (or dropped)
        self._legacy_offset = 0
        self._legacy_rest = b""

    def poll(self, max_steps: int = 1 << 16) -> FollowUpdate:
        if not (self.store / FORMAT_FILE).exists() and os.path.lexists(self.run_path / LEGACY_FILE):
            return self._poll_legacy(max_steps)
        restarted = False
        try:
            mtime = os.stat(self.store / FORMAT_FILE).st_mtime_ns
        except FileNotFoundError:
            return FollowUpdate(self.position, np.zeros(0, np.float32), [], None)
        if mtime != self._format_mtime:
            generation = read_format(self.store).generation
            if self._generation is not None and generation != self._generation:
                restarted = True
            self._generation, self._format_mtime = generation, mtime
        layout = Layout.scan(self.store)
        if layout.steps < self.position or restarted:
            self.position = min(self.position, layout.steps)
            restarted = True
        if self.position < layout.raw_from:  # fell behind what is kept per step
            self.position, restarted = layout.raw_from, True
        if restarted:
            self._events_offset, self._events_rest = None, b""
            self._skip_events_to = self.position
        first = self.position
        last = min(layout.steps, first + max_steps)
        raw = RawReader(self.store, layout)
        try:
            losses = raw.read(first, last)
        finally:
            raw.close()
        self.position = last
        events = self._new_events()
        return FollowUpdate(first, losses, events, last_mark(self.store), restarted)

    def _new_events(self) -> list[dict[str, Any]]:
        path = self.store / EVENTS_FILE
        try:
            fd = open_regular(path)
        except FileNotFoundError:
            return []
        with os.fdopen(fd, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if self._events_offset is None:
                self._events_offset = events_offset(handle.fileno(), size, self._skip_events_to)
            if size < self._events_offset:
                self._events_offset, self._events_rest = 0, b""
            handle.seek(self._events_offset)
            data = self._events_rest + handle.read()
            self._events_offset = handle.tell()
        cut = data.rfind(b"\n") + 1
        self._events_rest = data[cut:]
        rows = [parse_event(line) for line in data[:cut].splitlines()]
        return [row for row in rows if row is not None and row["step"] > self._skip_events_to]

    def _poll_legacy(self, max_steps: int) -> FollowUpdate:
        path = self.run_path / LEGACY_FILE
        restarted = False
        try:
            fd = open_regular(path)
        except FileNotFoundError:
            return FollowUpdate(self.position, np.zeros(0, np.float32), [], None)
        with os.fdopen(fd, "rb") as handle:
            if os.fstat(handle.fileno()).st_size < self._legacy_offset:  # truncated: a resume
                self._legacy_offset, self._legacy_rest, restarted = 0, b"", True
            handle.seek(self._legacy_offset)
            data = self._legacy_rest + handle.read(max_steps * 100)
            self._legacy_offset = handle.tell()
        cut = data.rfind(b"\n") + 1
        self._legacy_rest = data[cut:]
        batch = parse_legacy(data[:cut])
        events = [{"kind": "knob", **row} for _, row in batch.knobs]
        keep = batch.steps > self.position
        if restarted or (len(batch.steps) and batch.steps[0] <= self.position):
            restarted = True
            keep = batch.steps > 0
        steps, losses = batch.steps[keep], batch.losses[keep].astype(np.float32)
        first = int(steps[0]) - 1 if len(steps) else self.position
        mark = None
        if len(steps):
            mark = Mark(int(steps[-1]), int(batch.epochs[keep][-1]), float(batch.walls[keep][-1]))
            self.position = int(steps[-1])
        return FollowUpdate(first, losses, events, mark, restarted)
