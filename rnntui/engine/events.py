"""What the trainer tells the outside world: immutable snapshots of plain Python values.

The trainer runs in a worker thread; the TUI and the CLI receive these through a callback and
never touch the trainer's TensorFlow state (a shared mutable object read by the UI is a crash
waiting to happen).
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


Event = (
    Started | Progress | EpochEnd | Paused | Resumed | Finished | Failed | KnobChanged | ProbeResult
)
