"""Keras 3 built-in cells (SimpleRNN, GRU, LSTM, or a stack of one kind) with a Dense head.

The cell does the step math; our shared loop walks it over time (see `base.run_over_time`), so the
state stays a flat list of tensors the trainer can carry between windows. Every initializer is
seeded, so a run's weights follow from its seed alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rnntui.models.base import SequenceModel, derive_seeds
from rnntui.tf_runtime import import_tf

CELL_CLASSES = {"rnn": "SimpleRNNCell", "gru": "GRUCell", "lstm": "LSTMCell"}
STATES_PER_CELL = {"rnn": 1, "gru": 1, "lstm": 2}  # lstm carries [h, c]
STATE_NAMES = {"rnn": ("h",), "gru": ("h",), "lstm": ("h", "c")}


def make_cell(kind: str, units: int, seed: int) -> Any:
    """One seeded Keras cell of `kind` ("rnn", "gru" or "lstm")."""
    import_tf()
    import keras

    if kind not in CELL_CLASSES:
        raise ValueError(f"unknown cell kind '{kind}'; use one of {', '.join(CELL_CLASSES)}")
    seed_kernel, seed_recurrent, seed_dropout = derive_seeds(seed, 3)
    cls = getattr(keras.layers, CELL_CLASSES[kind])
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
        per_cell = STATES_PER_CELL.get(kind, 1)
        self.state_sizes = tuple(u for u in self.units for _ in range(per_cell))
        self._per_cell = per_cell
        names = STATE_NAMES.get(kind, ("h",))
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

    def _nest(self, state: list) -> list:
        """Flat [h1, c1, h2, c2] -> what the cell takes ([h, c], or [[h1, c1], [h2, c2]])."""
        n = self._per_cell
        groups = [list(state[i : i + n]) for i in range(0, len(state), n)]
        return groups if self.stacked else groups[0]

    def step(self, x_t: Any, state: list) -> tuple[Any, list]:
        output, new_state = self.cell(x_t, self._nest(state))
        if self.stacked:
            return output, [s for group in new_state for s in group]
        return output, list(new_state)

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
