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

from rnntui.engine.events import (
    Alerted,
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
from rnntui.runs.curves import FinishedCurve


@dataclass
class TensorFlowLoaded(Message):
    """The helper process imported TensorFlow: `device` is "CPU" or the GPU's name; or it could
    not (`error`, one line), and the inspector, Generate and probes of finished runs cannot work."""

    device: str
    error: str = ""


@dataclass
class RunMessage(Message):
    """A run's event, tagged with the number of the run it belongs to (see `tui/run_desk.py`)."""

    run: int
    event: Event


class TrainingStarted(RunMessage):
    """The model is built and steps are about to run (`event`: Started)."""


class TrainingProgress(RunMessage):
    """A batch of steps finished; `event.losses` holds every step's loss since the last one."""


class EpochFinished(RunMessage):
    """An epoch ended, with its evaluation metrics (`event`: EpochEnd)."""


class TrainingPaused(RunMessage):
    """The training loop noticed the pause request and is waiting (`event`: Paused)."""


class TrainingResumed(RunMessage):
    """The training loop continues after a pause (`event`: Resumed)."""


class TrainingFinished(RunMessage):
    """Training ended normally or because it was stopped (`event`: Finished)."""


class TrainingFailed(RunMessage):
    """Training raised; `event.message` is one line a user can act on."""


class KnobApplied(RunMessage):
    """A live knob change (learning rate, clip norm) took effect at `event.step`."""


class ProbeUpdated(RunMessage):
    """What the network has learned now (lag effects, gradient reach; `event`: ProbeResult)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ProbeUpdated) and message.run == self.run


class RunAlerted(RunMessage):
    """The run stopped improving, or could not send an alert (`event`: Alerted, once a run)."""


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
            return TrainingPaused(run, event)
        case Resumed():
            return TrainingResumed(run, event)
        case Finished():
            return TrainingFinished(run, event)
        case Failed():
            return TrainingFailed(run, event)
        case KnobChanged():
            return KnobApplied(run, event)
        case ProbeResult():
            return ProbeUpdated(run, event)
        case Alerted():
            return RunAlerted(run, event)
    return None


@dataclass
class PastRunLoaded(Message):
    """A past run's metrics were read from its folder; `curve` is None when that failed."""

    name: str
    curve: FinishedCurve | None
    steps: int = 0
    error: str = ""
    path: str = ""  # the run folder


@dataclass
class CurvesExported(Message):
    """The chart's curves were written to `path` as CSV (or `error` says why not)."""

    path: str
    curves: int = 0
    rows: int = 0
    error: str = ""
