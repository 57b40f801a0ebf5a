"""Step an LSTM cell by hand: gates i, f, g, o and state c, h per unit, checked against NumPy.

The whole sequence is computed once, off the UI thread (`lstm_inspect.inspect_lstm`, which needs
TensorFlow: the app runs it in its TensorFlow helper process); stepping forward and back only
changes which timestep is shown. The cell is a fresh seeded one, or the first LSTM layer of the
last trained run when there is one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

DEFAULT_INPUT = "3,2,2,3,2,2"  # seed 003's single step
AGREEMENT_TOLERANCE = 1e-5
GATES = (
    ("i", "input"),
    ("f", "forget"),
    ("g", "candidate"),
    ("o", "output"),
    ("c", "cell state"),
    ("h", "hidden"),
)
BLOCKS = " ▏▎▍▌▋▊▉█"


def bar(value: float, scale: float, width: int) -> Text:
    """A horizontal bar of |value|/scale, green when positive, red when negative."""
    if width <= 0:
        return Text()
    eighths = int(round(min(abs(value) / scale, 1.0) * width * 8)) if scale > 0 else 0
    full, part = divmod(eighths, 8)
    body = "█" * full + (BLOCKS[part] if part else "")
    return Text(body.ljust(width), style="green" if value >= 0 else "red")


@dataclass(frozen=True)
class WeightsSource:
    """Trained first-layer LSTM weights and where they came from."""

    weights: tuple
    label: str
    sample_input: str  # an input that fits the weights (e.g. one-hot bits for echo)


class InspectorPane(Vertical, can_focus=True):
    """Edit an input sequence, step the LSTM along it, read every gate and the state.

    The pane itself takes focus (from the `i` key), so ←/→ step at once; tab reaches the input.
    """

    BINDINGS = [
        Binding("left", "step(-1)", "Step back", key_display="←"),
        Binding("right", "step(1)", "Step forward", key_display="→"),
        Binding("t", "toggle_weights", "Trained/fresh", show=False),
    ]

    @dataclass
    class Ready(Message):
        """A background inspection finished (or failed with a one-line `error`)."""

        request: int
        inspection: object | None
        error: str = ""

    def __init__(self, *, id: str | None = None, classes: str = "") -> None:
        super().__init__(id=id, classes=classes)
        self.inspection = None  # rnntui.analysis.lstm_step.Inspection once computed
        self.index = 0
        self.trained: WeightsSource | None = None
        self.use_trained = True
        self.units = 4
        self.seed = 0
        self._request = 0
        self._pending = False
        self.active = False  # set once TensorFlow is ready; before that we only parse
        # what computes an inspection: the app's TensorFlow helper process (this process never
        # imports TensorFlow); None until it has loaded
        self.compute: Callable[..., Any] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="inspector-input-row"):
            yield Label("input ", classes="field-label")
            yield Input(DEFAULT_INPUT, id="inspector-input", compact=True)
        yield Static(
            "[dim]`,` between values · `;` between timesteps · ←/→ step[/]", id="inspector-hint"
        )
        with Horizontal(id="inspector-controls"):
            yield Button("◀ back", id="step-back", compact=True)
            yield Static(id="step-label")
            yield Button("forward ▶", id="step-forward", compact=True)
            yield Button("fresh cell", id="toggle-weights", compact=True)
        yield Static(id="inspector-source")
        yield Static(id="inspector-table")
        yield Static(id="inspector-agreement")

    def on_mount(self) -> None:
        self._show()

    # --- inputs from the app -------------------------------------------------------------------

    def activate(self) -> None:
        """TensorFlow is loaded: compute the current input."""
        self.active = True
        self.recompute()

    def set_fresh_cell(self, units: int, seed: int) -> None:
        if (units, seed) != (self.units, self.seed):
            self.units, self.seed = units, seed
            if not (self.trained and self.use_trained):
                self.recompute()

    def use_weights(self, source: WeightsSource | None) -> None:
        """Show the trained weights of a finished run (None: back to a fresh cell)."""
        self.trained = source
        self.use_trained = source is not None
        if source is not None:
            input_widget = self.query_one("#inspector-input", Input)
            if not self._fits(input_widget.value, source):
                with self.prevent(Input.Changed):
                    input_widget.value = source.sample_input
        self.recompute()

    def _fits(self, text: str, source: WeightsSource) -> bool:
        from rnntui.analysis.lstm_gates import parse_inputs

        try:
            rows = parse_inputs(text)
        except ValueError:
            return False
        return len(rows[0]) == len(source.weights[0])

    # --- computing -------------------------------------------------------------------------------

    @on(Input.Changed, "#inspector-input")
    def _input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.recompute()

    def recompute(self) -> None:
        from rnntui.analysis.lstm_gates import parse_inputs

        field = next(iter(self.query("#inspector-input").results(Input)), None)
        if field is None:  # the app is closing and the pane's widgets are going
            return
        try:
            inputs = parse_inputs(field.value)
        except ValueError as error:
            self._error(str(error))
            return
        weights = self.trained.weights if (self.trained and self.use_trained) else None
        if weights is not None and len(inputs[0]) != len(weights[0]):
            self._error(
                f"the trained LSTM takes {len(weights[0])} values per timestep "
                f"(e.g. {self.trained.sample_input}); press t for a fresh cell"
            )
            return
        if not self.active:
            self._status("waiting for TensorFlow to load…")
            return
        self._request += 1
        self._pending = True
        self._status("computing…")
        self._inspect(self._request, inputs, self.units, self.seed, weights)

    @work(thread=True, exclusive=True, group="inspector")
    def _inspect(self, request: int, inputs, units: int, seed: int, weights) -> None:
        compute = self.compute
        if compute is None:
            self.post_message(self.Ready(request, None, "TensorFlow has not loaded"))
            return
        try:
            result = compute(inputs, units=units, seed=seed, weights=weights)
        except Exception as error:  # shown in the pane; the app carries on
            self.post_message(self.Ready(request, None, f"{type(error).__name__}: {error}"))
            return
        self.post_message(self.Ready(request, result))

    def on_inspector_pane_ready(self, message: Ready) -> None:
        message.stop()
        if message.request != self._request or not self.is_attached:
            return
        self._pending = False
        if message.inspection is None:
            self._error(message.error)
            return
        self.inspection = message.inspection
        self.index = min(self.index, len(self.inspection.steps) - 1)
        self._show()

    # --- actions ---------------------------------------------------------------------------------

    @on(Button.Pressed, "#step-back")
    def _back_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_step(-1)

    @on(Button.Pressed, "#step-forward")
    def _forward_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_step(1)

    @on(Button.Pressed, "#toggle-weights")
    def _toggle_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_toggle_weights()

    def action_step(self, delta: int) -> None:
        if self.inspection is None:
            return
        self.index = max(0, min(len(self.inspection.steps) - 1, self.index + delta))
        self._show()

    def action_toggle_weights(self) -> None:
        if self.trained is None:
            self.notify("No trained LSTM yet: train an lstm or stacked-lstm model first.")
            return
        self.use_trained = not self.use_trained
        if self.use_trained:
            self.use_weights(self.trained)
        else:
            self.recompute()

    # --- drawing ---------------------------------------------------------------------------------

    def on_resize(self) -> None:
        self._show()

    def _status(self, text: str) -> None:
        self._say(Text(text, style="dim"))

    def _error(self, text: str) -> None:
        self._say(Text(f"✗ {text}", style="bold red"))

    def _say(self, text: Text) -> None:
        """The line under the table (status, error or the agreement check)."""
        # none while the app closes (TensorFlow may report ready as the widgets go)
        for line in self.query("#inspector-agreement").results(Static):
            line.update(text)

    def _source_text(self) -> str:
        if self.trained and self.use_trained:
            return f"cell: [b]{self.trained.label}[/b]  [dim](t: fresh cell)[/]"
        extra = "  [dim](t: trained weights)[/]" if self.trained else ""
        return f"cell: [b]fresh LSTM[/b], {self.units} units, seed {self.seed}{extra}"

    def _show(self) -> None:
        if not self.is_mounted:
            return
        self.query_one("#inspector-source", Static).update(self._source_text())
        toggle = self.query_one("#toggle-weights", Button)
        toggle.label = "fresh cell" if (self.trained and self.use_trained) else "trained"
        toggle.display = self.trained is not None
        inspection = self.inspection
        label = self.query_one("#step-label", Static)
        table = self.query_one("#inspector-table", Static)
        if inspection is None:
            label.update(" step –/– ")
            table.update("")
            return
        step = inspection.steps[self.index]
        x = ", ".join(f"{v:g}" for v in step.x)
        label.update(f" step [b]{self.index + 1}[/b]/{len(inspection.steps)}  x = ({x}) ")
        table.update(self._table(inspection, step))
        if not self._pending:
            self._agreement(inspection)

    def _table(self, inspection, step) -> Group:
        width = max(40, self.size.width or 80)
        label_width = 12  # "c cell state"
        number_width = 7  # "+0.1234"
        units = len(step.c)
        room = width - label_width - 1
        # Each unit column: the number, then (room permitting) a space and a bar, then 1 padding.
        per_unit = max(number_width + 1, room // max(units, 1))
        shown = max(1, min(units, room // per_unit))
        bar_width = min(10, per_unit - number_width - 2)
        bar_width = bar_width if bar_width >= 2 else 0
        table = Table(box=None, padding=(0, 1, 0, 0), show_edge=False, header_style="bold dim")
        table.add_column("", no_wrap=True, width=label_width)
        for unit in range(shown):
            table.add_column(f"unit {unit}", no_wrap=True)
        c_scale = max(1.0, max((abs(v) for s in inspection.steps for v in s.c), default=1.0))
        for name, description in GATES:
            values = getattr(step, name)
            scale = c_scale if name == "c" else 1.0
            cells = []
            for unit in range(shown):
                value = values[unit]
                cell = Text(f"{value:+.4f}")
                if bar_width:
                    cell.append(" ")
                    cell.append_text(bar(value, scale, bar_width))
                cells.append(cell)
            style = "bold" if name in ("c", "h") else ""
            table.add_row(Text(f"{name} {description}", style=style), *cells)
        parts: list = [table]
        if shown < units:
            parts.append(Text(f"… {units - shown} more units (widen the terminal)", style="dim"))
        return Group(*parts)

    def _agreement(self, inspection) -> None:
        diff = inspection.max_abs_diff
        if diff <= AGREEMENT_TOLERANCE:
            text = Text.assemble(
                ("✓ NumPy recomputation agrees: ", "bold green"),
                (f"max |difference| {diff:.1e}", ""),
                (f" over {len(inspection.steps)} step(s)", "dim"),
            )
        else:
            text = Text(f"✗ NumPy recomputation differs: max |difference| {diff:.1e}", "bold red")
        self._say(text)
