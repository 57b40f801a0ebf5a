"""Step one LSTM cell and show what happens inside: the gates i, f, g, o and the state c, h.

c and h come from the Keras cell itself (the engine's own step); the gates are computed with TF
ops from the same weights; then NumPy recomputes the whole sequence in float64 from the weights
alone, and the largest disagreement is reported — the LSTM equations, checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rnntui.analysis.lstm_gates import (
    MAX_STEPS,
    STACKED_SAMPLE,
    STACKED_UNITS,
    Inspection,
    LSTMStep,
    check_sequence,
    check_weights,
    floats,
    lstm_step_numpy,
    matrix,
)
from rnntui.runtime.tf_import import import_tf


def inspect_lstm(
    inputs: Sequence[Sequence[float]],
    units: int = 4,
    seed: int = 0,
    weights: Sequence[Any] | None = None,
) -> Inspection:
    """Step an LSTM cell from zero state along `inputs` (one row per timestep, batch 1).

    The cell is fresh and seeded, or holds `weights` = (kernel, recurrent_kernel, bias) — e.g. a
    trained model's `lstm_weights()` — in which case `units` is taken from the weights.
    """
    x_all = check_sequence(inputs)
    if len(x_all) > MAX_STEPS:
        raise ValueError(f"at most {MAX_STEPS} timesteps, got {len(x_all)}")
    input_dim = x_all.shape[1]
    if weights is not None:
        pinned = check_weights(weights, input_dim)
        units = pinned[1].shape[0]
    elif units < 1:
        raise ValueError(f"units must be at least 1, got {units}")

    tf = import_tf()
    from rnntui.models.cells import make_cell

    cell = make_cell("lstm", units, seed)
    cell.build((None, input_dim))
    if weights is not None:
        for var, value in zip((cell.kernel, cell.recurrent_kernel, cell.bias), pinned, strict=True):
            var.assign(value)
    kernel, recurrent, bias = (
        np.array(v.numpy()) for v in (cell.kernel, cell.recurrent_kernel, cell.bias)
    )

    h = tf.zeros([1, units])
    c = tf.zeros([1, units])
    h_np = np.zeros([1, units])
    c_np = np.zeros([1, units])
    steps = []
    for x_row in x_all:
        x_t = tf.constant(x_row[None, :], tf.float32)
        z = tf.matmul(x_t, cell.kernel) + tf.matmul(h, cell.recurrent_kernel) + cell.bias
        z_i, z_f, z_g, z_o = tf.split(z, 4, axis=1)
        gates = {
            "i": tf.sigmoid(z_i),
            "f": tf.sigmoid(z_f),
            "g": tf.tanh(z_g),
            "o": tf.sigmoid(z_o),
        }
        _, (h, c) = cell(x_t, [h, c])  # the engine's own step
        ours = {**{k: v.numpy() for k, v in gates.items()}, "c": c.numpy(), "h": h.numpy()}

        if not all(np.all(np.isfinite(v)) for v in ours.values()):
            raise ValueError(
                f"the cell overflowed float32 at timestep {len(steps) + 1}; use smaller inputs"
            )
        exact = lstm_step_numpy(x_row[None, :], h_np, c_np, kernel, recurrent, bias)
        h_np, c_np = exact["h"], exact["c"]
        diff = max(float(np.max(np.abs(ours[k] - exact[k]))) for k in ours)
        steps.append(
            LSTMStep(
                x=floats(x_row),
                **{k: floats(v) for k, v in ours.items()},
                c_numpy=floats(c_np),
                h_numpy=floats(h_np),
                max_abs_diff=diff,
            )
        )
    return Inspection(
        steps=tuple(steps),
        units=units,
        kernel=matrix(kernel),
        recurrent_kernel=matrix(recurrent),
        bias=floats(bias),
        max_abs_diff=max(step.max_abs_diff for step in steps),
    )


def stacked_lstm_demo(seed: int = 0) -> np.ndarray:
    """Seed 003's stacked LSTM (4 then 5 units) over its (2, 3, 6) sample -> outputs (2, 3, 5)."""
    import_tf()
    import keras

    from rnntui.models.base import derive_seeds
    from rnntui.models.cells import make_cell

    seeds = derive_seeds(seed, len(STACKED_UNITS))
    cells = [make_cell("lstm", u, s) for u, s in zip(STACKED_UNITS, seeds, strict=True)]
    rnn = keras.layers.RNN(keras.layers.StackedRNNCells(cells), return_sequences=True)
    return np.asarray(rnn(np.asarray(STACKED_SAMPLE, np.float32)))
