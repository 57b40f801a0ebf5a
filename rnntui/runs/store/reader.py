"""Reading a run's metrics in constant memory, whatever its length.

- `MetricsReader.chart(bins)`: what a chart of `bins` points draws, exactly: per bin the count,
  mean, min, max and last loss, and the mean of the smoothed line (what `curves.downsample` of
  `curves.smooth` gives), read from a few thousand block records however long the run.
- `MetricsReader.tail(n)`: the exact losses of the latest steps; `iter_points`: every stored
  point (per step where kept, per block before), streaming; `events`/`knobs`: kept exactly.

A chart reads the blocks inside each bin and one block's steps at each end (computed once per
block), or every kept step in 128 K-step pieces when the bins are narrow (binning.py): both give
the same records, checked against a brute force in tests/test_metrics_store.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnntui.runs.store.binning import (
    VECTOR_STEPS,
    ChartBins,
    bins_of,
    chart_edges,
    record_of,
    vector_records,
)
from rnntui.runs.store.blocks import combine, ema_state, ema_values, reduce_records
from rnntui.runs.store.events import Mark, iter_events, last_mark
from rnntui.runs.store.format import EVENTS_FILE, RECORD, blocks_name, read_records
from rnntui.runs.store.layout import Layout, RawReader, missing_blocks
from rnntui.util.safe_read import open_regular


@dataclass(frozen=True)
class Points:
    """Stored points in step order: `count` 1 for a step's own loss (min = max = loss), more
    for a block of older steps (`loss` their mean, `step` the block's last)."""

    step: np.ndarray
    loss: np.ndarray
    count: np.ndarray
    min: np.ndarray
    max: np.ndarray


class MetricsReader:
    """A snapshot of a run's metrics as they were when opened (a writer may go on appending:
    open again, or use a MetricsFollower, to see more). Holds a few descriptors; `close()`."""

    def __init__(self, store: Path, *, cleanup: Path | None = None) -> None:
        self.store = Path(store)
        self._cleanup = cleanup
        self._raw: RawReader | None = None
        self._l1_fd: int | None = None
        self._l1_extra = np.zeros(0, RECORD)
        self._lines: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        try:
            self.layout: Layout | None = Layout.scan(self.store)
        except FileNotFoundError:  # no store, or created a moment ago: no steps yet
            self.layout = None
            self.steps = self.raw_from = 0
            self.block = 1
            self._l2 = np.zeros(0, RECORD)
            self._l2_seen = np.zeros(1, np.int64)
            return
        layout = self.layout
        fmt = self.fmt = layout.fmt
        self.steps, self.raw_from, self.block = layout.steps, layout.raw_from, fmt.block
        self._raw = RawReader(self.store, layout)
        l2_fd = None
        try:
            self._l1_fd = open_regular(self.store / blocks_name(fmt.block))
            l2_fd = open_regular(self.store / blocks_name(fmt.block * fmt.level2))
        except FileNotFoundError:
            pass
        l1_extra, l2_extra = missing_blocks(layout, self._raw, self._l1_fd, l2_fd)
        self._l1_extra = l1_extra
        l2 = read_records(l2_fd, 0, layout.l2_on_disk) if l2_fd is not None else None
        if l2_fd is not None:
            os.close(l2_fd)
        self._l2 = np.concatenate([l2 if l2 is not None else np.zeros(0, RECORD), l2_extra])
        self._l2_seen = np.concatenate(([0], np.cumsum(self._l2["count"], dtype=np.int64)))

    @property
    def kept_from(self) -> int:
        """The first step (1-based) whose own loss is kept; earlier ones are in blocks."""
        return self.raw_from + 1

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()
        if self._l1_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._l1_fd)
            self._l1_fd = None
        if self._cleanup is not None:
            shutil.rmtree(self._cleanup, ignore_errors=True)
            self._cleanup = None

    def __enter__(self) -> MetricsReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- blocks ----------------------------------------------------------------------------------

    def _l1(self, first: int, last: int) -> np.ndarray:
        assert self.layout is not None
        disk = self.layout.l1_on_disk
        parts = []
        if first < disk and self._l1_fd is not None:
            parts.append(read_records(self._l1_fd, first, min(last, disk)))
        if last > disk:
            parts.append(self._l1_extra[max(first, disk) - disk : last - disk])
        return np.concatenate(parts) if parts else np.zeros(0, RECORD)

    def _seen_before(self, block: int) -> int:
        """Finite losses before block `block` (the smoothed line's debiasing count)."""
        group = block // self.fmt.level2
        l1 = self._l1(group * self.fmt.level2, block)
        return int(self._l2_seen[group]) + int(l1["count"].sum(dtype=np.int64))

    def _line_from(self, block: int, last: int) -> tuple[np.ndarray, np.ndarray]:
        """The losses of steps [block start, last) and the smoothed line at each (NaN where a
        step has no loss), continuing from the state the block before ends with."""
        assert self._raw is not None
        seen = self._seen_before(block)
        before = self._l1(block - 1, block) if block else np.zeros(0, RECORD)
        y0 = float(before["ema"][0]) if len(before) else float("nan")
        values = self._raw.read(block * self.block, last)
        finite = np.isfinite(values)
        line = np.full(len(values), np.nan)
        e0 = ema_state(y0, seen, self.fmt.alpha)
        line[finite] = ema_values(values[finite].astype(np.float64), e0, seen, self.fmt.alpha)[0]
        return values, line

    def _raw_record(self, first: int, last: int) -> np.ndarray:
        """The record of steps [first, last), all in one block, from their own losses (each
        block's line computed once per `records` call)."""
        block = first // self.block
        if block not in self._lines:
            end = min((block + 1) * self.block, self.steps)
            self._lines[block] = self._line_from(block, end)
        values, line = self._lines[block]
        begin = block * self.block
        return record_of(values[first - begin : last - begin], line[first - begin : last - begin])

    def _range_records(self, first: int, last: int) -> list[np.ndarray]:
        """Records covering steps [first, last) exactly, in order."""
        b = self.block
        head_end = -(-first // b) * b
        tail_start = last // b * b
        if head_end > tail_start:  # inside one block
            return [self._raw_record(first, last)]
        parts = []
        if first < head_end:
            parts.append(self._raw_record(first, head_end))
        i, j = head_end // b, tail_start // b
        g = self.fmt.level2
        gi, gj = -(-i // g), j // g
        if gi < gj:
            parts += [self._l1(i, gi * g), self._l2[gi:gj], self._l1(gj * g, j)]
        else:
            parts.append(self._l1(i, j))
        if tail_start < last:
            parts.append(self._raw_record(tail_start, last))
        return parts

    # --- what charts read ------------------------------------------------------------------------

    def edges(self, bins: int, start: int = 0, end: int | None = None) -> np.ndarray:
        return chart_edges(self.steps, bins, self.raw_from, self.block, start, end)

    def records(
        self, edges: Sequence[int] | np.ndarray, per_step: bool | None = None
    ) -> np.ndarray:
        """One exact record (metrics_store.RECORD) per pair of consecutive `edges` (0-based
        step offsets, increasing, each before `raw_from` at a block start; past the end they are
        clipped, and a bin there is empty: count 0). `per_step`: read every kept step in the
        bins (True) or the blocks inside them and the steps at their ends (False); by default
        whichever reads less. Both give the same records."""
        edges = np.minimum(np.asarray(edges, dtype=np.int64), self.steps)
        out = np.zeros(max(0, len(edges) - 1), RECORD)
        if not len(out) or not self.steps:
            return out
        # bins among the kept steps: when they are narrow, or few steps, read every step (in
        # pieces); wide ones read the blocks inside them and only the steps at their ends
        k = int(np.searchsorted(edges, self.raw_from))
        per_bin = len(out)
        if k < len(out):
            span = edges[-1] - edges[k] // self.block * self.block
            if per_step is None:
                per_step = span <= max(VECTOR_STEPS, 4 * (len(edges) - k) * self.block)
            if per_step:
                out[k:] = self._vector_records(edges[k:])
                per_bin = k
        self._lines = {}
        bounds = edges[: per_bin + 1].tolist()
        for i, (first, last) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            if last > first:
                out[i] = combine(self._range_records(first, last))
        self._lines = {}
        return out

    def _vector_records(self, edges: np.ndarray) -> np.ndarray:
        """`records` of bins among the kept steps, from the loss of every step in them."""
        b = self.block
        start = int(edges[0]) // b * b
        seen = self._seen_before(start // b)
        before = self._l1(start // b - 1, start // b) if start else np.zeros(0, RECORD)
        state = ema_state(float(before["ema"][0]) if len(before) else np.nan, seen, self.fmt.alpha)
        assert self._raw is not None
        return vector_records(self._raw.read, edges, start, state, seen, self.fmt.alpha)

    def bins(self, edges: Sequence[int] | np.ndarray, per_step: bool | None = None) -> ChartBins:
        """The chart's bins between consecutive `edges` (see `records`); empty ones left out."""
        edges = np.asarray(edges, dtype=np.int64)
        records = self.records(edges, per_step)
        keep = records["count"] > 0
        return bins_of(np.minimum(edges[1:], self.steps)[keep], records[keep])

    def chart(
        self, bins: int, start: int = 0, end: int | None = None, per_step: bool | None = None
    ) -> ChartBins:
        """What a chart of `bins` points over steps [start, end) draws (all steps by default)."""
        return self.bins(self.edges(bins, start, end), per_step)

    def curve(self, points: int) -> tuple[np.ndarray, np.ndarray]:
        """(x, smoothed) as `curves.comparison_curve` keeps a finished run: the smoothed line,
        downsampled to at most `points` points."""
        bins = self.chart(points)
        return bins.x, bins.smoothed

    def tail(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(steps, losses) of the latest `count` steps that have a loss of their own (fewer when
        the kept steps are fewer): exact."""
        if self._raw is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        first = max(self.raw_from, self.steps - count)
        losses = self._raw.read(first, self.steps)
        keep = np.isfinite(losses)
        return np.arange(first + 1, self.steps + 1, dtype=np.int64)[keep], losses[keep]

    def losses(self, first: int, last: int) -> np.ndarray:
        """The losses of steps [first, last) (0-based), NaN for steps without one kept."""
        if self._raw is None:
            return np.full(max(0, last - first), np.nan, np.float32)
        return self._raw.read(first, last)

    def iter_points(self, chunk: int = 1 << 18) -> Iterator[Points]:
        """Every stored point in step order, `chunk` at a time: the blocks before `raw_from`,
        then each kept step."""
        b = self.block
        for first in range(0, self.raw_from // b, chunk):
            rec = self._l1(first, min(first + chunk, self.raw_from // b))
            keep = rec["count"] > 0
            rec = rec[keep]
            steps = (np.flatnonzero(keep) + first + 1) * b
            count = rec["count"].astype(np.int64)
            yield Points(steps, rec["sum"] / count, count, rec["min"], rec["max"])
        for first in range(self.raw_from, self.steps, chunk):
            losses = self.losses(first, min(first + chunk, self.steps))
            keep = np.isfinite(losses)
            losses = losses[keep]
            steps = np.flatnonzero(keep) + first + 1
            yield Points(steps, losses, np.ones(len(losses), np.int64), losses, losses)

    # --- events and marks ------------------------------------------------------------------------

    def events(self, kinds: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Events in order (only `kinds`, if given), read in pieces: lines of other kinds are
        not even parsed. A torn last line is skipped."""
        return list(iter_events(self.store / EVENTS_FILE, kinds))

    def knobs(self) -> list[dict[str, Any]]:
        """The live knob changes: `{"step", "knob", "value"}`, in order (as `read_knobs`)."""
        return [
            {"step": row["step"], "knob": row["knob"], "value": row["value"]}
            for row in self.events(("knob",))
            if isinstance(row.get("knob"), str) and isinstance(row.get("value"), int | float)
        ]

    def last_mark(self) -> Mark | None:
        return last_mark(self.store)


# --- several runs: a sweep's mean curve ----------------------------------------------------------


def mean_chart(readers: Sequence[MetricsReader], bins: int) -> tuple[ChartBins, int]:
    """The mean over runs of each bin's loss and smoothed line, on common bins (steps a run
    did not reach count for the others only; min, max and last are of all runs together), and
    how many runs have any step."""
    live = [r for r in readers if r.steps]
    if not live:
        return bins_of(np.zeros(0), np.zeros(0, RECORD)), 0
    edges = chart_edges(
        max(r.steps for r in live), bins, max(r.raw_from for r in live), max(r.block for r in live)
    )
    per_run = np.stack([r.records(edges) for r in live])  # (runs, bins)
    records = reduce_records(per_run.T)
    keep = records["count"] > 0
    return bins_of(edges[1:][keep], records[keep]), len(live)
