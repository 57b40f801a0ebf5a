"""A chart's bins of a run, exact whatever its length: the bin edges (`curves.downsample`'s),
the records of bins read step by step, and the mean curve of several runs (a sweep's seeds).

Bin edges are those of `curves.downsample` (`linspace(0, n, bins + 1)`, truncated), except that
an edge before the first step whose own loss is kept falls back to the start of its block: there
only whole blocks are known, so a bin is exact over the steps it covers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rnntui.runs.store.blocks import ema_values
from rnntui.runs.store.format import RECORD

if TYPE_CHECKING:
    from rnntui.runs.curves import FinishedCurve

VECTOR_STEPS = 1 << 17  # kept steps a chart reads at once, when it reads every one (~10 MB)


@dataclass(frozen=True)
class ChartBins:
    """Per bin of steps: its last step (`x`, 1-based), how many losses it holds, their mean,
    min, max and last, and the mean of the smoothed line over them. Empty bins are left out."""

    x: np.ndarray
    count: np.ndarray
    mean: np.ndarray
    min: np.ndarray
    max: np.ndarray
    last: np.ndarray
    smoothed: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def as_curve(
        self, label: str, marks: Sequence[tuple[int, str]] = (), task: str = ""
    ) -> FinishedCurve:
        """The smoothed line as a comparison curve (what `curves.comparison_curve` keeps)."""
        from rnntui.runs.curves import FinishedCurve

        return FinishedCurve(
            label, tuple(self.x.tolist()), tuple(self.smoothed.tolist()), tuple(marks), task
        )


def bins_of(x: np.ndarray, records: np.ndarray) -> ChartBins:
    """ChartBins from bin ends and their (non-empty) records."""
    count = records["count"].astype(np.int64)
    return ChartBins(
        np.asarray(x, dtype=float),
        count,
        records["sum"] / count,
        records["min"].astype(float),
        records["max"].astype(float),
        records["last"].astype(float),
        records["ema_sum"] / count,
    )


def chart_edges(
    steps: int, bins: int, raw_from: int, block: int, start: int = 0, end: int | None = None
) -> np.ndarray:
    """The bin edges (0-based step offsets) a chart of `bins` points over steps [start, end)
    reads: `curves.downsample`'s, with edges before `raw_from` moved back to a block start."""
    end = steps if end is None else min(end, steps)
    edges = np.linspace(start, end, bins + 1).astype(np.int64)
    early = edges < raw_from
    edges[early] = edges[early] // block * block
    return edges[np.concatenate(([True], np.diff(edges) > 0))]  # increasing, as snapped


def record_of(values: np.ndarray, line: np.ndarray) -> np.ndarray:
    """The record of consecutive steps from their losses and smoothed line (NaN: no loss)."""
    finite = np.isfinite(values)
    mine, smooth = values[finite], line[finite]
    out = np.zeros(1, RECORD)
    out["count"] = len(mine)
    out["sum"] = mine.sum(dtype=np.float64)
    out["ema_sum"] = smooth.sum()
    out["min"] = mine.min() if len(mine) else np.nan
    out["max"] = mine.max() if len(mine) else np.nan
    out["last"] = mine[-1] if len(mine) else np.nan
    out["ema"] = smooth[-1] if len(mine) else np.nan
    return out


def vector_records(
    read: Callable[[int, int], np.ndarray],
    edges: np.ndarray,
    start: int,
    state: float,
    seen: int,
    alpha: float,
) -> np.ndarray:
    """The record of each bin between consecutive `edges`, from the loss of every step from
    `start` (a block start at or before the first edge) on, read by `read(first, last)`
    VECTOR_STEPS at a time; the smoothed line continues from the EMA state `state` after `seen`
    losses and is carried from one piece to the next. Vectorized with `reduceat` over the cuts:
    bins narrower than a block cost no Python per bin."""
    end = int(edges[-1])
    out = np.zeros(len(edges) - 1, RECORD)
    out["min"], out["max"], out["last"], out["ema"] = np.inf, -np.inf, np.nan, np.nan
    for pos in range(start, end, VECTOR_STEPS):
        stop = min(end, pos + VECTOR_STEPS)
        values = read(pos, stop)
        finite = np.isfinite(values)
        line = np.full(len(values), np.nan)
        kept = values[finite].astype(np.float64)
        line[finite], state = ema_values(kept, state, seen, alpha)
        seen += len(kept)
        first = max(0, int(np.searchsorted(edges, pos, side="right")) - 1)
        last = int(np.searchsorted(edges, stop, side="left"))  # bins first..last-1 meet it
        cuts = np.clip(edges[first : last + 1], pos, stop) - pos
        full = np.flatnonzero(cuts[1:] > cuts[:-1])
        if not len(full):
            continue
        starts, rows = cuts[:-1][full], first + full
        count = np.add.reduceat(finite.astype(np.int64), starts)
        out["count"][rows] += count.astype(np.uint32)
        out["sum"][rows] += np.add.reduceat(np.where(finite, values, 0).astype(float), starts)
        out["ema_sum"][rows] += np.add.reduceat(np.where(finite, line, 0.0), starts)
        low = np.minimum.reduceat(np.where(finite, values, np.inf), starts)
        high = np.maximum.reduceat(np.where(finite, values, -np.inf), starts)
        out["min"][rows] = np.minimum(out["min"][rows], low)
        out["max"][rows] = np.maximum(out["max"][rows], high)
        at = np.maximum.reduceat(np.where(finite, np.arange(len(values)), -1), starts)
        has = at >= 0
        out["last"][rows[has]] = values[at[has]]
        out["ema"][rows[has]] = line[at[has]]
    empty = out["count"] == 0
    out["min"][empty] = out["max"][empty] = np.nan
    return out
