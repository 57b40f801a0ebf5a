"""Open a preset: the bundled ones and the user's, or any TOML file by path."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from rnntui.config import describe_presets


class PresetPicker(ModalScreen[Path | None]):
    """Dismisses with the chosen preset's path, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: str = "") -> None:
        super().__init__()
        self.current = current
        self.rows = describe_presets()

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label("Open a preset", classes="dialog-title")
            options = []
            for name, description, path in self.rows:
                prompt = Text.assemble((name, "bold"), "  ", (description, "dim"))
                options.append(Option(prompt, id=str(path)))
            yield OptionList(*options, id="preset-list")
            with Horizontal(classes="dialog-row"):
                yield Label("or a file ", classes="dialog-hint")
                yield Input(placeholder="path/to/preset.toml", id="preset-path", compact=True)
            yield Label("enter: open · tab: next field · escape: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        names = [name for name, _, _ in self.rows]
        if self.current in names:
            option_list.highlighted = names.index(self.current)
        elif names:
            option_list.highlighted = 0
        option_list.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(Path(event.option_id) if event.option_id else None)

    @on(Input.Submitted, "#preset-path")
    def _path_entered(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text:
            self.dismiss(Path(text).expanduser())

    def action_cancel(self) -> None:
        self.dismiss(None)
