"""Keras 3 built-in cells (SimpleRNN, GRU, LSTM, or a stack of one kind) with a Dense head.

The cells own the weights (Keras' layout and initializers, every one seeded, so a run's weights
follow from its seed alone); the step math is Keras' own, written out here in the fused form of
`LSTMCell`/`GRUCell`, for two reasons measured on the text task's LSTM(128):
- over a window of known length, each layer's input projection (x @ kernel + bias) is one matmul
  for all steps instead of one per step, for the forward and the backward pass;
- the recurrent product h @ recurrent_kernel has a hand-written gradient that multiplies by the
  kernel transposed once per window: TensorFlow's own gradient (a matmul with transpose_b) took
  3x longer on this CPU;
- an LSTM or SimpleRNN layer runs a whole window with its backward pass written out, a small
  LSTM layer in TensorFlow's fused LSTM kernels (`windows.py`).
The state stays a flat list of tensors the trainer can carry between windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rnntui.models.base import SequenceModel, derive_seeds, project
from rnntui.models.registry import STACKABLE_CELLS, cell_kind
from rnntui.models.windows import block_lstm_window, fused_lstm_pays, lstm_window, tanh_window
from rnntui.runtime.tf_import import import_tf


def recurrent_product(h: Any, kernel: Any, kernel_t: Any) -> Any:
    """h @ kernel; the gradient for h multiplies by `kernel_t` (kernel transposed, made once)."""
    tf = import_tf()

    @tf.custom_gradient
    def product(h: Any, kernel: Any) -> Any:
        def gradient(upstream: Any) -> tuple[Any, Any]:
            return tf.matmul(upstream, kernel_t), tf.matmul(h, upstream, transpose_a=True)

        return tf.matmul(h, kernel), gradient

    return product(h, kernel)


def make_cell(kind: str, units: int, seed: int) -> Any:
    """One seeded Keras cell of `kind` ("rnn", "gru" or "lstm")."""
    import_tf()
    import keras

    cell = cell_kind(kind)
    if not cell.keras_cell:
        raise ValueError(f"'{kind}' is not a Keras cell; use one of {', '.join(STACKABLE_CELLS)}")
    seed_kernel, seed_recurrent, seed_dropout = derive_seeds(seed, 3)
    cls = getattr(keras.layers, cell.keras_cell)
    return cls(
        units,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed_kernel),
        recurrent_initializer=keras.initializers.Orthogonal(seed=seed_recurrent),
        seed=seed_dropout,
    )


class KerasCellModel(SequenceModel):
    """One Keras cell, or `StackedRNNCells` of several, plus a Dense head."""

    def __init__(
        self,
        kind: str,
        units: Sequence[int],
        num_classes: int,
        input_dim: int,
        many_to_many: bool,
        seed: int,
    ) -> None:
        """`units` has one entry per layer; more than one entry stacks cells of `kind`."""
        import_tf()
        import keras

        if not units:
            raise ValueError("a model needs at least one layer")
        self.kind = kind
        self.units = tuple(int(u) for u in units)
        self.num_classes = num_classes
        self.input_dim = input_dim
        self.many_to_many = many_to_many
        names = cell_kind(kind).states  # lstm carries [h, c]
        per_cell = len(names)
        self.state_sizes = tuple(u for u in self.units for _ in range(per_cell))
        self._per_cell = per_cell
        self.state_names = tuple(
            f"{name}{layer + 1 if len(self.units) > 1 else ''}"
            for layer in range(len(self.units))
            for name in names
        )

        layer_seeds = derive_seeds(seed, len(self.units) + 1)
        self.cells = [make_cell(kind, u, s) for u, s in zip(self.units, layer_seeds, strict=False)]
        self.stacked = len(self.cells) > 1
        self.cell = keras.layers.StackedRNNCells(self.cells) if self.stacked else self.cells[0]
        self.dense = keras.layers.Dense(
            num_classes, kernel_initializer=keras.initializers.GlorotUniform(seed=layer_seeds[-1])
        )
        # Build every variable now (eagerly), so an optimizer can be made before any tracing.
        self.cell.build((None, input_dim))
        self.dense.build((None, self.units[-1]))

    @property
    def trainable_variables(self) -> list:
        # The backing tf.Variables: fit for GradientTape, Keras optimizers, tf.train.Checkpoint.
        layers = [*self.cells, self.dense]
        return [v.value for layer in layers for v in layer.trainable_variables]

    # --- the step math ----------------------------------------------------------------------------

    def _weights(self, cell: Any) -> tuple[Any, Any, Any, Any]:
        """kernel, recurrent kernel (and it transposed), bias: read once per call."""
        tf = import_tf()
        recurrent = tf.convert_to_tensor(cell.recurrent_kernel.value)
        kernel, bias = (tf.convert_to_tensor(v.value) for v in (cell.kernel, cell.bias))
        return kernel, recurrent, tf.transpose(recurrent), bias

    def _project(self, x: Any, kernel: Any, bias: Any) -> Any:
        """x [..., D] @ kernel + the input bias -> [..., gates * units]."""
        input_bias = bias[0] if self.kind == "gru" else bias  # GRU (reset_after): [input; rec]
        return project(x, kernel, input_bias)

    def _cell_step(self, xp_t: Any, state: list, weights: tuple) -> tuple[Any, list]:
        """One step of one layer from its input projection: Keras' math, fused form."""
        tf = import_tf()
        _, recurrent, recurrent_t, bias = weights
        h = state[0]
        inner = recurrent_product(h, recurrent, recurrent_t)
        if self.kind == "lstm":
            z_i, z_f, z_g, z_o = tf.split(xp_t + inner, 4, axis=1)
            c = tf.sigmoid(z_f) * state[1] + tf.sigmoid(z_i) * tf.tanh(z_g)
            h = tf.sigmoid(z_o) * tf.tanh(c)
            return h, [h, c]
        if self.kind == "gru":
            x_z, x_r, x_h = tf.split(xp_t, 3, axis=1)
            r_z, r_r, r_h = tf.split(inner + bias[1], 3, axis=1)
            z = tf.sigmoid(x_z + r_z)
            r = tf.sigmoid(x_r + r_r)
            h = z * h + (1 - z) * tf.tanh(x_h + r * r_h)
            return h, [h]
        h = tf.tanh(xp_t + inner)
        return h, [h]

    def step(self, x_t: Any, state: list) -> tuple[Any, list]:
        """One timestep through every layer (windows of unknown length take this path)."""
        output, new_state, n = x_t, [], self._per_cell
        for layer, cell in enumerate(self.cells):
            weights = self._weights(cell)
            xp = self._project(output, weights[0], weights[3])
            output, layer_state = self._cell_step(
                xp, list(state[layer * n : (layer + 1) * n]), weights
            )
            new_state += layer_state
        return output, new_state

    def __call__(self, inputs: Any, state: Sequence, xla: bool = False) -> tuple[Any, list]:
        """A window of known length layer by layer: each layer's input projection at once (an
        LSTM layer in TensorFlow's fused kernels, or written out when `xla` compiles it)."""
        tf = import_tf()
        inputs = tf.convert_to_tensor(inputs, tf.float32)
        if inputs.shape[1] is None:
            return super().__call__(inputs, state, xla)
        if len(state) != len(self.state_sizes):
            raise ValueError(
                f"expected {len(self.state_sizes)} state tensors, got {len(state)}; "
                "use initial_state()"
            )
        if inputs.shape[1] == 0:
            raise ValueError("a sequence needs at least one timestep")
        x, new_state, n = inputs, [], self._per_cell
        for layer, cell in enumerate(self.cells):
            weights = self._weights(cell)
            kernel, recurrent, _, bias = weights
            layer_state = list(state[layer * n : (layer + 1) * n])
            last = layer == len(self.cells) - 1
            keep_all = self.many_to_many or not last
            if self.kind == "lstm" and not xla and fused_lstm_pays(x, recurrent):
                x, h, c = block_lstm_window(x, *layer_state, kernel, recurrent, bias, keep_all)
                new_state += [h, c]
                continue
            projected = self._project(x, kernel, bias)
            if self.kind == "lstm":
                x, h, c = lstm_window(projected, *layer_state, recurrent, keep_all)
                new_state += [h, c]
                continue
            if self.kind == "rnn":
                x, h = tanh_window(projected, layer_state[0], recurrent, keep_all)
                new_state.append(h)
                continue
            projected = tf.unstack(projected, axis=1)
            outputs = []
            for xp_t in projected:
                h, layer_state = self._cell_step(xp_t, layer_state, weights)
                outputs.append(h)
            new_state += layer_state
            x = tf.stack(outputs, axis=1) if keep_all else outputs[-1]
        return self.head(x), new_state

    def head(self, outputs: Any) -> Any:
        return self.dense(outputs)

    def lstm_weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        if self.kind != "lstm":
            return None
        first = self.cells[0]
        return (
            np.array(first.kernel.numpy()),
            np.array(first.recurrent_kernel.numpy()),
            np.array(first.bias.numpy()),
        )
