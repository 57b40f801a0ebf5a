"""Trainer events over a pipe: a child process trains, the app that started it listens.

The writer batches: progress events are merged (their losses joined) and sent at most every
`INTERVAL_S`, and epoch ends that only carry a tail loss are thinned to the latest — count-lstm's
2,000 five-window epochs would otherwise be 4,000 lines for the app to handle in four seconds.
Epoch ends with fresh task metrics, and every other event, go out at once and in order.

When the reader goes away (the app quit, or detached from the run) the writer goes quiet and
training carries on: the run folder has everything.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from rnntui.engine.events import EpochEnd, Event, Progress, decode, encode

INTERVAL_S = 0.05


class EventWriter:
    """A trainer callback that writes events to `stream` as JSON lines."""

    def __init__(self, stream: TextIO, interval_s: float = INTERVAL_S) -> None:
        self.stream = stream
        self.interval_s = interval_s
        self.connected = True
        self._progress: Progress | None = None
        self._epoch_end: EpochEnd | None = None
        self._last_sent = 0.0

    def __call__(self, event: Event) -> None:
        if not self.connected:
            return
        if isinstance(event, Progress):
            self._progress = _merge(self._progress, event)
        elif isinstance(event, EpochEnd) and set(event.metrics) <= {"tail_loss"}:
            self._epoch_end = event
        else:
            self._flush()
            self._send(event)
            return
        if time.monotonic() - self._last_sent >= self.interval_s:
            self._flush()

    def _flush(self) -> None:
        pending = [e for e in (self._progress, self._epoch_end) if e is not None]
        self._progress = self._epoch_end = None
        for event in pending:
            self._send(event)
        self._last_sent = time.monotonic()

    def _send(self, event: Event) -> None:
        if not self.connected:
            return
        try:
            self.stream.write(encode(event) + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # the reader is gone: train on, quietly
            self.connected = False

    def close(self) -> None:
        self._flush()


def _merge(earlier: Progress | None, later: Progress) -> Progress:
    if earlier is None:
        return later
    return Progress(
        step=later.step,
        epoch=later.epoch,
        total_steps=later.total_steps,
        losses=earlier.losses + later.losses,
        steps_per_s=later.steps_per_s,
        eta_s=later.eta_s,
        wall_s=later.wall_s,
        memory_mb=later.memory_mb,
    )


def read_events(stream: TextIO, on_event: Callable[[Event], None]) -> None:
    """Call `on_event` for every event line in `stream` until it ends (other lines skipped)."""
    for line in stream:
        if not line.startswith("{"):
            continue
        try:
            event = decode(line)
        except (ValueError, TypeError):
            continue
        on_event(event)
