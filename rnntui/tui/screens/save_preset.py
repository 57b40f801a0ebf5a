"""Save the current settings as a preset in the user's preset folder."""

from __future__ import annotations

import re

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from rnntui.config import preset_paths, user_presets_dir
from rnntui.tui.screens.dialog import Dialog

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def name_problem(name: str) -> str:
    """Why `name` cannot be a preset file name ("" when it can)."""
    if not name:
        return "give the preset a name"
    if not NAME_PATTERN.match(name):
        return "use letters, digits, '-', '_' or '.' (up to 64), starting with a letter or digit"
    return ""


class SavePresetDialog(Dialog[tuple[str, str] | None]):
    """Asks for a name and a one-line description; dismisses with (name, description)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, name: str, description: str) -> None:
        super().__init__()
        self.initial_name = name
        self.initial_description = description

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label("Save settings as a preset", classes="dialog-title")
            yield Label("name", classes="dialog-hint")
            yield Input(self.initial_name, id="preset-name", compact=True)
            yield Label("description (one line)", classes="dialog-hint")
            yield Input(self.initial_description, id="preset-description", compact=True)
            yield Static(id="save-note", classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="save", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self._update_note()
        self.query_one("#preset-name", Input).focus()

    @on(Input.Changed, "#preset-name")
    def _update_note(self) -> None:
        name = self.query_one("#preset-name", Input).value.strip()
        problem = name_problem(name)
        note = self.query_one("#save-note", Static)
        if problem:
            note.update(f"[b $error]✗ {problem}[/]")
        else:
            target = user_presets_dir() / f"{name}.toml"
            exists = " (replaces it)" if target.exists() else ""
            shadow = " (hides the bundled preset)" if name in preset_paths() and not exists else ""
            note.update(f"→ {target}{exists}{shadow}")
        self.query_one("#save", Button).disabled = bool(problem)

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        name = self.query_one("#preset-name", Input).value.strip()
        if name_problem(name):
            return
        description = self.query_one("#preset-description", Input).value.strip()
        self.dismiss((name, description))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
