"""The tutorial's hand-written RNN cell, with plain tf.Variables.

    state_t = tanh(concat([x_t, state_{t-1}]) @ W + b)        logits_t = state_t @ W_out + b_out

W stacks the input and the recurrent weights ([input_dim + state, state]); biases start at zero
and both matrices are Glorot-uniform, as `tf.get_variable` gave the original.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rnntui.models.base import SequenceModel, derive_seeds, project
from rnntui.models.windows import tanh_window
from rnntui.runtime.tf_import import import_tf


def rnn_step(x_t: Any, state: Any, W: Any, b: Any) -> Any:  # noqa: N803 (the tutorial's names)
    """One timestep of the raw cell: x_t [B, D], state [B, S] -> new state [B, S]."""
    tf = import_tf()
    return tf.tanh(tf.matmul(tf.concat([x_t, state], axis=1), W) + b)


class RawRNN(SequenceModel):
    """Raw-op RNN cell + softmax head; the state is [h]."""

    def __init__(
        self, state_size: int, num_classes: int, input_dim: int, many_to_many: bool, seed: int
    ) -> None:
        tf = import_tf()
        import keras

        self.num_classes = num_classes
        self.input_dim = input_dim
        self.many_to_many = many_to_many
        self.state_size = state_size
        self.state_sizes = (state_size,)
        self.state_names = ("h",)
        seed_w, seed_out = derive_seeds(seed, 2)
        glorot = keras.initializers.GlorotUniform
        self.W = tf.Variable(
            glorot(seed=seed_w)((input_dim + state_size, state_size), "float32"), name="W"
        )
        self.b = tf.Variable(tf.zeros([state_size]), name="b")
        self.W_out = tf.Variable(
            glorot(seed=seed_out)((state_size, num_classes), "float32"), name="W_out"
        )
        self.b_out = tf.Variable(tf.zeros([num_classes]), name="b_out")

    @property
    def trainable_variables(self) -> list:
        return [self.W, self.b, self.W_out, self.b_out]

    def step(self, x_t: Any, state: list) -> tuple[Any, list]:
        h = rnn_step(x_t, state[0], self.W, self.b)
        return h, [h]

    def __call__(self, inputs: Any, state: Sequence, xla: bool = False) -> tuple[Any, list]:
        """A window of known length: the same cell with W split into its input and recurrent
        rows once, every step's input product in one matmul, and the backward pass written out
        (`tanh_window`), so a step is matmul, add, tanh (the concat per step, and its
        gradient's slices, were a third of a window's ops)."""
        tf = import_tf()
        inputs = tf.convert_to_tensor(inputs, tf.float32)
        steps = inputs.shape[1]
        if steps is None or steps == 0 or len(state) != 1:
            return super().__call__(inputs, state, xla)
        # one split (its gradient one concat; two slices' were two full-size scatters and a sum)
        w_x, w_h = tf.split(self.W, [self.input_dim, self.state_size], axis=0)
        projected = project(inputs, w_x, self.b)
        outputs, h = tanh_window(projected, state[0], w_h, self.many_to_many)
        return self.head(outputs), [h]

    def head(self, outputs: Any) -> Any:
        # one matmul over all timesteps: [B, T, S] -> [B, T, C] (or [B, S] -> [B, C])
        return project(outputs, self.W_out, self.b_out)
