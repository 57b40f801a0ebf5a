"""Pick the cell of an A/B companion run: the same settings, data and seed, another cell."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from rnntui.config import CELL_KINDS
from rnntui.tui.screens.dialog import Dialog

CELL_NOTES = {
    "raw_rnn": "the tutorial's raw-op cell",
    "rnn": "Keras SimpleRNNCell",
    "gru": "Keras GRUCell",
    "lstm": "Keras LSTMCell",
    "stacked": "stacked cells (model.layers, model.stacked_cell)",
}


class CellPicker(Dialog[str | None]):
    """Dismisses with the chosen cell, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: str, running: bool) -> None:
        super().__init__()
        self.current = current
        self.cells = [cell for cell in CELL_KINDS if cell != current]
        self.running = running

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(
                f"A/B: the same run with another cell than {self.current}", classes="dialog-title"
            )
            options = [
                Option(Text.assemble((cell, "bold"), "  ", (CELL_NOTES[cell], "dim")), id=cell)
                for cell in self.cells
            ]
            yield OptionList(*options, id="cell-list")
            when = "starts now beside the running one" if self.running else "starts with it"
            yield Label(
                f"Same data and seed; it {when}, and both curves share the chart.",
                classes="dialog-hint",
            )
            yield Label("enter: start · escape: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        option_list.highlighted = 0
        option_list.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_id)

    def action_cancel(self) -> None:
        self.dismiss(None)
