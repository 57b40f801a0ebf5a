"""The probe pane: what the network learned (effect per lag against the truth) and how far back
truncated backpropagation lets gradients reach.

The trainer measures (engine/probes.py) between chunks while this pane shows, a few times a
second at most, and the app hands each `ProbeResult` here; the pane only draws. The bars are
text: one column group per lag, half-block resolution, so they scale with the pane and cost
nothing to draw. `g` switches between the two views when only one fits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

from rnntui.engine.events import GradientReach, LagEffect, ProbeResult

AXIS_WIDTH = 7  # "+0.50 ┤"
MODEL_STYLE = "bold rgb(95,215,255)"
TRUE_STYLE = "bold rgb(215,175,0)"
TRUNCATED_STYLE = "rgb(95,215,255)"
FULL_STYLE = "rgb(175,135,175)"
CUT_STYLE = "rgb(215,95,95)"
BOTH_VIEWS_HEIGHT = 26  # from this many rows both views show at once
DECADES = 3  # the gradient-reach axis spans this many powers of ten below its largest bar


class ProbePane(Widget, can_focus=True):
    """Bars per lag: the model's effect of X[t-k] on P(Y_t=1), the true effect marked; or the
    gradient reach, truncated beside full backpropagation."""

    def __init__(self, *, id: str | None = None, classes: str = "") -> None:
        super().__init__(id=id, classes=classes)
        self.result: ProbeResult | None = None
        self.truth: dict[int, float] = {}  # the task's true effect per lag, from its config
        self.num_steps = 0
        self.problem = ""  # why this task cannot be probed ("" when it can)
        self.view = "lags"  # or "gradients"; both show on a tall pane
        self.updates = 0

    def show_task(self, truth: dict[int, float], num_steps: int, problem: str = "") -> None:
        """The settings' truth, drawn before (and beside) any measurement."""
        if (dict(truth), num_steps, problem) == (self.truth, self.num_steps, self.problem):
            return  # the settings form reports every keystroke; most change nothing here
        self.truth, self.num_steps, self.problem = dict(truth), num_steps, problem
        if self.result is not None and len(self.result.lags) != len(truth):
            self.result = None  # measured for other settings
        self.refresh()

    def show_result(self, result: ProbeResult) -> None:
        self.result = result
        self.num_steps = result.num_steps or self.num_steps
        self.truth = {e.lag: e.true for e in result.lags}
        self.updates += 1
        self.refresh()

    def clear_result(self) -> None:
        self.result = None
        self.refresh()

    @property
    def wants_gradients(self) -> bool:
        """The gradient reach is on screen (so worth tracing and measuring)."""
        return self.view == "gradients" or self.size.height >= BOTH_VIEWS_HEIGHT

    def toggle_view(self) -> str:
        self.view = "gradients" if self.view == "lags" else "lags"
        self.refresh()
        return self.view

    # --- drawing ---------------------------------------------------------------------------------

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        if self.problem:
            return Text(self.problem, style="dim")
        if not self.truth:
            return Text("(the probe appears once the settings are valid)", style="dim")
        if width < AXIS_WIDTH + 12 or height < 8:
            return Text("(too small for the probe)", style="dim")
        if height >= BOTH_VIEWS_HEIGHT:
            top = height // 2
            out = self._lags_view(width, top)
            out.append("\n")
            out.append_text(self._reach_view(width, height - top - 1))
            return out
        if self.view == "gradients":
            return self._reach_view(width, height)
        return self._lags_view(width, height)

    def _lags_view(self, width: int, height: int) -> Text:
        result = self.result
        lags = result.lags if result else tuple(LagEffect(k, 0.0, t) for k, t in self.truth.items())
        where = f"step {result.step:,}" if result else "not trained yet"
        # a series measures its forecast's response, beside a linear AR (ProbeResult.reference)
        reference = (result.reference if result else "") or "true"
        measures = (result.measures.split(",")[0] if result and result.measures else "") or (
            "effect of X[t-k] on P(Y_t=1)"
        )
        out = Text()
        out.append(f"{measures}  ", style="bold")
        out.append("█ model ", style=MODEL_STYLE)
        out.append(f"◀ {reference}", style=TRUE_STYLE)
        out.append(f"  {where}\n", style="dim")
        out.append_text(lag_bars(lags, width, height - 3, measured=result is not None))
        out.append("\n")
        out.append_text(
            true_lag_line(lags, measured=result is not None, width=width, reference=reference)
        )
        return out

    def _reach_view(self, width: int, height: int) -> Text:
        out = Text()
        out.append("gradient reach |dloss_t/dx_t-k| (log)  ", style="bold")
        out.append("█ truncated ", style=TRUNCATED_STYLE)
        out.append("█ full", style=FULL_STYLE)
        reach = self.result.gradient_reach if self.result else ()
        if not reach:
            waiting = "measured while training" if self.result is None else "being prepared"
            out.append(f"\n({waiting}: gradients of loss_t over the probe sequence)", style="dim")
            return out
        out.append("\n")
        out.append_text(reach_bars(reach, self.num_steps, width, height - 3))
        out.append("\n")
        cut = f"num_steps {self.num_steps}: truncation cuts every lag k ≥ {self.num_steps}"
        out.append(cut[:width], style=CUT_STYLE)
        return out


def _column_width(count: int, width: int, most: int = 3) -> int:
    return max(1, min(most, (width - AXIS_WIDTH) // max(count, 1)))


def lag_bars(lags: Sequence[LagEffect], width: int, height: int, measured: bool = True) -> Text:
    """Signed bars, zero in the middle: the model's effect per lag, ◀ at the true effect."""
    half = max(1, (height - 2) // 2)  # rows above (and below) the zero line
    largest = max([abs(e.effect) for e in lags] + [abs(e.true) for e in lags] + [0.05])
    scale = _nice(largest)
    column = _column_width(len(lags), width)
    rows: list[Text] = []
    for row in range(half, -half - 1, -1):  # +half .. 0 .. -half
        line = Text()
        if row == half:
            line.append(f"{scale:+.2f} ┤", style="dim")
        elif row == 0:
            line.append(" 0.00 ┼", style="dim")
        elif row == -half:
            line.append(f"{-scale:+.2f} ┤", style="dim")
        else:
            line.append("      │", style="dim")
        for e in lags:
            cell = _bar_cell(e.effect, scale, half, row) if measured else " "
            if row == 0 and cell == " ":
                cell = "─"
            line.append(cell, style=MODEL_STYLE if cell not in " ─" else "dim")
            if column >= 2:
                true_row = round(e.true / scale * half)
                marker = "◀" if e.true != 0 and true_row == row else ("─" if row == 0 else " ")
                line.append(marker, style=TRUE_STYLE if marker == "◀" else "dim")
            if column >= 3:
                line.append("─" if row == 0 else " ", style="dim")
        rows.append(line)
    rows.append(_lag_axis([e.lag for e in lags], column))
    return Text("\n").join(rows)


def _bar_cell(value: float, scale: float, half: int, row: int) -> str:
    """The character of a signed bar in `row` (positive rows above 0, negative below)."""
    level = value / scale * half  # in rows, signed
    if row > 0:
        if level >= row:
            return "█"
        return "▄" if level >= row - 0.5 else " "
    if row < 0:
        if level <= row:
            return "█"
        return "▀" if level <= row + 0.5 else " "
    return " "


def _lag_axis(lags: Sequence[int], column: int, cut: int | None = None) -> Text:
    """Lag numbers under their columns, each where it fits without touching its neighbour;
    from `cut` on in the truncation colour."""
    buffer = [" "] * (len(lags) * column)
    free = 0  # the first position a label may start at
    for i, lag in enumerate(lags):
        label, start = str(lag), i * column
        if start >= free and start + len(label) <= len(buffer):
            buffer[start : start + len(label)] = label
            free = start + len(label) + 1
    text = "".join(buffer)
    line = Text(" " * AXIS_WIDTH)
    boundary = len(text) if cut is None else sum(1 for lag in lags if lag < cut) * column
    line.append(text[:boundary], style="dim")
    line.append(text[boundary:], style=CUT_STYLE)
    return line


def true_lag_line(
    lags: Sequence[LagEffect], measured: bool, width: int, reference: str = "true"
) -> Text:
    """The lags the output depends on: the model's effect beside the truth (or reference)."""
    parts = []
    for e in lags:
        if e.true:
            model = f"{e.effect:+.3f}" if measured else "?"
            parts.append(f"lag {e.lag}: {model} ({reference} {e.true:+.3f})")
    if not parts:
        return Text("no lag in the task's output: every true effect is 0", style="dim")
    return Text("   ".join(parts)[:width])


def reach_bars(reach: Sequence[GradientReach], num_steps: int, width: int, height: int) -> Text:
    """Two bars per lag on a log axis: truncated (zero from num_steps on) and full backprop."""
    rows_count = max(2, height - 1)
    largest = max([g.full for g in reach] + [g.truncated for g in reach] + [1e-12])
    top = math.ceil(math.log10(largest))
    bottom = top - DECADES
    column = _column_width(len(reach), width)

    def level(value: float) -> float:
        if value <= 0:
            return 0.0
        return max(0.0, (math.log10(value) - bottom) / DECADES * rows_count)

    rows: list[Text] = []
    for row in range(rows_count, 0, -1):
        line = Text()
        if row == rows_count:
            line.append(f"{f'1e{top}':>5} ┤", style="dim")
        elif row == 1:
            line.append(f"{f'1e{bottom}':>5} ┤", style="dim")
        else:
            line.append("      │", style="dim")
        for g in reach:
            for value, style in ((g.truncated, TRUNCATED_STYLE), (g.full, FULL_STYLE))[:column]:
                height_rows = level(value)
                cell = "█" if height_rows >= row else ("▄" if height_rows >= row - 0.5 else " ")
                line.append(cell, style=style)
            if column >= 3:
                line.append(" ")
        rows.append(line)
    zero = Text("    0 ┼", style="dim")
    for g in reach:
        marks = ("·" if g.truncated == 0 else "─", "·" if g.full == 0 else "─")[: min(column, 2)]
        zero.append("".join(marks), style=CUT_STYLE if g.truncated == 0 else "dim")
        if column >= 3:
            zero.append("─", style="dim")
    rows.append(zero)
    rows.append(_lag_axis([g.lag for g in reach], column, cut=num_steps))
    return Text("\n").join(rows)


def _nice(value: float) -> float:
    """The smallest of 0.1, 0.25, 0.5, 1 (x 10^k) at or above `value`."""
    exponent = math.floor(math.log10(value))
    for mantissa in (1.0, 2.5, 5.0, 10.0):
        if mantissa * 10**exponent >= value - 1e-12:
            return mantissa * 10**exponent
    return 10.0 ** (exponent + 1)
