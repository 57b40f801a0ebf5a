"""Export a trained network as a plain Keras model, for people who never install rnntui.

Every rnntui model has an exact Keras twin: Keras' own LSTM/GRU/SimpleRNN layers (stacked ones as
a sequence of layers, which is what `StackedRNNCells` computes), a Dense head with a softmax, and
in front an `Embedding` (the learned one, or an identity table: one-hot). The tutorial's raw-op
cell is SimpleRNN's math with its one matrix split into the input and the recurrent kernels, so it
exports the same way. The twin reads whole sequences from a zero state (not stateful) and outputs
probabilities.

PATH ending in `.keras` gets a Keras file (`keras.models.load_model`); any other PATH becomes a
SavedModel folder (`tf.saved_model.load(PATH).serve(x)`, for TF Serving and TFLite). Tasks with
a vocabulary also get `<PATH>.vocabulary.json`: the symbol of each id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnntui.analysis.replica import TrainedRun
from rnntui.config import ConfigError
from rnntui.models.registry import cell_kind, layers_of
from rnntui.runtime.tf_import import import_tf
from rnntui.util.atomic_write import atomic_write_text


@dataclass(frozen=True)
class Exported:
    path: Path
    format: str  # "keras" or "saved_model"
    inputs: str  # what it takes, in words
    vocabulary: Path | None


def keras_twin(run: TrainedRun) -> Any:
    """A Keras model computing what the run's model computes (softmax of its logits)."""
    import_tf()
    import keras

    config, codec = run.config, run.codec
    weights = [np.asarray(w) for w in run.weights]
    model_config = config.model
    if codec.ids:
        inputs = keras.Input(shape=(None,), dtype="int32", name="ids")
    else:
        inputs = keras.Input(shape=(None, codec.input_dim), dtype="float32", name="features")
    x = inputs
    if codec.ids:
        if model_config.embedding > 0:
            table = weights.pop(0)
            x = keras.layers.Embedding(*table.shape, weights=[table], name="embedding")(x)
        else:  # one-hot is an identity table
            eye = np.eye(codec.input_dim, dtype=np.float32)
            x = keras.layers.Embedding(*eye.shape, weights=[eye], trainable=False, name="one_hot")(
                x
            )

    cell = model_config.cell
    kind, units = layers_of(model_config)
    if not cell_kind(kind).keras_cell:  # the raw-op cell: W stacks input and recurrent kernels
        w, b, w_out, b_out = weights
        width = w.shape[1]
        rnn_weights = [[w[:-width], w[-width:], b]]
        units, head = [width], [w_out, b_out]
    else:
        rnn_weights = [weights[3 * i : 3 * i + 3] for i in range(len(units))]
        head = weights[3 * len(units) :]
    layer_class = getattr(keras.layers, cell_kind(kind).keras_layer)
    for i, (size, layer_weights) in enumerate(zip(units, rnn_weights, strict=True)):
        last = i == len(units) - 1
        layer = layer_class(
            size, return_sequences=codec.many_to_many or not last, name=f"{kind}_{i + 1}"
        )
        x = layer(x)
        layer.set_weights(layer_weights)
    dense = keras.layers.Dense(head[0].shape[1], activation="softmax", name="probabilities")
    outputs = dense(x)
    dense.set_weights(head)
    return keras.Model(inputs, outputs, name=f"rnntui_{config.task.kind}_{cell}")


def export_run(run: TrainedRun, path: Path) -> Exported:
    """Write the run's Keras twin to `path` (.keras file, else a SavedModel folder)."""
    path = Path(path).expanduser()
    if path.exists() and (path.suffix == ".keras" or any(path.iterdir() if path.is_dir() else [])):
        raise ConfigError(f"'{path}' exists; choose a new path", "export")
    if not path.parent.is_dir():
        raise ConfigError(f"no folder '{path.parent}' to write into; create it first", "export")
    model = keras_twin(run)
    if path.suffix == ".keras":
        model.save(path)
        fmt = "keras"
    else:
        model.export(str(path), verbose=False)
        fmt = "saved_model"
    codec = run.codec
    shape = "ids [batch, time] int32" if codec.ids else f"[batch, time, {codec.input_dim}] float32"
    outputs = "[batch, time, classes]" if codec.many_to_many else "[batch, classes]"
    vocabulary = None
    if hasattr(codec, "symbols"):  # a text run: say which symbol each id stands for
        vocabulary = path.with_name(path.name.removesuffix(".keras") + ".vocabulary.json")
        atomic_write_text(
            vocabulary,
            json.dumps({"symbols": list(codec.symbols), "unknown": codec.unknown}, indent=1),
        )
    return Exported(path, fmt, f"{shape} -> probabilities {outputs}", vocabulary)
