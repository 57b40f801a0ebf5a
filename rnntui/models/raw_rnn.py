"""The tutorial's hand-written RNN cell, with plain tf.Variables.

    state_t = tanh(concat([x_t, state_{t-1}]) @ W + b)        logits_t = state_t @ W_out + b_out

W stacks the input and the recurrent weights ([input_dim + state, state]); biases start at zero
and both matrices are Glorot-uniform, as `tf.get_variable` gave the original.
"""

from __future__ import annotations

from typing import Any

from rnntui.models.base import SequenceModel, derive_seeds
from rnntui.tf_runtime import import_tf


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

    def head(self, outputs: Any) -> Any:
        tf = import_tf()
        if not self.many_to_many:
            return tf.matmul(outputs, self.W_out) + self.b_out
        # One matmul over all timesteps: [B, T, S] -> [B*T, S] -> [B, T, C].
        shape = tf.shape(outputs)
        flat = tf.reshape(outputs, [-1, self.state_size])
        logits = tf.matmul(flat, self.W_out) + self.b_out
        return tf.reshape(logits, [shape[0], shape[1], self.num_classes])
