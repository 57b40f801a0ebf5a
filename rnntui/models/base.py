"""What every sequence model offers the trainer, and the one loop over time they share.

A model is a step function (one timestep: input and state in, output and state out) plus a head
(outputs to logits). `run_over_time` walks the step along the time axis; `SequenceModel.__call__`
puts the two together. The state is always a flat list of [batch, units] tensors, so the trainer
can carry it through a `tf.range` loop without knowing which cell it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rnntui.runtime.tf_import import import_tf

StepFn = Callable[[Any, list], tuple[Any, list]]


def derive_seeds(seed: int, count: int) -> list[int]:
    """`count` independent 31-bit seeds from one run seed (one per initialized variable)."""
    state = np.random.SeedSequence(int(seed)).generate_state(count)
    return [int(s) & 0x7FFF_FFFF for s in state]


def project(x: Any, kernel: Any, bias: Any) -> Any:
    """x [..., D] @ kernel [D, N] + bias -> [..., N]: one matmul whatever x's leading axes (a
    window's every step at once). `bias_add`, whose gradient is one op where a broadcasting +
    added a sum and reshapes; a static shape where x has one, so no shape ops in the graph."""
    tf = import_tf()
    if x.shape.rank == 2:
        return tf.nn.bias_add(tf.matmul(x, kernel), bias)
    flat = tf.nn.bias_add(tf.matmul(tf.reshape(x, [-1, x.shape[-1]]), kernel), bias)
    if x.shape[1:-1].is_fully_defined():
        return tf.reshape(flat, [-1, *x.shape[1:-1], kernel.shape[1]])
    return tf.reshape(flat, tf.concat([tf.shape(x)[:-1], [kernel.shape[1]]], 0))


def run_over_time(step: StepFn, inputs: Any, state: list, keep_all: bool) -> tuple[Any, list]:
    """Apply `step` along axis 1 of `inputs` [B, T, D].

    Returns the outputs [B, T, units] when `keep_all`, else only the last output [B, units],
    and the final state. A static T (the trainer's fixed windows) is unrolled in Python, which is
    what XLA and short windows like best; an unknown T falls back to a `tf.while_loop`.
    """
    tf = import_tf()
    steps = inputs.shape[1]
    if steps is not None:
        if steps == 0:
            raise ValueError("a sequence needs at least one timestep")
        outputs = []
        for x_t in tf.unstack(inputs, axis=1):  # one op (a slice per step was four)
            output, state = step(x_t, state)
            outputs.append(output)
        return (tf.stack(outputs, axis=1) if keep_all else outputs[-1]), state

    time_major = tf.transpose(inputs, [1, 0, 2])
    count = tf.shape(time_major)[0]
    first, _ = step(time_major[0], state)  # traced once for the output's shape and dtype only
    collected = tf.TensorArray(first.dtype, size=count, element_shape=first.shape)

    def body(t: Any, collected: Any, *state: Any) -> tuple:
        output, new_state = step(time_major[t], list(state))
        return (t + 1, collected.write(t, output), *new_state)

    _, collected, *state = tf.while_loop(
        lambda t, *_: t < count, body, (tf.constant(0), collected, *state)
    )
    if keep_all:
        return tf.transpose(collected.stack(), [1, 0, 2]), list(state)
    return collected.read(count - 1), list(state)


class SequenceModel:
    """A recurrent network with a softmax head (the logits are returned; softmax is the loss's).

    Subclasses set `num_classes`, `input_dim`, `many_to_many`, `state_sizes` and implement
    `step`, `head` and `trainable_variables`.
    """

    num_classes: int
    input_dim: int
    many_to_many: bool
    state_sizes: tuple[int, ...]  # one entry per state tensor, in `initial_state` order
    state_names: tuple[str, ...]  # one per state tensor: "h", "c", "h2" (for probes and views)

    def encode_ids(self, ids: Any) -> Any:
        """Class ids [..] -> the step inputs [.., input_dim]: one-hot (an embedding overrides)."""
        tf = import_tf()
        return tf.one_hot(tf.cast(ids, tf.int32), self.input_dim)

    def step(self, x_t: Any, state: list) -> tuple[Any, list]:
        """One timestep: x_t [B, input_dim] and the state -> (output [B, units], new state)."""
        raise NotImplementedError

    def head(self, outputs: Any) -> Any:
        """Recurrent outputs [B, units] or [B, T, units] -> logits [..., num_classes]."""
        raise NotImplementedError

    @property
    def trainable_variables(self) -> list:
        raise NotImplementedError

    def initial_state(self, batch_size: int) -> list:
        tf = import_tf()
        return [tf.zeros([batch_size, size], tf.float32) for size in self.state_sizes]

    def __call__(self, inputs: Any, state: Sequence, xla: bool = False) -> tuple[Any, list]:
        """Logits and the final state for a window `inputs` [B, T, D] from `state`. `xla`: the
        caller compiles this with XLA, so only ops XLA has kernels for (see `cells`)."""
        tf = import_tf()
        inputs = tf.convert_to_tensor(inputs, tf.float32)
        if len(state) != len(self.state_sizes):
            raise ValueError(
                f"expected {len(self.state_sizes)} state tensors, got {len(state)}; "
                "use initial_state()"
            )
        outputs, new_state = run_over_time(self.step, inputs, list(state), self.many_to_many)
        return self.head(outputs), new_state

    def get_weights(self) -> list[np.ndarray]:
        return [np.array(v.numpy()) for v in self.trainable_variables]

    def set_weights(self, weights: Sequence[Any]) -> None:
        variables = self.trainable_variables
        if len(weights) != len(variables):
            raise ValueError(f"expected {len(variables)} weight arrays, got {len(weights)}")
        arrays = [np.asarray(w, dtype=np.float32) for w in weights]
        for var, array in zip(variables, arrays, strict=True):
            if tuple(var.shape) != array.shape:
                raise ValueError(
                    f"weight '{var.name}' has shape {tuple(var.shape)}, got {array.shape}"
                )
        for var, array in zip(variables, arrays, strict=True):
            var.assign(array)

    def lstm_weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(kernel, recurrent_kernel, bias) of the first LSTM layer, Keras layout; else None."""
        return None
