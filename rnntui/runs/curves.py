"""Curve maths shared by the chart, the past-run loader and the CLI's progress line.

Pure Python and NumPy (imported lazily): no Textual, so the headless CLI uses the same smoothing
the app draws.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

EMA_ALPHA = 0.02  # ~50-step window
MOVING_WINDOW = 50  # steps in the chart's moving average (the EMA's span, for a fair switch)
COMPARISON_POINTS = 1000  # a kept curve is downsampled to at most this many points


class Ema:
    """An exponential moving average debiased like TensorBoard's, so the start is not pulled
    toward 0: after one value it equals that value."""

    def __init__(self, alpha: float = EMA_ALPHA) -> None:
        self.alpha = alpha
        self._ema = 0.0
        self._weight = 0.0

    def add(self, value: float) -> float:
        self._ema = (1 - self.alpha) * self._ema + self.alpha * value
        self._weight = (1 - self.alpha) * self._weight + self.alpha
        return self._ema / self._weight

    @property
    def value(self) -> float | None:
        return self._ema / self._weight if self._weight else None


def smooth(losses: Iterable[float], alpha: float = EMA_ALPHA) -> list[float]:
    """The smoothed line of a whole series (what `Ema` gives value by value)."""
    ema = Ema(alpha)
    return [ema.add(loss) for loss in losses]


def moving_average(values: np.ndarray, window: int = MOVING_WINDOW) -> np.ndarray:
    """Trailing mean of the last `window` values at each step (of fewer at the start)."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    sums = np.cumsum(np.concatenate(([0.0], values)))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


@dataclass(frozen=True)
class Smoothing:
    """How the chart smooths the live curve: "ema" (weight `alpha`), "mean" over `window`
    steps, or "raw" (no smoothed line; the raw points drawn brighter)."""

    kind: str
    alpha: float = EMA_ALPHA
    window: int = MOVING_WINDOW

    @property
    def label(self) -> str:
        if self.kind == "ema":
            return f"EMA α={self.alpha:g} (~{round(1 / self.alpha)} steps)"
        if self.kind == "mean":
            return f"moving average of {self.window} steps"
        return "raw points"


SMOOTHINGS = (Smoothing("ema"), Smoothing("mean"), Smoothing("raw"))  # the order a key cycles


def smoothed_line(
    losses: np.ndarray, smoothing: Smoothing, ema: Iterable[float] = ()
) -> np.ndarray | None:
    """The smoothed line of `losses` (None for raw); `ema`, if given, is the series' EMA
    already computed value by value (the chart keeps it as points arrive)."""
    import numpy as np

    if smoothing.kind == "raw":
        return None
    if smoothing.kind == "mean":
        return moving_average(losses, smoothing.window)
    ema = _floats(ema)
    return ema if len(ema) == len(losses) else np.asarray(smooth(losses, smoothing.alpha))


def downsample(values: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, mean of each bin) with at most `bins` bins; x is the 1-based step at the bin's end."""
    import numpy as np  # here, not at import time: the first frame should not wait for NumPy

    n = len(values)
    if n <= bins:
        return np.arange(1, n + 1, dtype=float), values.astype(float)
    edges = np.linspace(0, n, bins + 1).astype(int)
    sums = np.add.reduceat(values.astype(float), edges[:-1])
    counts = np.diff(edges)
    keep = counts > 0
    return edges[1:][keep].astype(float), sums[keep] / counts[keep]


@dataclass(frozen=True)
class FinishedCurve:
    """A finished run kept for comparison: its smoothed loss, downsampled, and its knob
    changes as (step, label) marks ("lr 0.02")."""

    label: str
    steps: tuple[float, ...]
    losses: tuple[float, ...]
    marks: tuple[tuple[int, str], ...] = ()
    task: str = ""  # the task kind it was trained on ("" when unknown): losses of other tasks
    # are on other scales, so a chart shows the curves of one task at a time


def comparison_curve(
    label: str,
    smoothed: Iterable[float],
    marks: Iterable[tuple[int, str]] = (),
    task: str = "",
) -> FinishedCurve:
    """A comparison curve from a smoothed series (kept as at most 1,000 points)."""
    x, y = downsample(_floats(smoothed), COMPARISON_POINTS)
    steps, losses = tuple(float(v) for v in x), tuple(float(v) for v in y)
    return FinishedCurve(label, steps, losses, tuple(marks), task)


def _floats(values: Iterable[float]) -> np.ndarray:
    """`values` as a float array; a sequence (the chart's arrays of up to 2^20 steps) is not
    copied into a list first."""
    import numpy as np

    return np.asarray(values if isinstance(values, Sequence | np.ndarray) else list(values), float)


KNOB_NAMES = {"learning_rate": "lr", "clip_norm": "clip"}


def knob_mark(step: int, name: str, value: float) -> tuple[int, str]:
    """A knob change as a chart mark: (step, "lr 0.02")."""
    return (int(step), f"{KNOB_NAMES.get(name, name)} {value:g}")
