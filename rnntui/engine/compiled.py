"""The TensorFlow side of training: model, optimizer and the compiled chunk of steps.

Only this module (and `models`, `inspect`) touch TensorFlow; it is imported inside the trainer's
worker thread, never at start-up.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnntui.config import Config
from rnntui.models import build_model
from rnntui.tf_runtime import import_tf


def make_optimizer(name: str, learning_rate: float) -> Any:
    import keras

    if name == "adagrad":
        # TF1's AdagradOptimizer starts its accumulators at 0.1, as the tutorial relied on
        return keras.optimizers.Adagrad(learning_rate, initial_accumulator_value=0.1)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    raise ValueError(f"unknown optimizer '{name}'")


class CompiledSteps:
    """A model, its optimizer and `train_chunk`: many windows per compiled call."""

    def __init__(self, config: Config, task: Any) -> None:
        tf = import_tf()
        self.tf = tf
        self.task = task
        self.batch_size = config.train.batch_size
        self.carry_state = task.many_to_many  # echo streams continue across windows; count does not
        self.model = build_model(
            config.model, task.num_classes, task.input_dim, task.many_to_many, config.train.seed
        )
        self.variables = list(self.model.trainable_variables)
        self.optimizer = make_optimizer(config.train.optimizer, config.train.learning_rate)
        self.optimizer.build(self.variables)
        self._train = tf.function(self._chunk_graph, jit_compile=config.train.xla)
        self._predict = tf.function(self._predict_graph)

    # --- graph code -----------------------------------------------------------------------------

    def _inputs(self, x):
        tf = self.tf
        if self.task.one_hot:
            return tf.one_hot(x, self.task.num_classes)
        return tf.cast(x, tf.float32)

    def _step(self, x, y, state):
        tf = self.tf
        if not self.carry_state:
            state = self.model.initial_state(self.batch_size)
        with tf.GradientTape() as tape:
            logits, new_state = self.model(self._inputs(x), state)
            per_prediction = tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.cast(y, tf.int32), logits=logits
            )
            mean = tf.reduce_mean(per_prediction)
            # the echo tutorial minimises the mean; the count tutorial the summed cross-entropy
            objective = mean if self.task.many_to_many else tf.reduce_sum(per_prediction)
        grads = tape.gradient(objective, self.variables)
        self.optimizer.apply_gradients(zip(grads, self.variables, strict=True))
        return mean, new_state

    def _chunk_graph(self, xs, ys, state):
        tf = self.tf
        n = tf.shape(xs)[0]
        losses = tf.TensorArray(tf.float32, size=n)
        for i in tf.range(n):
            loss, state = self._step(xs[i], ys[i], state)
            losses = losses.write(i, loss)
        return losses.stack(), state

    def _predict_graph(self, x):
        state = self.model.initial_state(x.shape[0])
        logits, _ = self.model(self._inputs(x), state)
        return self.tf.argmax(logits, axis=-1, output_type=self.tf.int32)

    # --- Python side ----------------------------------------------------------------------------

    def initial_state(self) -> list:
        return self.model.initial_state(self.batch_size)

    def train_chunk(self, xs: np.ndarray, ys: np.ndarray, state: list) -> tuple[list[float], list]:
        """Run len(xs) windows in one call; return each window's mean loss and the state."""
        losses, state = self._train(xs, ys, state)
        return losses.numpy().tolist(), state

    def test_error_pct(self, x: np.ndarray, y: np.ndarray) -> float:
        predicted = self._predict(x).numpy()
        return float(np.mean(predicted != y) * 100.0)
