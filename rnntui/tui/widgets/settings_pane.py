"""The settings form: every config value, checked as you type.

Each field is parsed and checked with the config module's own rules (`set_value`, then
`check_consistency`), so the form, the CLI's `--set` and a preset file reject exactly the same
values with the same reasons. A rejected value is flagged under its field and Start stays disabled;
the last valid value is kept in the config meanwhile.

Below the config, a "Run" section holds the app's own options, which are not part of a preset:
TensorBoard scalars (greyed out with the reason when the package is missing) and where run folders
are written.
"""

from __future__ import annotations

import re
import tomllib
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from rnntui.config import (
    CELL_KINDS,
    OPTIMIZERS,
    RULES,
    STACKABLE_CELLS,
    XLA_MODES,
    Config,
    ConfigError,
    check_consistency,
    field_types,
    set_value,
)
from rnntui.tasks.base import Setting
from rnntui.tasks.registry import TASK_KINDS, task_class


@dataclass(frozen=True)
class FieldSpec:
    """One row of the form. `only` says when it shows: "" always, "task" when the chosen task
    uses the key (its `settings`), "stacked"/"single" for the model's shape."""

    key: str
    label: str
    choices: tuple[str, ...] = ()
    only: str = ""
    hint: str = ""
    picker: str = ""  # "path": a browse button beside the field and a note under it


def _task_settings() -> dict[str, Setting]:
    """Every task's settings by key (the first task to declare a key labels it)."""
    found: dict[str, Setting] = {}
    for kind in TASK_KINDS:
        for setting in task_class(kind).settings:
            found.setdefault(setting.key, setting)
    return found


TASK_SETTINGS = _task_settings()
COMMON_TRAINING = (
    FieldSpec("train.batch_size", "batch size"),
    FieldSpec("train.epochs", "epochs"),
    FieldSpec("train.optimizer", "optimizer", OPTIMIZERS),
    FieldSpec("train.learning_rate", "learning rate"),
    FieldSpec("train.clip_norm", "clip norm", hint="gradient norm cap; 0 = off"),
    FieldSpec("train.seed", "seed"),
    FieldSpec("train.chunk", "windows/call", hint="windows per compiled call (0 = auto)"),
    FieldSpec("train.xla", "XLA", XLA_MODES, hint="auto: XLA when the run repays its compile"),
)


def _task_fields(section: str) -> tuple[FieldSpec, ...]:
    return tuple(
        FieldSpec(s.key, s.label, only="task", hint=s.hint, picker=s.picker)
        for s in TASK_SETTINGS.values()
        if s.key.startswith(section + ".")
    )


SECTIONS: dict[str, tuple[FieldSpec, ...]] = {
    "Task": (
        FieldSpec(
            "task.kind", "task", TASK_KINDS, hint="; ".join(task_class(k).title for k in TASK_KINDS)
        ),
        *_task_fields("task"),
    ),
    "Model": (
        FieldSpec("model.cell", "cell", CELL_KINDS, hint="raw_rnn is the tutorial's raw-op cell"),
        FieldSpec("model.state_size", "state size", only="single"),
        FieldSpec("model.layers", "layer sizes", only="stacked", hint="like 4, 5"),
        FieldSpec("model.stacked_cell", "stacked cell", STACKABLE_CELLS, only="stacked"),
        FieldSpec(
            "model.embedding", "embedding", hint="ids -> learned vectors of this size; 0 = one-hot"
        ),
    ),
    "Training": (*_task_fields("train"), *COMMON_TRAINING),
}
FIELDS: tuple[FieldSpec, ...] = tuple(spec for specs in SECTIONS.values() for spec in specs)


MAY_BE_EMPTY = ("task.time", "task.inputs", "task.target")  # empty means "the default"


def widget_id(key: str) -> str:
    return key.replace(".", "--")


def format_value(key: str, value: Any) -> str:
    """The text a field shows for a config value."""
    if key == "task.lags":
        return ", ".join(f"{int(lag)}:{effect:g}" for lag, effect in value)
    if key == "model.layers":
        return ", ".join(str(size) for size in value)
    if key in ("task.target", "task.inputs"):  # column names, as "load, temp"
        return ", ".join(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def parse_text(key: str, text: str) -> Any:
    """Turn a field's text into a value for `set_value`; ConfigError when it cannot be read."""
    text = text.strip()
    kind = field_types()[key]
    if not text and key in MAY_BE_EMPTY:
        return text  # the default: no time column, every numeric column, the only one
    if not text:
        rule = RULES.get(key)
        raise ConfigError("is empty; " + (f"use {rule.describe(kind)}" if rule else "fill it"), key)
    if text.startswith("["):
        try:
            return tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            raise ConfigError(f"'{text}' is not a valid list", key) from None
    if key == "task.lags":
        pairs = []
        for token in re.split(r"[,\s]+", text):
            lag, sep, effect = token.partition(":")
            try:
                pairs.append([int(lag), float(effect)])
            except ValueError:
                raise ConfigError(
                    f"'{token}' is not lag:effect; write pairs like 3:0.5, 8:-0.25", key
                ) from None
            if not sep:
                raise ConfigError(f"'{token}' has no ':'; write pairs like 3:0.5", key)
        return pairs
    if key == "model.layers":
        try:
            return [int(size) for size in re.split(r"[,\s]+", text)]
        except ValueError:
            raise ConfigError(
                f"'{text}' is not a list of sizes; write them like 4, 5", key
            ) from None
    if kind in (int, float):
        for convert in (int, float):
            try:
                return convert(text.replace("_", ""))
            except ValueError:
                pass
        noun = "an integer" if kind is int else "a number"
        raise ConfigError(f"'{text}' is not {noun}; use {RULES[key].describe(kind)}", key)
    return text


class SettingsPane(VerticalScroll):
    """Edit a Config; posts `SettingsPane.Changed` with the checked result after every edit."""

    @dataclass
    class Changed(Message):
        """The settings changed; `errors` maps a key to its reason (empty when it can run)."""

        config: Config
        errors: dict[str, str]

    @dataclass
    class BrowseRequested(Message):
        """The browse button beside a path field was pressed."""

        key: str
        current: str

    def __init__(
        self,
        config: Config,
        *,
        runs_dir: str = "",
        tensorboard_problem: str = "",
        id: str | None = None,
        classes: str = "",
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._config = deepcopy(config)
        self.errors: dict[str, str] = {}
        self.runs_dir = runs_dir
        self.locked = False  # while a run trains (`set_locked`)
        self._greying: list = []  # editors still to (un)grey, one per frame
        self.tensorboard_problem = tensorboard_problem  # why it cannot be used ("" when it can)

    @property
    def tensorboard(self) -> bool:
        """Whether the next run also writes TensorBoard scalars."""
        box = self.query_one("#tensorboard", Checkbox)
        return box.value and not self.tensorboard_problem

    @property
    def config(self) -> Config:
        """A copy of the current (last valid) settings."""
        return deepcopy(self._config)

    def compose(self) -> ComposeResult:
        yield Static(id="preset-title")
        with Horizontal(id="run-controls"):
            yield Button("▶ Start", id="start", variant="success", compact=True, action="app.start")
            yield Static(id="validity")
        types = field_types()
        for title, specs in SECTIONS.items():
            yield Label(title, classes="section-title")
            for spec in specs:
                section, name = spec.key.split(".")
                value = getattr(getattr(self._config, section), name)
                with Vertical(classes="field", id=f"field-{widget_id(spec.key)}"):
                    with Horizontal(classes="field-row"):
                        yield Label(
                            spec.label, classes="field-label", id=f"label-{widget_id(spec.key)}"
                        )
                        yield self._editor(spec, value, types[spec.key])
                        if spec.picker:
                            yield Button("browse", id=f"browse-{widget_id(spec.key)}", compact=True)
                    yield Static("", classes="field-error", id=f"error-{widget_id(spec.key)}")
                    if spec.picker:
                        yield Static("", classes="field-info", id=f"note-{widget_id(spec.key)}")
        yield from self._run_options()

    def _run_options(self) -> ComposeResult:
        yield Label("Run", classes="section-title")
        with Vertical(classes="field", id="field-tensorboard"):
            with Horizontal(classes="field-row"):
                yield Label("TensorBoard", classes="field-label")
                box = Checkbox(
                    "scalars",
                    compact=True,
                    id="tensorboard",
                    disabled=bool(self.tensorboard_problem),
                )
                box.tooltip = Text(self.tensorboard_problem or "also write scalars to run/tb")
                yield box
            problem = Static(f"✗ {self.tensorboard_problem}", classes="field-note", markup=False)
            problem.display = bool(self.tensorboard_problem)
            yield problem
        with Horizontal(classes="field-row", id="field-runs-dir"):
            yield Label("runs folder", classes="field-label")
            yield Static(self.runs_dir, id="runs-dir-path", markup=False)

    def _editor(self, spec: FieldSpec, value: Any, kind: type):
        tooltip = spec.hint or ""
        rule = RULES.get(spec.key)
        if rule and not spec.choices:
            tooltip = f"{tooltip}\n{rule.describe(kind)}".strip()
        if spec.choices:
            editor = Select(
                [(choice, choice) for choice in spec.choices],
                value=value,
                allow_blank=False,
                compact=True,
                id=widget_id(spec.key),
                name=spec.key,
            )
        else:
            editor = Input(
                format_value(spec.key, value), compact=True, id=widget_id(spec.key), name=spec.key
            )
        editor.tooltip = tooltip or None
        return editor

    def on_mount(self) -> None:
        self._check()

    # --- loading and reading ---------------------------------------------------------------------

    def load(self, config: Config) -> None:
        """Show `config` in every field (a preset was opened or the settings were reset)."""
        self._config = deepcopy(config)
        with self.prevent(Input.Changed, Select.Changed, Checkbox.Changed):
            for spec in FIELDS:
                section, name = spec.key.split(".")
                value = getattr(getattr(config, section), name)
                editor = self.query_one(f"#{widget_id(spec.key)}")
                if isinstance(editor, Input):
                    editor.value = format_value(spec.key, value)
                    editor.cursor_position = 0
                else:
                    editor.value = value
        self._check()

    def set_title(self, name: str, description: str) -> None:
        text = f"[b]{name or 'custom'}[/b]"
        if description:
            text += f"  [dim]{description}[/dim]"
        self.query_one("#preset-title", Static).update(text)

    # --- checking --------------------------------------------------------------------------------

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _edited(self, event: Message) -> None:
        event.stop()
        if getattr(event.control, "id", None) != "tensorboard":  # an app option, not the config
            self._check()

    def _raw_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for spec in FIELDS:
            editor = self.query_one(f"#{widget_id(spec.key)}")
            values[spec.key] = editor.value
        return values

    def _check(self) -> None:
        """Parse every field into the config, flag the visible problems, post Changed."""
        raw = self._raw_values()
        config = deepcopy(self._config)
        visible = self._visible_keys(raw["task.kind"], raw["model.cell"])
        self._label_for(raw["task.kind"])
        errors: dict[str, str] = {}
        for spec in FIELDS:
            try:
                value = raw[spec.key]
                if isinstance(value, str) and not spec.choices:
                    value = parse_text(spec.key, value)
                set_value(config, spec.key, value)
            except ConfigError as err:
                if spec.key in visible:
                    errors[spec.key] = err.reason
        if not errors:
            try:
                check_consistency(config)
            except ConfigError as err:
                errors[err.key or "train.batch_size"] = err.reason
        self._config = config
        self.errors = errors
        self._show(visible, errors)
        self.post_message(self.Changed(deepcopy(config), dict(errors)))

    def _label_for(self, kind: str) -> None:
        """A key several tasks use is labelled as the chosen task names it (task.path: a text's
        "text", a series' "CSV file")."""
        if kind not in TASK_KINDS:
            return
        for setting in task_class(kind).settings:
            label = self.query_one(f"#label-{widget_id(setting.key)}", Label)
            if str(label.content) != setting.label:
                label.update(setting.label)
                self.query_one(f"#{widget_id(setting.key)}").tooltip = setting.hint or None

    @staticmethod
    def _visible_keys(kind: str, cell: str) -> set[str]:
        """The keys that apply to this task and model (the others are hidden, not checked)."""
        used = {setting.key for setting in task_class(kind).settings}
        shape = "stacked" if cell == "stacked" else "single"
        return {
            spec.key
            for spec in FIELDS
            if spec.only in ("", shape) or (spec.only == "task" and spec.key in used)
        }

    def _show(self, visible: set[str], errors: dict[str, str]) -> None:
        for spec in FIELDS:
            self.query_one(f"#field-{widget_id(spec.key)}").display = spec.key in visible
        for spec in FIELDS:
            reason = errors.get(spec.key, "")
            label = self.query_one(f"#error-{widget_id(spec.key)}", Static)
            label.update(f"↑ {reason}" if reason else "")
            label.display = bool(reason)
            self.query_one(f"#field-{widget_id(spec.key)}").set_class(bool(reason), "-invalid")
        validity = self.query_one("#validity", Static)
        if errors:
            count = len(errors)
            noun = "problem" if count == 1 else "problems"
            first = next(iter(errors))
            validity.update(f"[b $error]✗ {count} {noun}[/]: {first}")
        else:
            validity.update("[$success]✓ ready[/]")
        self.query_one("#start", Button).disabled = bool(errors) or self.locked

    # --- path fields -----------------------------------------------------------------------------

    @on(Button.Pressed, ".field-row Button")
    def _browse_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        key = (event.button.id or "").removeprefix("browse-").replace("--", ".")
        current = self.query_one(f"#{widget_id(key)}", Input).value
        self.post_message(self.BrowseRequested(key, current))

    def picker_keys(self) -> list[str]:
        """The fields with a file browser (whose notes say what reading the file found)."""
        return [spec.key for spec in FIELDS if spec.picker]

    def set_text(self, key: str, text: str) -> None:
        """Type `text` into a field (it is checked like anything typed)."""
        editor = self.query_one(f"#{widget_id(key)}", Input)
        editor.value = text
        editor.cursor_position = len(text)

    def set_note(self, key: str, text: str, ok: bool = True) -> None:
        """What reading the field's file found: its size, or why it cannot be used."""
        try:
            note = self.query_one(f"#note-{widget_id(key)}", Static)
        except NoMatches:
            return
        note.update(Text(f"{'✓' if ok else '✗'} {text}" if text else ""))
        note.set_class(not ok, "-bad")
        note.display = bool(text)

    def set_locked(self, locked: bool) -> None:
        """Settings cannot change while a run trains (the run keeps the values it started with).

        The lock holds at once (Start, and the focus leaves the pane); the editors grey one per
        frame. Restyling them all at once took 100-250 ms of the UI thread when a run started and
        again when it ended (a class on the whole pane, as before, restyled ~170 widgets), the
        largest stalls `benchmarks/bench_ui` found."""
        self.locked = locked
        focused = self.screen.focused if self.is_attached else None
        if locked and focused is not None and self in focused.ancestors:
            self.screen.set_focus(None)
        self._greying = list(self.query("Input, Select, Checkbox, .field-row Button"))
        self._grey_next()
        for start in self.query("#start").results(Button):  # none once the app is closing
            start.disabled = locked or bool(self.errors)

    def _grey_next(self) -> None:
        """(Un)grey the next editor whose state is behind the lock, then the next after a frame."""
        while self._greying:
            editor = self._greying.pop(0)
            unusable = editor.id == "tensorboard" and bool(self.tensorboard_problem)
            if editor.is_attached and editor.disabled != (self.locked or unusable):
                editor.disabled = self.locked or unusable
                self.call_after_refresh(self._grey_next)
                return

    @property
    def settled(self) -> bool:
        """Every editor shows the lock's state (they grey one per frame)."""
        return not self._greying
