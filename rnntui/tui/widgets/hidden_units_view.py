"""Hidden units over the data: one unit's activation at every step of the task's excerpt.

For text, each character of the excerpt is coloured by the unit (red positive, blue negative):
char-rnn's picture of a cell that tracks quotes or line length. For bit tasks (echo, count) the
bits are drawn with the unit's colour in a row under them. The units are listed strongest first
(by their standard deviation over the excerpt); ↑/↓ choose one, `t` switches the state listed
(h, c, h2 ..., or all; h first: c is unbounded and would crowd the list).

The activations come from `rnntui.analysis.hidden_units` on a `Replica` of the model, computed
in a thread worker from weights the app hands over (a live run's, a finished run's, or the
untrained model's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.color import Color
from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

NEUTRAL = (40, 40, 40)
POSITIVE = (230, 90, 50)
NEGATIVE = (50, 120, 230)
MAX_TEXT_ROWS = 10
MAX_SEGMENTS = 6
BIT_LABELS = frozenset({"0", "1"})


def unit_colour(value: float, scale: float) -> Color:
    """Grey at 0, toward red (positive) or blue (negative) at |value| = scale."""
    t = max(-1.0, min(1.0, value / scale)) if scale > 0 else 0.0
    end = POSITIVE if t >= 0 else NEGATIVE
    a = abs(t)
    rgb = [round(n + (e - n) * a) for n, e in zip(NEUTRAL, end, strict=True)]
    return Color.from_rgb(*rgb)


def colour_scale(state: str, values: Any) -> float:
    """h-like states are tanh-bounded: scale 1; c grows without bound: its own largest |value|."""
    peak = float(abs(values).max()) if len(values) else 1.0
    return max(peak, 1e-6) if state.startswith("c") else 1.0


class HiddenUnitsView(Widget, can_focus=True):
    """The excerpt coloured by one hidden unit; `show_trace` sets what it draws."""

    DEFAULT_CSS = """
    HiddenUnitsView { height: auto; margin-top: 1; }
    HiddenUnitsView:focus { background: $boost; }
    """
    BINDINGS = [
        Binding("down,j", "unit(1)", "Next unit", key_display="↓"),
        Binding("up,k", "unit(-1)", "Previous unit", key_display="↑"),
        Binding("t", "next_state", "h/c", tooltip="list the units of one state (h, c, ...)"),
    ]

    @dataclass
    class Traced(Message):
        """A background trace finished (`trace` None: `error` says why)."""

        request: int
        trace: Any
        label: str
        error: str = ""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.trace: Any = None  # rnntui.analysis.hidden_units.UnitTrace
        self.label = ""  # where the weights came from
        self.index = 0
        self.state_filter: str | None = None  # a state's name, "" = all, None = the first
        self.picked = False  # the user chose a unit: keep it when the trace is redrawn
        self.note = "Hidden units: they appear once TensorFlow has loaded."
        self._request = 0
        # runs the TensorFlow work: the app's helper process (`TensorFlowProcess`, or
        # `helper_jobs.InProcess` outside the app); None until TensorFlow has loaded
        self.helper: Any = None
        self.computing = False

    # --- computing -------------------------------------------------------------------------------

    def compute(self, config: Any, codec: Any, segments: tuple, weights: Any, label: str) -> None:
        """Trace `segments` with `weights` (None: the untrained model) in a worker."""
        if codec is None or not segments:
            return
        self._request += 1
        self.computing = True
        self._trace(self._request, config, codec, segments, weights, label)

    @work(thread=True, exclusive=True, group="hidden-units")
    def _trace(self, request: int, config, codec, segments, weights, label: str) -> None:
        if self.helper is None:
            self.post_message(self.Traced(request, None, label, "TensorFlow has not loaded"))
            return
        try:
            trace = self.helper.trace(config, codec, weights, segments)
        except Exception as error:  # shown in the view; the app carries on
            self.post_message(self.Traced(request, None, label, f"{type(error).__name__}: {error}"))
            return
        self.post_message(self.Traced(request, trace, label))

    def on_hidden_units_view_traced(self, message: Traced) -> None:
        message.stop()
        if message.request != self._request:
            return
        self.computing = False
        if message.trace is None:
            self.note = f"✗ hidden units: {message.error}"
        else:
            chosen = self.chosen if self.picked else None
            self.trace, self.label = message.trace, message.label
            if self.state_filter and self.state_filter not in self.trace.states:
                self.state_filter = None
            # keep the unit the user was looking at, else show the strongest
            keys = [(u.state, u.unit) for u in self.units()]
            if chosen is not None and (chosen.state, chosen.unit) in keys:
                self.index = keys.index((chosen.state, chosen.unit))
            else:
                self.index = 0
        self.refresh(layout=True)

    # --- choosing --------------------------------------------------------------------------------

    @property
    def listed_state(self) -> str:
        """The state whose units are listed ("" = all)."""
        if self.state_filter is None:
            return next(iter(self.trace.states)) if self.trace is not None else ""
        return self.state_filter

    def units(self) -> list:
        if self.trace is None:
            return []
        state = self.listed_state
        return [u for u in self.trace.ranking if not state or u.state == state]

    @property
    def chosen(self) -> Any:
        units = self.units()
        return units[min(self.index, len(units) - 1)] if units else None

    def action_unit(self, delta: int) -> None:
        units = self.units()
        if units:
            self.index = max(0, min(len(units) - 1, self.index + delta))
            self.picked = True
            self.refresh(layout=True)

    def action_next_state(self) -> None:
        if self.trace is None:
            return
        names = [*self.trace.states, ""]
        self.state_filter = names[(names.index(self.listed_state) + 1) % len(names)]
        self.index = 0
        self.picked = True
        self.refresh(layout=True)

    # --- drawing ---------------------------------------------------------------------------------

    def render(self) -> RenderableType:
        unit = self.chosen
        if unit is None:
            return Text(self.note, style="dim")
        trace = self.trace
        values = trace.values(unit.state, unit.unit)
        scale = colour_scale(unit.state, values)
        width = max(10, self.size.width or 78)
        head = Text.assemble(
            ("Hidden unit ", "bold"),
            (unit.label, "bold reverse"),
            (f" std {unit.std:.3f}", ""),
            (f" {self.index + 1}/{len(self.units())}", "dim"),
            (f" · ↑↓ unit · t {self.listed_state or 'all'} ", "dim"),
            ("−", Style(bgcolor=unit_colour(-scale, scale))),
            (" ", Style(bgcolor=unit_colour(0, scale))),
            ("+", Style(bgcolor=unit_colour(scale, scale))),
            (f" ±{scale:.2g}", "dim"),
        )
        source = f"{self.label}{' (updating…)' if self.computing else ''} · strongest "
        strongest = Text(source, style="dim")
        for other in self.units()[:8]:
            style = "bold" if other == unit else "dim"
            strongest.append(f"{other.label} {other.std:.2f} ", style=style)
        strongest.truncate(width, overflow="ellipsis")
        head.truncate(width, overflow="ellipsis")
        if all(label in BIT_LABELS for label in trace.labels):
            body = self._bits(trace, values, scale, width)
        else:
            body = self._characters(trace.labels, values, scale, width)
        return Group(head, strongest, *body)

    def _characters(self, labels, values, scale: float, width: int) -> list[Text]:
        """Each character on its unit's colour, wrapped at `width`, new lines after ↵."""
        rows: list[Text] = [Text()]
        for label, value in zip(labels, values, strict=True):
            style = Style(color="white", bgcolor=unit_colour(float(value), scale))
            if rows[-1].cell_len + len(label) > width:
                rows.append(Text())
            rows[-1].append(label, style)
            if label == "↵":
                rows.append(Text())
            if len(rows) > MAX_TEXT_ROWS:
                return rows[:MAX_TEXT_ROWS]
        return rows

    def _bits(self, trace, values, scale: float, width: int) -> list[Text]:
        """Bits on one row, the unit's colour as a bar of cells under them."""
        rows: list[Text] = []
        begin = 0
        for length in trace.lengths[:MAX_SEGMENTS]:
            for start in range(begin, begin + length, width):
                end = min(start + width, begin + length)
                bits = Text("".join(trace.labels[start:end]))
                under = Text()
                for value in values[start:end]:
                    under.append("█", Style(color=unit_colour(float(value), scale)))
                rows += [bits, under]
            begin += length
        return rows
