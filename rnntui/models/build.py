"""Building the model a config describes, whatever its cell kind (see `models/registry.py`).

Importing this module is cheap; TensorFlow is loaded when a model is built.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from rnntui.models.base import SequenceModel
from rnntui.models.registry import cell_kind, layers_of

if TYPE_CHECKING:
    from rnntui.config import ModelConfig


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
    kind, units = layers_of(model_config)
    if not cell_kind(kind).keras_cell:  # the tutorial's raw-op cell
        from rnntui.models.raw_rnn import RawRNN

        return RawRNN(units[0], num_classes, input_dim, many_to_many, seed)

    from rnntui.models.cells import KerasCellModel

    return KerasCellModel(kind, units, num_classes, input_dim, many_to_many, seed)
