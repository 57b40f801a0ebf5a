"""The cell kinds a model can be built from: the one place they are named (`model.cell`).

A leaf: plain data, no TensorFlow and no model code, so the config's rules, the settings form,
the A/B picker, run labels and export all read the kinds from here. A new Keras cell is one
entry (its Keras cell and layer class names); `models/build.py` builds any entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class ModelShape(Protocol):
    """The `model.*` settings that say which layers a model has (a `config.ModelConfig`)."""

    cell: str
    state_size: int
    layers: list[int]
    stacked_cell: str


@dataclass(frozen=True)
class CellKind:
    """What `model.cell = name` means."""

    name: str
    note: str  # a few words for pickers and hints
    keras_cell: str = ""  # the Keras cell class ("" for the raw-op cell and for stacks)
    keras_layer: str = ""  # the Keras layer export writes for it
    states: tuple[str, ...] = ("h",)  # the state parts a layer of it carries
    stackable: bool = False  # may be `model.stacked_cell`


CELLS: dict[str, CellKind] = {
    "raw_rnn": CellKind("raw_rnn", "the tutorial's raw-op cell", keras_layer="SimpleRNN"),
    "rnn": CellKind("rnn", "Keras SimpleRNNCell", "SimpleRNNCell", "SimpleRNN", stackable=True),
    "gru": CellKind("gru", "Keras GRUCell", "GRUCell", "GRU", stackable=True),
    "lstm": CellKind("lstm", "Keras LSTMCell", "LSTMCell", "LSTM", ("h", "c"), stackable=True),
    "stacked": CellKind("stacked", "stacked cells (model.layers, model.stacked_cell)"),
}
CELL_KINDS: tuple[str, ...] = tuple(CELLS)
STACKABLE_CELLS: tuple[str, ...] = tuple(name for name, cell in CELLS.items() if cell.stackable)
STACK = "stacked"  # the kind whose layers are `model.layers` of `model.stacked_cell`


def cell_kind(name: str) -> CellKind:
    try:
        return CELLS[name]
    except KeyError:
        raise ValueError(f"unknown cell '{name}'; use one of {', '.join(CELLS)}") from None


def layers_of(model: ModelShape) -> tuple[str, list[int]]:
    """The kind of every layer and their sizes: a stack's cell and `model.layers`, else the
    cell itself with `model.state_size`."""
    if model.cell == STACK:
        return model.stacked_cell, list(model.layers)
    return model.cell, [model.state_size]


def describe_cell(model: ModelShape) -> str:
    """A model in a few characters, as run labels show it: "lstm 4", "lstm[4, 5]"."""
    if model.cell == STACK:
        return f"{model.stacked_cell}{model.layers}"
    return f"{model.cell} {model.state_size}"
