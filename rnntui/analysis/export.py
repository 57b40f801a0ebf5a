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

import contextlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnntui.analysis.replica import TrainedRun
from rnntui.config import ConfigError
from rnntui.models.registry import cell_kind, layers_of
from rnntui.runtime.tf_import import import_tf
from rnntui.util.atomic_write import atomic_write_text
from rnntui.util.output_paths import existing, missing_folder


@dataclass(frozen=True)
class Exported:
    path: Path
    format: str  # "keras" or "saved_model"
    inputs: str  # what it takes, in words
    vocabulary: Path | None


def keras_twin(run: TrainedRun) -> Any:
    """A Keras model computing what the run's model computes (softmax of its logits; for a
    regression, its forecasts in raw units, the codec's scaling done in Keras ops)."""
    import_tf()
    import keras

    config, codec = run.config, run.codec
    weights = [np.asarray(w) for w in run.weights]
    model_config = config.model
    # a regression's codec scales raw units in and out (a series): the twin does too
    regression = hasattr(codec, "keras_features")
    if codec.ids:
        inputs = keras.Input(shape=(None,), dtype="int32", name="ids")
    elif regression:
        inputs = keras.Input(shape=(None, len(codec.inputs)), dtype="float32", name="raw")
    else:
        inputs = keras.Input(shape=(None, codec.input_dim), dtype="float32", name="features")
    x = codec.keras_features(inputs) if regression else inputs
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
    if regression:
        dense = keras.layers.Dense(head[0].shape[1], name="scaled_forecast")
        outputs = codec.keras_units(dense(x), inputs)
    else:
        dense = keras.layers.Dense(head[0].shape[1], activation="softmax", name="probabilities")
        outputs = dense(x)
    dense.set_weights(head)
    return keras.Model(inputs, outputs, name=f"rnntui_{config.task.kind}_{cell}")


class ExportWriteError(RuntimeError):
    """The export could not be written (a read-only folder, a full disk); `str()` is one line.
    Nothing is left behind: the model and its vocabulary are written under temporary names
    beside their targets and renamed into place only when both are complete."""


def export_targets(run: TrainedRun, path: Path) -> tuple[Path, Path | None]:
    """The model's path and, for a run with a vocabulary, `<PATH>.vocabulary.json`."""
    path = Path(path).expanduser()
    if not hasattr(run.codec, "symbols"):
        return path, None
    return path, path.with_name(path.name.removesuffix(".keras") + ".vocabulary.json")


def check_export_targets(run: TrainedRun, path: Path, force: bool = False) -> None:
    """ConfigError (one line) before anything is built: every file the export would write is
    checked, and an existing one is refused unless `force`."""
    model_path, vocabulary = export_targets(run, path)
    if missing_folder(model_path):
        raise ConfigError(missing_folder(model_path), "export")
    for target in (model_path, vocabulary):
        if target is None or not os.path.lexists(target):
            continue
        empty_folder = target == model_path and target.is_dir() and not any(target.iterdir())
        if target.suffix != ".keras" and empty_folder:
            continue  # an empty folder for a SavedModel: nothing to overwrite
        if not force:
            raise ConfigError(existing(target), "export")
        if target.is_dir() != (target == model_path and target.suffix != ".keras"):
            raise ConfigError(
                f"'{target}' is {'a folder' if target.is_dir() else 'a file'}; --force "
                "overwrites only what an export writes there, choose a new path",
                "export",
            )


def export_run(run: TrainedRun, path: Path, force: bool = False) -> Exported:
    """Write the run's Keras twin to `path` (.keras file, else a SavedModel folder), and the
    vocabulary beside it. ConfigError for a path that cannot be used (checked first: an
    existing file is kept unless `force`), ExportWriteError when writing fails."""
    check_export_targets(run, path, force)
    path, vocabulary = export_targets(run, path)
    model = keras_twin(run)
    fmt = "keras" if path.suffix == ".keras" else "saved_model"
    tag = f".tmp-{os.getpid()}"
    staged_model = path.with_name(f".{path.stem}{tag}{path.suffix}")
    staged_vocabulary = vocabulary.with_name(f".{vocabulary.name}{tag}") if vocabulary else None
    staged = [staged_model, *([staged_vocabulary] if staged_vocabulary else [])]
    tf = import_tf()
    try:
        if fmt == "keras":
            model.save(staged_model)
        else:
            model.export(str(staged_model), verbose=False)
        if vocabulary is not None:
            codec = run.codec
            symbols = {"symbols": list(codec.symbols), "unknown": codec.unknown}
            atomic_write_text(staged_vocabulary, json.dumps(symbols, indent=1))
        for source, target in zip(staged, [path, vocabulary], strict=False):
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)  # --force over an earlier SavedModel
            os.replace(source, target)
    except (OSError, tf.errors.OpError) as error:
        for leftover in staged:
            _remove(leftover)
        reason = _reason(error)
        raise ExportWriteError(f"cannot write '{path}' ({reason}); nothing was written") from None
    codec = run.codec
    shape = "ids [batch, time] int32" if codec.ids else f"[batch, time, {codec.input_dim}] float32"
    outputs = "probabilities " + (
        "[batch, time, classes]" if codec.many_to_many else "[batch, classes]"
    )
    if hasattr(codec, "keras_features"):  # raw units in and out
        shape = f"raw {', '.join(codec.inputs)} [batch, time, {len(codec.inputs)}] float32"
        outputs = f"forecasts of {', '.join(codec.targets)} [batch, {len(codec.targets)}]"
    return Exported(path, fmt, f"{shape} -> {outputs}", vocabulary)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _reason(error: BaseException) -> str:
    """Why a write failed, in a few words (TensorFlow's errors say "<path>; <reason>")."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    text = (getattr(error, "message", "") or str(error)).strip().splitlines()
    last = text[0].rsplit("; ", 1)[-1] if text else type(error).__name__
    return last.strip()[:120].lower()
