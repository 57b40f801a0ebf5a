"""The live run's loss per step as the chart keeps it: bounded in memory however long the run.

The latest `cap` steps (2^20 by default) are kept exactly, loss and smoothed line (EMA) as
float64 arrays: 16 bytes a step instead of two Python floats in lists (~40 bytes), and the exact
values the chart always drew, titled and exported. When a run goes past the cap, its oldest steps
are folded into blocks of `block` steps (512) that keep what a chart needs of them: the number of
finite losses, their mean, min and max, and the mean of the smoothed line, 20 bytes a block (a
day at 4,000 steps/s is ~675 K blocks, ~13 MB). Blocks start at a multiple of `block` steps, so
a block's steps are known from its index.

Drawing (`CurveView.drawn`): while nothing is folded, exactly `curves.downsample` of the losses
and of the smoothed line, as the chart always drew. Past the cap, per bin (the metrics store's
`chart_edges`: bins over the folded steps snapped to block edges): the mean, min and max of
the finite losses and the mean of the smoothed line, so that a spike stays visible however many
steps a column covers. Non-finite losses are left out of a block's figures (as the store does).

`LiveCurve.view()` is O(1) and safe to read on a drawing thread while points keep arriving: the
arrays are only ever written past the end a view covers; growing and compacting copy into new
arrays instead of moving data in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from rnntui.runs.curves import (
    COMPARISON_POINTS,
    MOVING_WINDOW,
    SMOOTHINGS,
    Ema,
    FinishedCurve,
    Smoothing,
    comparison_curve,
    downsample,
    moving_average,
    smoothed_line,
)

if TYPE_CHECKING:
    import numpy as np

EXACT_CAP = 1 << 20  # steps kept exactly (16 MiB of float64 loss + smoothed line)
BLOCK = 512  # steps folded into one block record past the cap (the metrics store's block too)
FIRST_CAPACITY = 1 << 12  # a short run never allocates the full cap
LEAD = MOVING_WINDOW  # losses kept from before the exact ones, for the moving average's window
BLOCK_FIELDS = [  # 20 bytes
    ("count", "<i4"),  # finite losses in the block
    ("mean", "<f4"),
    ("min", "<f4"),
    ("max", "<f4"),
    ("smoothed", "<f4"),  # the mean of the smoothed line over the block
]


class DrawnLine(NamedTuple):
    """A curve as the chart draws it: raw and smoothed points, downsampled (Nones when absent);
    past the cap also each bin's min and max loss (`low`, `high`), else None."""

    raw_x: Any
    raw_y: Any
    smooth_x: Any
    smooth_y: Any
    low: Any = None
    high: Any = None


@dataclass(frozen=True)
class CurveView:
    """A live curve as it was when viewed: its blocks, then its exact steps (read-only views)."""

    block: int
    blocks: np.ndarray  # records of BLOCK_FIELDS, the oldest first
    raw: np.ndarray  # the exact losses of the latest steps
    smoothed: np.ndarray  # their smoothed line (EMA), step by step
    lead: np.ndarray  # the last losses folded (up to LEAD), for the moving average

    @property
    def folded(self) -> int:
        """Steps folded into blocks (before the exact ones)."""
        return len(self.blocks) * self.block

    @property
    def steps(self) -> int:
        return self.folded + len(self.raw)

    @property
    def last_smoothed(self) -> float | None:
        return float(self.smoothed[-1]) if len(self.smoothed) else None

    def drawn(self, bins: int, smoothing: Smoothing) -> DrawnLine:
        """The curve downsampled to at most `bins` points, raw and smoothed by `smoothing`."""
        if not self.steps:
            return DrawnLine(None, None, None, None)
        if not len(self.blocks):  # all exact: what the chart always drew
            raw_x, raw_y = downsample(self.raw, bins)
            line = smoothed_line(self.raw, smoothing, self.smoothed)
            if line is None:
                return DrawnLine(raw_x, raw_y, None, None)
            return DrawnLine(raw_x, raw_y, *downsample(line, bins))
        return self._binned(bins, smoothing)

    def _binned(self, bins: int, smoothing: Smoothing) -> DrawnLine:
        """Per bin the mean, min and max loss and the mean smoothed line, from the blocks and
        the exact steps inside it (a bin may hold both: the one where the exact steps begin)."""
        import numpy as np

        from rnntui.runs.store.binning import chart_edges

        folded, block = self.folded, self.block
        edges = chart_edges(self.steps, bins, folded, block)  # the metrics store's own bins
        in_blocks = np.minimum(edges, folded) // block  # each bin's blocks ...
        in_raw = np.maximum(edges - folded, 0)  # ... and exact steps, as [lo, hi) ranges

        counts = self.blocks["count"].astype(np.int64)
        means = np.where(counts > 0, self.blocks["mean"], 0.0)
        finite = np.isfinite(self.raw)
        kept = np.where(finite, self.raw, np.nan)  # fmin/fmax pass over NaN: inf is left out too
        count = _sums(counts, in_blocks) + _sums(finite, in_raw)
        total = _sums(means * counts, in_blocks) + _sums(np.where(finite, self.raw, 0.0), in_raw)
        low = np.fmin(
            _reduced(np.fmin, self.blocks["min"], in_blocks), _reduced(np.fmin, kept, in_raw)
        )
        high = np.fmax(
            _reduced(np.fmax, self.blocks["max"], in_blocks), _reduced(np.fmax, kept, in_raw)
        )
        x = edges[1:].astype(float)
        mean = _ratio(total, count)
        if smoothing.kind == "raw":
            return DrawnLine(x, mean, None, None, low, high)
        if smoothing.kind == "ema":
            per_block = self.blocks["smoothed"].astype(float)
            weights = np.where(np.isfinite(per_block), block, 0)
            tail = self.smoothed
        else:  # the mean of a moving average over a block is, to its window's edges, the mean
            per_block, weights = means, counts
            window = np.concatenate((self.lead, self.raw))
            tail = moving_average(window, smoothing.window)[len(self.lead) :]
        per_block = np.where(weights > 0, per_block, 0.0)
        tail_ok = np.isfinite(tail)
        line = _ratio(
            _sums(per_block * weights, in_blocks) + _sums(np.where(tail_ok, tail, 0.0), in_raw),
            _sums(weights, in_blocks) + _sums(tail_ok, in_raw),
        )
        return DrawnLine(x, mean, x, line, low, high)

    def rows(self) -> tuple[list[float], list[float], list[float]]:
        """(steps, losses, smoothed) one row per block (its mean, at its last step), then one
        per exact step."""
        import numpy as np

        block_steps = np.arange(1, len(self.blocks) + 1, dtype=float) * self.block
        exact_steps = np.arange(self.folded + 1, self.steps + 1, dtype=float)
        return (
            block_steps.tolist() + exact_steps.tolist(),
            self.blocks["mean"].astype(float).tolist() + self.raw.tolist(),
            self.blocks["smoothed"].astype(float).tolist() + self.smoothed.tolist(),
        )

    def comparison(
        self, label: str, marks: Iterable[tuple[int, str]] = (), task: str = ""
    ) -> FinishedCurve:
        """The curve kept as a faded comparison: `curves.comparison_curve` of the smoothed line
        (at most 1,000 points); past the cap, the mean smoothed line of as many bins."""
        if not len(self.blocks):
            return comparison_curve(label, self.smoothed, marks, task)
        line = self._binned(COMPARISON_POINTS, SMOOTHINGS[0])
        steps, losses = tuple(line.smooth_x.tolist()), tuple(line.smooth_y.tolist())
        return FinishedCurve(label, steps, losses, tuple(marks), task)


class LiveCurve:
    """The live curve being fed: the latest `cap` steps exactly, older ones in blocks of
    `block` steps (`cap` a multiple of `block`). Read it through `view()`."""

    def __init__(self, cap: int = EXACT_CAP, block: int = BLOCK) -> None:
        if block < 1 or cap < block or cap % block:
            raise ValueError(f"the cap ({cap}) must be a positive multiple of the block ({block})")
        self.cap, self.block = cap, block
        self._slack = max(block, cap // 8)  # room past the cap: compacting every cap/8 steps
        self._ema = Ema()
        self._raw: np.ndarray | None = None  # made at the first point: NumPy loads lazily
        self._smoothed: np.ndarray | None = None
        self._start = self._end = 0  # the exact steps are _raw[_start:_end]
        self._blocks: np.ndarray | None = None
        self._n_blocks = 0
        self._lead: np.ndarray | None = None

    @property
    def steps(self) -> int:
        return self._n_blocks * self.block + self._end - self._start

    @property
    def exact_steps(self) -> int:
        """How many of the latest steps are kept exactly (at most `cap`)."""
        return self._end - self._start

    @property
    def block_count(self) -> int:
        return self._n_blocks

    @property
    def last_smoothed(self) -> float | None:
        return self._ema.value if self.steps else None

    def add(self, losses: Sequence[float]) -> None:
        """Append the losses of the next steps (and their smoothed line, value by value)."""
        smoothed = [self._ema.add(loss) for loss in losses]
        done = 0
        while done < len(losses):
            raw, line = self._reserve()
            take = min(len(raw) - self._end, len(losses) - done)
            raw[self._end : self._end + take] = losses[done : done + take]
            line[self._end : self._end + take] = smoothed[done : done + take]
            self._end += take
            done += take
            self._fold_over_cap()

    def view(self) -> CurveView:
        import numpy as np

        if self._raw is None or self._smoothed is None:
            empty = np.zeros(0)
            return CurveView(self.block, np.zeros(0, BLOCK_FIELDS), empty, empty, empty)
        blocks = self._blocks[: self._n_blocks] if self._blocks is not None else None
        return CurveView(
            self.block,
            blocks if blocks is not None else np.zeros(0, BLOCK_FIELDS),
            self._raw[self._start : self._end],
            self._smoothed[self._start : self._end],
            self._lead if self._lead is not None else np.zeros(0),
        )

    def drawn(self, bins: int, smoothing: Smoothing) -> DrawnLine:
        return self.view().drawn(bins, smoothing)

    def _reserve(self) -> tuple[np.ndarray, np.ndarray]:
        """The exact buffers with room past `_end`: grown (doubling) up to cap + slack, then
        compacted; both copy into new arrays, so that views already given stay as they were."""
        import numpy as np

        size = 0 if self._raw is None else len(self._raw)
        if self._raw is None or self._smoothed is None or self._end == size:
            held = self._end - self._start
            new = min(self.cap + self._slack, max(FIRST_CAPACITY, 2 * size))
            raw, line = np.empty(new), np.empty(new)
            if self._raw is not None and self._smoothed is not None:
                raw[:held] = self._raw[self._start : self._end]
                line[:held] = self._smoothed[self._start : self._end]
            self._raw, self._smoothed = raw, line
            self._start, self._end = 0, held
        return self._raw, self._smoothed

    def _fold_over_cap(self) -> None:
        """Fold the oldest exact steps into blocks, whole blocks, until at most `cap` remain."""
        import numpy as np

        assert self._raw is not None and self._smoothed is not None
        over = self._end - self._start - self.cap
        if over <= 0:
            return
        n = -(-over // self.block)
        end = self._start + n * self.block
        raw = self._raw[self._start : end]
        self._append_blocks(
            block_records(raw.reshape(n, -1), self._smoothed[self._start : end].reshape(n, -1))
        )
        lead = raw if self._lead is None else np.concatenate((self._lead, raw))
        self._lead = lead[-LEAD:].copy()
        self._start = end

    def _append_blocks(self, records: np.ndarray) -> None:
        import numpy as np

        size = 0 if self._blocks is None else len(self._blocks)
        if self._blocks is None or self._n_blocks + len(records) > size:
            grown = np.zeros(max(1024, 2 * size, self._n_blocks + len(records)), BLOCK_FIELDS)
            if self._blocks is not None:
                grown[: self._n_blocks] = self._blocks[: self._n_blocks]
            self._blocks = grown
        self._blocks[self._n_blocks : self._n_blocks + len(records)] = records
        self._n_blocks += len(records)


def block_records(raw: np.ndarray, smoothed: np.ndarray) -> np.ndarray:
    """One record of BLOCK_FIELDS per row of `raw` (a block's losses) and `smoothed` (their
    smoothed line); non-finite values are left out (an all-NaN block: count 0, NaN figures)."""
    import numpy as np

    finite = np.isfinite(raw)
    count = finite.sum(axis=1)
    smooth_ok = np.isfinite(smoothed)
    out = np.zeros(len(raw), BLOCK_FIELDS)
    out["count"] = count
    with np.errstate(invalid="ignore", divide="ignore"):
        out["mean"] = np.where(finite, raw, 0.0).sum(axis=1) / count
        out["smoothed"] = np.where(smooth_ok, smoothed, 0.0).sum(axis=1) / smooth_ok.sum(axis=1)
    out["min"] = np.where(count > 0, np.where(finite, raw, np.inf).min(axis=1), np.nan)
    out["max"] = np.where(count > 0, np.where(finite, raw, -np.inf).max(axis=1), np.nan)
    return out


def _sums(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Sums of `values` over the ranges [edges[i], edges[i + 1]) (0 for an empty one)."""
    import numpy as np

    return _reduced(np.add, values, edges, 0.0)


def _reduced(ufunc: Any, values: np.ndarray, edges: np.ndarray, empty: float = float("nan")):
    """`ufunc` reduced over each range [edges[i], edges[i + 1]) of `values`, `empty` for an
    empty range. The ranges cover `values` in order, so the non-empty ones are contiguous."""
    import numpy as np

    out = np.full(len(edges) - 1, empty)
    starts, ends = edges[:-1], edges[1:]
    some = ends > starts
    if some.any():
        out[some] = ufunc.reduceat(np.asarray(values, dtype=float), starts[some])
    return out


def _ratio(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """total / count, NaN where count is 0."""
    import numpy as np

    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)
