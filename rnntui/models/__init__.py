"""Recurrent models the trainer can run: the tutorial's raw-op cell and Keras built-in cells.

Importing this package is cheap; TensorFlow is loaded when a model is built.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from rnntui.models.base import SequenceModel

if TYPE_CHECKING:
    from rnntui.config import ModelConfig

__all__ = ["SequenceModel", "build_model"]


def build_model(
    model_config: ModelConfig,
    num_classes: int,
    input_dim: int,
    many_to_many: bool,
    seed: int,
    ids: bool = False,
) -> SequenceModel:
    """The model `model_config` describes, its weights drawn from `seed`.

    `ids`: the inputs are class ids below `input_dim` (the model's `encode_ids` turns them into
    step inputs); with `model.embedding > 0` they go through a learned embedding of that size.
    """
    embedding = getattr(model_config, "embedding", 0)
    if ids and embedding > 0:
        from rnntui.models.embedding import Embedded

        inner_config = copy.copy(model_config)
        inner_config.embedding = 0
        inner = build_model(inner_config, num_classes, embedding, many_to_many, seed)
        return Embedded(inner, input_dim, embedding, seed)
    cell = model_config.cell
    if cell == "raw_rnn":
        from rnntui.models.raw_rnn import RawRNN

        return RawRNN(model_config.state_size, num_classes, input_dim, many_to_many, seed)

    from rnntui.models.cells import KerasCellModel

    if cell in ("rnn", "gru", "lstm"):
        kind, units = cell, [model_config.state_size]
    elif cell == "stacked":
        kind, units = model_config.stacked_cell, list(model_config.layers)
    else:
        raise ValueError(f"unknown cell '{cell}'; use raw_rnn, rnn, gru, lstm or stacked")
    return KerasCellModel(kind, units, num_classes, input_dim, many_to_many, seed)
