"""A batch-1 copy of a run's model, fed through its task's codec: for generating text, tracing
hidden units and exporting, from a run folder or from a live run's weights.

It is built from the config and the codec alone (`Task.codec_from_state`), so nothing but the
run folder is needed: no data is read. A live run is never touched: its weights are copied in
(`set_weights`), and this copy traces its own small functions.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rnntui.config import Config, ConfigError
from rnntui.runtime.tf_import import import_tf

if TYPE_CHECKING:
    from rnntui.runs.folder import RunFolder
    from rnntui.tasks.base import Codec

# Keras names layers from global counters; building two models at once from two threads (the
# app's Generate pane and hidden-unit view) is not something it promises to survive.
_build_lock = threading.Lock()


class Replica:
    """The model a config describes, for one sequence at a time."""

    def __init__(self, config: Config, codec: Codec, weights: list[np.ndarray] | None = None):
        self.tf = tf = import_tf()
        self.config = config
        self.codec = codec
        self.model = _build_model(config, codec)
        if weights is not None:
            self.set_weights(weights)
        shape = [1, None] if codec.ids else [1, None, codec.input_dim]
        dtype = tf.int32 if codec.ids else tf.float32
        states = [tf.TensorSpec([1, size], tf.float32) for size in self.model.state_sizes]
        with _build_lock:
            self._trace = tf.function(
                self._trace_graph, input_signature=[tf.TensorSpec(shape, dtype)], autograph=False
            ).get_concrete_function()
            self._advance = tf.function(
                self._advance_graph,
                input_signature=[tf.TensorSpec(shape, dtype), states],
                autograph=False,
            ).get_concrete_function()

    def set_weights(self, weights: list[np.ndarray]) -> None:
        self.model.set_weights(weights)

    # --- graph code -------------------------------------------------------------------------------

    def _inputs(self, x: Any) -> Any:
        if self.codec.ids:
            return self.model.encode_ids(x)
        return self.tf.cast(x, self.tf.float32)

    def _trace_graph(self, x: Any) -> Any:
        """Every state tensor after every step: [1, T, sum of state sizes]."""
        from rnntui.models.base import run_over_time

        def step(x_t: Any, state: list) -> tuple[Any, list]:
            _, new_state = self.model.step(x_t, state)
            return self.tf.concat(new_state, axis=1), new_state

        outputs, _ = run_over_time(step, self._inputs(x), self.model.initial_state(1), True)
        return outputs

    def _advance_graph(self, x: Any, state: list) -> tuple[Any, list]:
        """Read x [1, T] from `state`: the logits after its last step, and the new state."""
        from rnntui.models.base import run_over_time

        output, state = run_over_time(self.model.step, self._inputs(x), list(state), False)
        if self.codec.many_to_many:  # heads of many-to-many models take [B, T, units]
            return self.model.head(output[:, None, :])[:, 0, :], state
        return self.model.head(output), state

    # --- Python side ------------------------------------------------------------------------------

    def trace(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Each state tensor over `inputs` (one sequence, from a zero state): name -> [T, size]."""
        batch = np.asarray(inputs)[None]
        stacked = self._trace(self.tf.constant(batch)).numpy()[0]
        out, begin = {}, 0
        for name, size in zip(self.model.state_names, self.model.state_sizes, strict=True):
            out[name] = stacked[:, begin : begin + size]
            begin += size
        return out

    def zero_state(self) -> list:
        return self.model.initial_state(1)

    def advance(self, inputs: np.ndarray, state: list) -> tuple[np.ndarray, list]:
        """Feed `inputs` (one sequence) on from `state`: logits after the last step, new state."""
        logits, state = self._advance(self.tf.constant(np.asarray(inputs)[None]), list(state))
        return logits.numpy()[0].astype(np.float64), state


class ReplicaCache:
    """The last model asked for, kept: the Generate pane, the hidden-unit view and the app's
    TensorFlow helper each ask for the same model again and again with new weights."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # hold it while using the replica: a superseded thread may run
        self._key: Any = None
        self._replica: Replica | None = None
        self._fresh: list[np.ndarray] = []  # the untrained weights of the replica's model

    def get(self, config: Config, codec: Codec, weights: Any = None) -> Replica:
        """A replica of the model with `weights`: a list of arrays, a run folder's path (its latest
        checkpoint: how a run in another process is shown), or None (untrained)."""
        key = (repr(config.model), config.train.seed, codec)
        if key != self._key or self._replica is None:  # one model at a time
            self._replica, self._key = Replica(config, codec), key
            self._fresh = self._replica.model.get_weights()
        if isinstance(weights, Path):
            from rnntui.runs.folder import RunFolder

            weights = RunFolder(weights).read_checkpoint().weights
        self._replica.set_weights(weights if weights is not None else self._fresh)
        return self._replica


def _build_model(config: Config, codec: Codec) -> Any:
    from rnntui.models.build import build_model

    import_tf()
    with _build_lock:
        return build_model(
            config.model,
            codec.num_classes,
            codec.input_dim,
            codec.many_to_many,
            config.train.seed,
            ids=codec.ids,
        )


def check_fits(run: TrainedRun, model: Any = None) -> None:
    """ConfigError (one line) unless the run's weights fit `model`, by default the model its
    config and vocabulary build (they do not after an edit of config.toml)."""
    from rnntui.runs.checkpoint import CheckpointError, check_weights_fit

    model = model if model is not None else _build_model(run.config, run.codec)
    try:
        check_weights_fit(run.name, run.weights, model.get_weights())
    except CheckpointError as error:
        raise ConfigError(str(error)) from None


def replica_of(run: TrainedRun) -> Replica:
    """The run's model holding its checkpoint's weights; ConfigError (one line) when they do
    not fit (see `check_fits`)."""
    replica = Replica(run.config, run.codec)
    check_fits(run, replica.model)
    replica.set_weights(run.weights)
    return replica


@dataclass(frozen=True)
class TrainedRun:
    """What a run folder holds for a replica: its config, codec and latest weights."""

    name: str
    config: Config
    codec: Any
    weights: list[np.ndarray]
    step: int


def load_trained_run(run: RunFolder) -> TrainedRun:
    """A run folder's config, codec (from the checkpoint's task state) and weights; ConfigError
    (one line) when the folder cannot provide them."""
    from rnntui.tasks.registry import task_class

    config = run.load_config()
    if not run.has_checkpoint():
        raise ConfigError(f"run '{run.name}' has no checkpoint yet; train it first", source="--run")
    try:
        checkpoint = run.read_checkpoint()
    except (OSError, ValueError, KeyError) as error:
        raise ConfigError(
            f"run '{run.name}': checkpoint unreadable ({type(error).__name__})", source="--run"
        ) from None
    try:
        codec = task_class(config.task.kind).codec_from_state(config.task, checkpoint.task_state)
    except ValueError as error:
        raise ConfigError(f"run '{run.name}': {error}", source="--run") from None
    return TrainedRun(run.name, config, codec, checkpoint.weights, checkpoint.step)
