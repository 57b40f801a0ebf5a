"""Open a preset: the bundled ones and the user's, or any TOML file by path.

A typed path is checked and read in a thread worker, never on the UI thread: it may be a FIFO (an
open that blocks until someone writes), a slow network mount, anything. Only a regular file that
loads as a preset closes the dialog; otherwise the reason shows under the field.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from rnntui.config import ConfigError, check_preset_file, describe_presets, load_file
from rnntui.tui.screens.dialog import Dialog


class PresetPicker(Dialog[Path | None]):
    """Dismisses with the chosen preset's path, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    class PathChecked(Message):
        """A typed path was checked off the UI thread; `problem` is "" when it loads."""

        def __init__(self, path: Path, problem: str) -> None:
            super().__init__()
            self.path = path
            self.problem = problem

    def __init__(self, current: str = "") -> None:
        super().__init__()
        self.current = current
        self.rows = describe_presets()  # every read refuses a FIFO at once (safe_read)

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
            yield Static(id="preset-note", classes="dialog-hint")
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
            self.query_one("#preset-note", Static).update("checking…")
            self._check_path(Path(text).expanduser())

    @work(thread=True, exclusive=True, group="preset-path", exit_on_error=False)
    def _check_path(self, path: Path) -> None:
        try:
            check_preset_file(path)  # names a FIFO or a directory without opening it
            load_file(path)
            problem = ""
        except ConfigError as error:
            problem = str(error)
        self.post_message(self.PathChecked(path, problem))

    @on(PathChecked)
    def _path_checked(self, message: PathChecked) -> None:
        if message.problem:
            self.query_one("#preset-note", Static).update(Text(f"✗ {message.problem}", "red"))
            return
        self.dismiss(message.path)

    def action_cancel(self) -> None:
        self.dismiss(None)
