"""A learned embedding in front of any sequence model: class ids -> vectors of `model.embedding`.

Used when a task feeds class ids and `model.embedding > 0` (else ids are one-hot encoded), so a
vocabulary of thousands of symbols costs a [vocabulary, embedding] table instead of a
vocabulary-wide input to every step. The wrapped model sees vectors of the embedding's width.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnntui.models.base import SequenceModel, derive_seeds
from rnntui.runtime.tf_import import import_tf


class Embedded(SequenceModel):
    """`inner` fed through an embedding table; its weights come first in `trainable_variables`."""

    def __init__(self, inner: SequenceModel, vocabulary: int, size: int, seed: int) -> None:
        tf = import_tf()
        import keras

        self.inner = inner
        self.num_classes = inner.num_classes
        self.input_dim = vocabulary  # what callers feed: ids below `vocabulary`
        self.many_to_many = inner.many_to_many
        self.state_sizes = inner.state_sizes
        self.state_names = inner.state_names
        # Keras' Embedding initializer (uniform +-0.05), seeded apart from the inner model's
        (table_seed,) = derive_seeds(seed + 1_000_003, 1)
        initial = keras.initializers.RandomUniform(-0.05, 0.05, seed=table_seed)
        self.embedding = tf.Variable(initial((vocabulary, size), "float32"), name="embedding")

    @property
    def trainable_variables(self) -> list:
        return [self.embedding, *self.inner.trainable_variables]

    def encode_ids(self, ids: Any) -> Any:
        tf = import_tf()
        return tf.gather(self.embedding, tf.cast(ids, tf.int32))

    def step(self, x_t: Any, state: list) -> tuple[Any, list]:
        return self.inner.step(x_t, state)

    def __call__(self, inputs: Any, state: Any, xla: bool = False) -> tuple[Any, list]:
        return self.inner(inputs, state, xla)  # its own loop over time (fused projections)

    def head(self, outputs: Any) -> Any:
        return self.inner.head(outputs)

    def lstm_weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        return self.inner.lstm_weights()
