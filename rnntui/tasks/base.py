"""What every task offers the engine and the app: data, shapes, baselines, metrics, a preview.

A task is one module in `tasks/` with a class that satisfies `Task` (and is listed in the
registry, `tasks/registry.py`). The engine reads only this interface; it never asks which task it
is training, so adding a task touches no engine code. A task whose output depends on earlier
inputs may also implement `tasks.lags.LagTask` (the true effect per lag), which the lag probe
checks against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from rnntui.config import Config, TaskConfig


@dataclass(frozen=True)
class Baseline:
    """An analytic loss level: what a predictor knowing `label` achieves."""

    label: str
    value: float


@dataclass(frozen=True)
class Metric:
    """A number a task reports besides the training loss (in the summary under `key`)."""

    key: str  # e.g. "test_error_pct"
    label: str  # e.g. "test error"
    spec: str = ".4f"  # format spec of the value
    unit: str = ""  # printed after the value, e.g. " %"

    def format(self, value: float) -> str:
        return f"{self.label} {value:{self.spec}}{self.unit}"


@dataclass(frozen=True)
class Setting:
    """A config key a task uses, as the settings form shows it (keys not listed stay hidden)."""

    key: str
    label: str
    hint: str = ""
    picker: str = ""  # "path": the form offers a file browser beside the field


class Evaluator(Protocol):
    """What a task's evaluation may ask of the model being trained (see `CompiledSteps`)."""

    batch_size: int  # the training windows' shape (train.batch_size, train.num_steps)
    num_steps: int

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class ids for a batch of whole sequences (each from a zero state)."""
        ...

    def outputs(self, x: np.ndarray) -> np.ndarray:
        """The head's raw outputs (logits, or a regression's values) for a batch of whole
        sequences x [n, steps(, features)], each from a zero state."""
        ...

    def mean_loss(self, xs: np.ndarray, ys: np.ndarray) -> float:
        """Mean loss (cross-entropy in nats, or a regression's unweighted squared error) over
        windows xs [W, streams, steps(, features)], ys alike, without training; the state starts
        at zero and carries from window to window as in training (any number of streams)."""
        ...


@dataclass(frozen=True)
class Segment:
    """A stretch of input a network reads from a zero state, with a printable label per step
    (what a hidden-unit view draws its activations under)."""

    inputs: np.ndarray  # as `Codec.encode` returns them: ids [T], or features [T, input_dim]
    labels: tuple[str, ...]  # one short label per step: "a", "0", "↵"


class Codec(Protocol):
    """How a task's inputs are written as text, and the shapes its model is built with.

    Enough to rebuild a run's model and feed it from its run folder alone (no data): generation,
    hidden-unit traces and export use it. A task's `state()` is what its codec is made from.
    """

    ids: bool  # inputs are class ids (one-hot or embedded), else float features
    num_classes: int
    input_dim: int
    many_to_many: bool

    def encode(self, text: str) -> np.ndarray:
        """Inputs as fed to the network; ValueError (one line) naming characters it cannot read."""
        ...

    def decode(self, ids: Any) -> str:
        """Class ids (outputs) as text."""
        ...

    def labels(self, inputs: np.ndarray) -> tuple[str, ...]:
        """A short printable label for each step of `inputs` (newlines and tabs made visible)."""
        ...


@runtime_checkable
class Task(Protocol):
    """The data a network trains on, and how to judge what it learned."""

    kind: ClassVar[str]  # the `task.kind` value that selects it
    title: ClassVar[str]  # one line for the settings form
    settings: ClassVar[tuple[Setting, ...]]  # the task.* and train.* keys this task uses
    metrics: ClassVar[tuple[Metric, ...]]  # what `evaluate` reports
    headline: ClassVar[str]  # the summary key that ranks runs: "final_loss" or a metric's key
    truncated: ClassVar[bool]  # windows of train.num_steps over long streams (else whole items)
    fresh_data: ClassVar[bool]  # windows() makes new data every epoch (made ahead, engine/ahead)

    num_classes: int
    input_dim: int
    one_hot: bool  # inputs are class ids to one-hot encode (else float features)
    many_to_many: bool  # a prediction at every step, and the state carries across windows
    sum_loss: bool  # minimise the summed cross-entropy of a window (else its mean)
    # the output at step t predicts the input at t+1, so samples can be fed back (generation)
    autoregressive: ClassVar[bool]
    # task.* keys naming files the task reads: stored absolute in a run folder, and its
    # check_config reads them (a trained run's config is checked without: check_consistency)
    path_keys: ClassVar[tuple[str, ...]]
    # What the network minimises: "cross_entropy" (y holds class ids, the outputs are logits) or
    # "mse" (y holds floats, one output per column: a regression). With "mse", `loss_weights`
    # gives each output column's factor for the loss as reported (the square of the target's
    # scale, so the loss, the chart and the summary are in the target's units); () for none.
    loss: ClassVar[str]
    loss_weights: tuple[float, ...]

    @classmethod
    def from_config(cls, task: TaskConfig, seed: int, state: dict | None = None) -> Task:
        """Build the task a config describes; `seed` (train.seed) fixes its data. `state` is a
        checkpoint's `state()`: a resumed run encodes its data as the run did (e.g. the same
        vocabulary, even if the text has changed since)."""
        ...

    def state(self) -> dict[str, Any]:
        """JSON-able facts the data was encoded with (e.g. a vocabulary), saved in every
        checkpoint; {} for tasks whose config says it all."""
        ...

    @classmethod
    def codec_from_state(cls, task: TaskConfig, state: dict[str, Any]) -> Codec:
        """The codec of a run, from its config and checkpointed `state()` (no data is read)."""
        ...

    def codec(self) -> Codec:
        """This task's codec (as `codec_from_state` would rebuild it)."""
        ...

    def excerpt(self) -> tuple[Segment, ...]:
        """A short stretch of the data to draw hidden units over (each segment from zero state)."""
        ...

    @classmethod
    def check_config(cls, config: Config) -> None:
        """Checks that span several fields; raise `ConfigError` naming the key to change."""
        ...

    def windows(self, epoch: int, batch_size: int, num_steps: int) -> tuple[Any, Any]:
        """x, y for one epoch, windows first: x [W, batch, steps(, features)], y [W, batch(...)]."""
        ...

    def steps_per_epoch(self, batch_size: int, num_steps: int) -> int: ...

    def estimate_bytes(self, batch_size: int, num_steps: int) -> int:
        """A safe upper bound of the memory one epoch of data takes."""
        ...

    def baselines(self) -> tuple[Baseline, ...]:
        """Loss levels drawn on the chart (may be empty), in the loss's reported units."""
        ...

    def evaluate(self, model: Evaluator) -> dict[str, float]:
        """The task's metrics for the model as it is now (keys of `metrics`)."""
        ...

    def preview(self) -> Any:
        """A frozen dataclass of plain values for the task's preview widget."""
        ...

    def sample_inputs(self, steps: int) -> list[list[float]]:
        """The first `steps` inputs as the network is fed them (for the inspector)."""
        ...


@runtime_checkable
class ViewTask(Protocol):
    """Optional: a task whose evaluation leaves something to draw (the series task's forecasts
    of the last validation stretch). The trainer saves it beside each checkpoint (the run
    folder's EVALUATION_FILE), where the app's evaluation pane reads it, for a run in the app,
    attached to, or finished. Such a task class also sets, as plain attributes (a protocol with
    data members cannot be checked with issubclass), `evaluation_metric`, the metric whose
    evaluation updates the view, and `evaluation_title`, the pane's title (`view_of`)."""

    def evaluation_view(self) -> dict[str, Any]:
        """The latest evaluation's view data, JSON-able; {} before the first evaluation."""
        ...


class TaskDefaults:
    """What a task is unless it says otherwise: a task class starts from these and sets only what
    differs (see `Task` for what each means)."""

    metrics: ClassVar[tuple[Metric, ...]] = ()
    headline: ClassVar[str] = "final_loss"
    truncated: ClassVar[bool] = True  # windows of train.num_steps over long streams
    fresh_data: ClassVar[bool] = False  # the same data every epoch (views, not new samples)
    one_hot = True
    many_to_many = True
    sum_loss = False
    autoregressive: ClassVar[bool] = False
    path_keys: ClassVar[tuple[str, ...]] = ()
    loss: ClassVar[str] = "cross_entropy"
    loss_weights: tuple[float, ...] = ()
    noun: ClassVar[str] = "characters"  # what the inspector's input is written in

    def state(self) -> dict[str, Any]:
        """The config says it all: nothing to keep in a checkpoint."""
        return {}


@dataclass(frozen=True)
class ViewSpec:
    """How the app shows a ViewTask's evaluation: its pane's title, and the metric key whose
    presence in an epoch's metrics means a new view was saved."""

    title: str
    metric: str


def evaluation_view(task: Task) -> dict[str, Any]:
    """What the task's latest evaluation left to draw ({} for a task that is not a ViewTask)."""
    return task.evaluation_view() if isinstance(task, ViewTask) else {}


def view_of(task_class: type) -> ViewSpec | None:
    """The evaluation view a task class offers (None when it is not a ViewTask)."""
    if not issubclass(task_class, ViewTask):
        return None
    return ViewSpec(
        getattr(task_class, "evaluation_title", "Evaluation"),
        getattr(task_class, "evaluation_metric", task_class.headline),
    )


def summary_fields(task: Task, metrics: dict[str, float]) -> dict[str, Any]:
    """What a run summary adds for its task: the latest metrics and the baselines."""
    fields: dict[str, Any] = {metric.key: metrics.get(metric.key) for metric in task.metrics}
    baselines = task.baselines()
    if baselines:
        fields["baselines"] = {b.label: round(b.value, 4) for b in baselines}
    return fields


def describe_metrics(metrics_of: tuple[Metric, ...], values: dict[str, Any]) -> list[str]:
    """Each known metric with a value, formatted ("test error 0.19 %")."""
    return [m.format(values[m.key]) for m in metrics_of if values.get(m.key) is not None]
