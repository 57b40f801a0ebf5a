"""The exact per-block aggregates a chart reads: a record (count, sum, min, max, last, and
the sum and end value of the smoothed line) per block of steps, how to compute them from the
losses, and how to merge consecutive ones.

The smoothed line is the chart's EMA (`runs.curves.Ema`, debiased like TensorBoard's), kept as
float64 in each record (its state at the block's end): a chart's bins then match
`downsample(smooth(losses))` to ~1e-15, measured against the brute force in the tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rnntui.runs.store.format import RECORD

EMA_PIECE = 256  # the EMA is computed in pieces of this many values (see `ema_values`)


def ema_values(x: np.ndarray, e0: float, k0: int, alpha: float) -> tuple[np.ndarray, float]:
    """The smoothed line (`curves.Ema`: debiased like TensorBoard's) after each of the finite
    values `x`, continuing from the undebiased state `e0` after `k0` values; and the new state.

    Vectorized: within pieces of EMA_PIECE values the EMA is a scaled cumulative sum; the pieces'
    starting states follow a recursion whose factor ((1 - alpha)^256 = 0.006 for the chart's
    0.02) vanishes below 1e-30 in a few terms, summed as shifted arrays."""
    m = len(x)
    if m == 0:
        return np.empty(0), e0
    r = 1.0 - alpha
    p = EMA_PIECE
    pieces = -(-m // p)
    padded = np.zeros(pieces * p)
    padded[:m] = x
    padded = padded.reshape(pieces, p)
    up = r ** np.arange(1, p + 1)  # r^(i+1)
    local = np.cumsum(padded / up, axis=1) * (up * alpha)  # each piece from a zero state
    big_r = r**p
    starts = e0 * big_r ** np.arange(pieces, dtype=float)
    taps = pieces - 1 if big_r == 0 else min(pieces - 1, math.ceil(-69 / math.log(big_r)) + 1)
    ends = local[:, -1]
    for d in range(taps):  # starts[q] += big_r^d * ends[q - 1 - d]
        starts[d + 1 :] += big_r**d * ends[: pieces - 1 - d]
    e = (local + starts[:, None] * up).ravel()[:m]
    seen = np.arange(k0 + 1, k0 + m + 1, dtype=float)
    return e / -np.expm1(seen * math.log(r)), float(e[-1])


def ema_state(y: float, seen: int, alpha: float) -> float:
    """The undebiased EMA state from the smoothed value `y` after `seen` values (0 for a value
    no loss gives: a damaged record must not overflow what follows)."""
    if seen <= 0 or not math.isfinite(y) or abs(y) > 1e30:
        return 0.0
    return float(y) * -math.expm1(seen * math.log(1.0 - alpha))


def block_records(
    values: np.ndarray, block: int, e0: float, k0: int, alpha: float
) -> tuple[np.ndarray, float, int]:
    """Records of `values` (float32, NaN = no loss; a multiple of `block` long), one per block,
    continuing the EMA from (e0, k0); and the EMA state after them."""
    nb = len(values) // block
    out = np.zeros(nb, RECORD)
    if nb == 0:
        return out, e0, k0
    grid = values[: nb * block].reshape(nb, block)
    finite = np.isfinite(grid)
    counts = finite.sum(axis=1)
    if counts.all() and finite.all():
        flat = grid.astype(np.float64).ravel()
        y, e1 = ema_values(flat, e0, k0, alpha)
        out["sum"] = grid.sum(axis=1, dtype=np.float64)
        out["ema_sum"] = y.reshape(nb, block).sum(axis=1)
        out["min"] = grid.min(axis=1)
        out["max"] = grid.max(axis=1)
        out["last"] = grid[:, -1]
        out["ema"] = y.reshape(nb, block)[:, -1]
        out["count"] = block
        return out, e1, k0 + nb * block
    flat = grid[finite].astype(np.float64)  # row-major: in step order
    y, e1 = ema_values(flat, e0, k0, alpha)
    owner = np.repeat(np.arange(nb), counts)
    out["sum"] = np.bincount(owner, weights=flat, minlength=nb)
    out["ema_sum"] = np.bincount(owner, weights=y, minlength=nb)
    empty = counts == 0
    out["min"] = np.where(empty, np.nan, np.where(finite, grid, np.inf).min(axis=1))
    out["max"] = np.where(empty, np.nan, np.where(finite, grid, -np.inf).max(axis=1))
    last_at = block - 1 - finite[:, ::-1].argmax(axis=1)
    out["last"] = np.where(empty, np.nan, grid[np.arange(nb), last_at])
    y0 = e0 / -math.expm1(k0 * math.log(1 - alpha)) if k0 else np.nan
    out["ema"] = np.concatenate(([y0], y))[np.cumsum(counts)]  # y after each block's last value
    out["count"] = counts
    return out, e1, k0 + len(flat)


def reduce_records(grid: np.ndarray) -> np.ndarray:
    """One record per row of a 2-D array of records (a row: consecutive blocks)."""
    out = np.zeros(grid.shape[0], RECORD)
    if grid.shape[0] == 0:
        return out
    counts = grid["count"]
    out["count"] = counts.sum(axis=1)
    out["sum"] = grid["sum"].sum(axis=1)
    out["ema_sum"] = grid["ema_sum"].sum(axis=1)
    with np.errstate(invalid="ignore"):
        out["min"] = np.fmin.reduce(grid["min"], axis=1)
        out["max"] = np.fmax.reduce(grid["max"], axis=1)
    has = counts > 0
    last_at = grid.shape[1] - 1 - has[:, ::-1].argmax(axis=1)
    rows = np.arange(grid.shape[0])
    out["last"] = np.where(has.any(axis=1), grid["last"][rows, last_at], np.nan)
    out["ema"] = grid["ema"][:, -1]
    return out


def combine(records: Sequence[np.ndarray]) -> np.void:
    """One record for consecutive records (a list of 1-D record arrays, in step order)."""
    parts = [r for r in records if len(r)]
    out = np.zeros(1, RECORD)[0]
    joined = parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else None
    has = np.flatnonzero(joined["count"]) if joined is not None else ()
    if not len(has):
        out["min"] = out["max"] = out["last"] = out["ema"] = np.nan
        return out
    out["count"] = joined["count"].sum(dtype=np.int64)
    out["sum"] = joined["sum"].sum()
    out["ema_sum"] = joined["ema_sum"].sum()
    out["min"] = joined["min"][has].min()
    out["max"] = joined["max"][has].max()
    out["last"] = joined["last"][has[-1]]
    out["ema"] = joined["ema"][has[-1]]
    return out
