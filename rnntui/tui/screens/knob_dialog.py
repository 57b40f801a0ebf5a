"""Change the learning rate or the gradient clip of a run while it trains."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from rnntui.config import Config, ConfigError, set_value
from rnntui.tui.screens.dialog import Dialog

# (train.* key, label, hint) of every knob a run can change while it trains (Trainer.KNOBS)
KNOB_FIELDS = (
    ("learning_rate", "learning rate", "e.g. 0.05"),
    ("clip_norm", "clip norm", "gradient norm cap; 0 = off"),
)


class KnobDialog(Dialog[dict[str, float] | None]):
    """Asks for new knob values; dismisses with the ones that changed, checked as the config
    checks them (one line under the field when a value is not allowed)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: dict[str, float], run_label: str) -> None:
        super().__init__()
        self.current = dict(current)
        self.run_label = run_label

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(f"Change {self.run_label} while it trains", classes="dialog-title")
            for key, label, hint in KNOB_FIELDS:
                yield Label(f"{label} ({hint})", classes="dialog-hint")
                yield Input(f"{self.current.get(key, 0.0):g}", id=f"knob-{key}", compact=True)
            yield Static(id="knob-note", classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply", id="apply", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#knob-learning_rate", Input).focus()
        self._check()

    def _values(self) -> tuple[dict[str, float], str]:
        """The changed knobs, and the first problem ("" when every value is allowed)."""
        changed: dict[str, float] = {}
        scratch = Config()
        for key, _, _ in KNOB_FIELDS:
            text = self.query_one(f"#knob-{key}", Input).value.strip()
            try:
                value = float(text)
            except ValueError:
                return {}, f"train.{key}: '{text}' is not a number"
            try:
                set_value(scratch, f"train.{key}", value)
            except ConfigError as error:
                return {}, str(error)
            if value != self.current.get(key):
                changed[key] = value
        return changed, ""

    @on(Input.Changed)
    def _check(self) -> None:
        changed, problem = self._values()
        note = self.query_one("#knob-note", Static)
        if problem:
            note.update(f"[b $error]✗ {problem}[/]")
        elif changed:
            note.update("applies from the next chunk, marked on the chart at its step")
        else:
            note.update("nothing changed yet")
        self.query_one("#apply", Button).disabled = bool(problem) or not changed

    @on(Input.Submitted)
    @on(Button.Pressed, "#apply")
    def _apply(self) -> None:
        changed, problem = self._values()
        if not problem and changed:
            self.dismiss(changed)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
