"""Messages the background work sends to the app.

Workers run in threads; they never touch widgets. They hand plain, immutable values to the app
with `post_message` (thread-safe), and the app routes them to the panes.

Every training message carries the `run` number it belongs to, so a late message from a stopped
run cannot leak into the next one.

None of the training messages define `can_replace`, but `ProbeUpdated`: a `TrainingProgress`
carries the losses of every step since the previous one, which the chart needs, so a burst of them
must not collapse into the latest. The trainer already batches (at most one event per 50 ms) and
the chart redraws on a timer (~4/s), so the queue stays short without dropping data. A probe
result is a snapshot: only the latest matters.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from rnntui.curves import FinishedCurve
from rnntui.engine.events import (
    EpochEnd,
    Event,
    Failed,
    Finished,
    KnobChanged,
    Paused,
    ProbeResult,
    Progress,
    Resumed,
    Started,
)


@dataclass
class TensorFlowReady(Message):
    """TensorFlow finished importing in the background; `device` is "CPU" or the GPU's name."""

    device: str


@dataclass
class TensorFlowFailed(Message):
    """TensorFlow could not be imported; training and the inspector cannot work."""

    error: str


@dataclass
class TrainingStarted(Message):
    """The model is built and steps are about to run."""

    run: int
    event: Started


@dataclass
class TrainingProgress(Message):
    """A batch of steps finished; `event.losses` holds every step's loss since the last one."""

    run: int
    event: Progress


@dataclass
class EpochFinished(Message):
    """An epoch ended, with its evaluation metrics."""

    run: int
    event: EpochEnd


@dataclass
class TrainingPaused(Message):
    """The training loop noticed the pause request and is waiting."""

    run: int
    step: int


@dataclass
class TrainingResumed(Message):
    """The training loop continues after a pause."""

    run: int
    step: int


@dataclass
class TrainingFinished(Message):
    """Training ended normally or because it was stopped."""

    run: int
    event: Finished


@dataclass
class TrainingFailed(Message):
    """Training raised; `event.message` is one line a user can act on."""

    run: int
    event: Failed


@dataclass
class KnobApplied(Message):
    """A live knob change (learning rate, clip norm) took effect at `event.step`."""

    run: int
    event: KnobChanged


@dataclass
class ProbeUpdated(Message):
    """What the network has learned now (lag effects, gradient reach)."""

    run: int
    event: ProbeResult

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ProbeUpdated) and message.run == self.run


def message_for(run: int, event: Event) -> Message | None:
    """The message that carries a trainer event to the app (None for unknown events)."""
    match event:
        case Started():
            return TrainingStarted(run, event)
        case Progress():
            return TrainingProgress(run, event)
        case EpochEnd():
            return EpochFinished(run, event)
        case Paused():
            return TrainingPaused(run, event.step)
        case Resumed():
            return TrainingResumed(run, event.step)
        case Finished():
            return TrainingFinished(run, event)
        case Failed():
            return TrainingFailed(run, event)
        case KnobChanged():
            return KnobApplied(run, event)
        case ProbeResult():
            return ProbeUpdated(run, event)
    return None


@dataclass
class PastRunLoaded(Message):
    """A past run's metrics were read from its folder; `curve` is None when that failed."""

    name: str
    curve: FinishedCurve | None
    steps: int = 0
    error: str = ""


@dataclass
class CurvesExported(Message):
    """The chart's curves were written to `path` as CSV (or `error` says why not)."""

    path: str
    curves: int = 0
    rows: int = 0
    error: str = ""
