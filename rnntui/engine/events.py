"""What the trainer tells the outside world: immutable snapshots of plain Python values.

The trainer runs in a worker thread (or a child process of the app); listeners receive these
through a callback and never touch the trainer's TensorFlow state (a shared mutable object read
by the UI is a crash waiting to happen). `encode`/`decode` carry them over a pipe as JSON lines.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from rnntui.tasks.base import Baseline


@dataclass(frozen=True)
class Started:
    """TensorFlow is loaded and the model is built; steps are about to run."""

    device: str
    total_steps: int
    steps_per_epoch: int
    baselines: tuple[Baseline, ...] = ()
    start_step: int = 0


@dataclass(frozen=True)
class Progress:
    """A chunk of training steps finished. `losses` holds the loss of every step in it."""

    step: int  # steps done so far (after this chunk)
    epoch: int  # 0-based epoch the chunk belongs to
    total_steps: int
    losses: tuple[float, ...]
    steps_per_s: float
    eta_s: float
    wall_s: float
    memory_mb: float = 0.0  # the device's memory in use (GPU), else the process's RSS

    @property
    def loss(self) -> float:
        return sum(self.losses) / len(self.losses) if self.losses else float("nan")

    @property
    def first_step(self) -> int:
        return self.step - len(self.losses)


@dataclass(frozen=True)
class EpochEnd:
    """An epoch finished; `metrics` holds what was measured at its end: always `tail_loss`, and
    the task's metrics (e.g. test_error_pct) only in epochs that evaluated them."""

    epoch: int
    step: int
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Paused:
    step: int


@dataclass(frozen=True)
class Resumed:
    step: int


@dataclass(frozen=True)
class Finished:
    """Training ended normally or was stopped; `summary` is the JSON-able run summary.

    `lstm_weights` is a snapshot of the first LSTM layer's trained (kernel, recurrent_kernel,
    bias), for the inspector; None when the model has no LSTM layer."""

    stopped: bool
    summary: dict = field(default_factory=dict)
    lstm_weights: tuple | None = None


@dataclass(frozen=True)
class Failed:
    """Training crashed; `message` is one line a user can act on."""

    message: str
    step: int = 0


@dataclass(frozen=True)
class KnobChanged:
    """A live knob (`Trainer.set_knob`) took effect: steps after `step` train with `value`."""

    step: int
    name: str  # "learning_rate" or "clip_norm"
    value: float


@dataclass(frozen=True)
class LagEffect:
    """How much the model's P(Y_t = 1) moves when X[t-lag] is 1 rather than 0, and the truth."""

    lag: int
    effect: float
    true: float


@dataclass(frozen=True)
class GradientReach:
    """Mean |d loss_t / d x_{t-lag}| with the run's truncation and with full backpropagation."""

    lag: int
    truncated: float
    full: float


@dataclass(frozen=True)
class ProbeResult:
    """What the network has learned at `step` (see `engine/probes.py`); `cost_s` is the probe's
    own time, which the trainer keeps to a small share of training."""

    step: int
    lags: tuple[LagEffect, ...]
    gradient_reach: tuple[GradientReach, ...] = ()
    num_steps: int = 0  # the run's truncation window, where the truncated reach ends
    cost_s: float = 0.0
    # what `LagEffect.true` holds and what an effect measures, when not the echo task's truth
    # and P(Y_t = 1) (a series: its linear autoregression's coefficients, and the forecast)
    reference: str = ""
    measures: str = ""


@dataclass(frozen=True)
class Alerted:
    """The run stopped improving (`kind` "plateau", engine/alerts.py), or, once a run, an alert
    could not be sent ("undelivered"; `message` says why). Finished, stopped, NaN and crashed
    runs send their alerts too, but the app hears those as the Finished or Failed event."""

    kind: str
    title: str
    message: str
    step: int = 0


Event = (
    Started
    | Progress
    | EpochEnd
    | Paused
    | Resumed
    | Finished
    | Failed
    | KnobChanged
    | ProbeResult
    | Alerted
)


EVENT_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Started,
        Progress,
        EpochEnd,
        Paused,
        Resumed,
        Finished,
        Failed,
        KnobChanged,
        ProbeResult,
        Alerted,
    )
}


def encode(event: Event) -> str:
    """One JSON line for `event` (numbers that JSON cannot hold become null)."""
    data = asdict(event)
    if isinstance(event, Finished) and event.lstm_weights is not None:
        data["lstm_weights"] = [w.tolist() for w in event.lstm_weights]
    return json.dumps({"type": type(event).__name__, **_finite(data)})


def decode(line: str) -> Event:
    """The event `encode` wrote; ValueError for anything else."""
    data = json.loads(line)
    if not isinstance(data, dict) or data.get("type") not in EVENT_TYPES:
        raise ValueError(f"not an event: {line[:80]!r}")
    cls = EVENT_TYPES[data.pop("type")]
    if cls is Started:
        data["baselines"] = tuple(Baseline(**b) for b in data.get("baselines", ()))
    elif cls is Progress:
        data["losses"] = tuple(math.nan if v is None else v for v in data["losses"])
        data["eta_s"] = math.inf if data.get("eta_s") is None else data["eta_s"]
    elif cls is Finished and data.get("lstm_weights") is not None:
        import numpy as np

        data["lstm_weights"] = tuple(np.asarray(w, np.float32) for w in data["lstm_weights"])
    elif cls is ProbeResult:
        data["lags"] = tuple(LagEffect(**_numbers(e)) for e in data.get("lags", ()))
        reach = data.get("gradient_reach", ())
        data["gradient_reach"] = tuple(GradientReach(**_numbers(g)) for g in reach)
    return cls(**data)


def _numbers(fields: dict[str, Any]) -> dict[str, Any]:
    """`_finite` in reverse: a null that stood for a float that JSON cannot hold is nan."""
    return {k: math.nan if v is None else v for k, v in fields.items()}


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
