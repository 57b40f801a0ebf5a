"""The live loss chart (plotext): per-step loss, a smoothed line, baselines and earlier runs.

Points arrive many times a second; the chart only marks itself dirty and redraws on a timer
(4/s), downsampling to about two points per terminal column, so a long run costs the same to draw
as a short one. The drawing itself (plotext) runs on a worker thread, never on the UI thread.
Finished runs of the session, and past runs loaded from their run folders, stay as
faded, labelled curves for comparison; only those of the task shown (`task`) are drawn, since
another task's losses are on another scale (they come back when that task is shown again, `c`
clears them). An A/B companion run trains beside the live one and is drawn over it in its own
colour; the live run's knob changes are vertical marks at their step, a faded run's are small
marks on its own curve. Labels never overwrite each other: one that would is moved a row, or left
out. The smoothing cycles between an EMA, a moving average and the raw points (`cycle_smoothing`);
the raw points always stay, faint, under a smoothed line.

The live and companion curves are `LiveCurve`s (rnntui/runs/live_curve.py): the latest 2^20 steps
exactly, older ones in 512-step blocks, so a run of any length holds bounded memory. Past that cap
the raw points are drawn as each column's min-max range (no spike is lost in a bin's mean).
"""

from __future__ import annotations

import dataclasses
import math
import threading
from dataclasses import dataclass
from typing import Any

import plotext as plt
from rich.text import Text
from textual import work
from textual.message import Message
from textual.widget import Widget

from rnntui.runs.curves import SMOOTHINGS, FinishedCurve
from rnntui.runs.live_curve import BLOCK, EXACT_CAP, CurveView, DrawnLine, LiveCurve
from rnntui.tasks.base import Baseline

REDRAW_INTERVAL_S = 0.25
RAW_COLOR = (70, 100, 140)
SMOOTH_COLOR = (95, 215, 255)
BASELINE_COLOR = (215, 175, 0)
COMPARISON_COLORS = [(150, 150, 150), (120, 120, 120), (175, 135, 175), (135, 175, 135)]
RAW_ONLY_COLOR = (135, 175, 215)  # the raw points when nothing is smoothed
COMPANION_RAW_COLOR = (140, 95, 60)
COMPANION_COLOR = (255, 175, 95)
MARK_COLOR = (215, 95, 215)


class LossChart(Widget):
    """Loss per step of the current run, smoothed, with analytic baselines and earlier runs."""

    def __init__(
        self,
        *,
        id: str | None = None,
        classes: str = "",
        empty_title: str = "loss per step: press s to start training",
        finished_title: str = "finished runs (press s to train again, c clears them)",
        cap: int = EXACT_CAP,
        block: int = BLOCK,
    ) -> None:
        """`empty_title` is what the chart says while it has no curve, `finished_title` while
        it shows only finished curves (the sweep view has no s and no c: it says its own).
        A live curve keeps its latest `cap` steps exactly, older ones in blocks of `block`
        steps (see rnntui/runs/live_curve.py)."""
        super().__init__(id=id, classes=classes)
        self.cap, self.block = cap, block
        self.empty_title = empty_title
        self.finished_title = finished_title
        self.shown_task = ""  # the task kind shown: faded curves of other tasks are not drawn
        self.live_curve = self._new_curve()
        self.total_steps = 0
        self.run_label = ""
        self.baselines: tuple[Baseline, ...] = ()
        self.comparison: list[FinishedCurve] = []
        self.marks: list[tuple[int, str]] = []  # live knob changes: (step, "lr 0.02")
        self.smoothing = SMOOTHINGS[0]
        # the A/B companion run, drawn over the live one
        self.companion_label = ""
        self.companion_curve = self._new_curve()
        self._dirty = False
        self.redraws = 0
        self._drawing: Text | None = None  # the last finished drawing
        self._drawn: tuple = ()  # what it showed (see `_signature`)
        self._drawing_now = False
        self._shown: tuple = ()  # the signature of the drawing on screen

    def on_mount(self) -> None:
        self.set_interval(REDRAW_INTERVAL_S, self._redraw_if_dirty)

    # --- feeding ---------------------------------------------------------------------------------

    def set_baselines(self, baselines: tuple[Baseline, ...]) -> None:
        if tuple(baselines) != self.baselines:
            self.baselines = tuple(baselines)
            self._mark_dirty()

    def _new_curve(self) -> LiveCurve:
        return LiveCurve(self.cap, self.block)

    def start_run(self, label: str, total_steps: int) -> None:
        """Begin a new live curve (the previous one should have been finished or reset)."""
        self.live_curve = self._new_curve()
        self.marks = []
        self.run_label = label
        self.total_steps = total_steps
        self._mark_dirty()

    def add_losses(self, losses: tuple[float, ...]) -> None:
        self.live_curve.add(losses)
        if losses:
            self._mark_dirty()

    @property
    def steps(self) -> int:
        """Steps on the live curve (exact or folded into blocks)."""
        return self.live_curve.steps

    @property
    def losses(self) -> list[float]:
        """The live curve's exactly kept losses, a copy (every step's, up to the cap); prefer
        `steps` for a count."""
        return self.live_curve.view().raw.tolist()

    @property
    def smoothed(self) -> list[float]:
        """The smoothed line of `losses`, a copy."""
        return self.live_curve.view().smoothed.tolist()

    @property
    def companion_losses(self) -> list[float]:
        """The companion curve's exactly kept losses, a copy."""
        return self.companion_curve.view().raw.tolist()

    @property
    def companion_smoothed(self) -> list[float]:
        return self.companion_curve.view().smoothed.tolist()

    @property
    def smoothed_loss(self) -> float | None:
        return self.live_curve.last_smoothed

    def add_mark(self, step: int, label: str) -> None:
        """Mark a live knob change on the live curve at `step`."""
        self.marks.append((int(step), label))
        self._mark_dirty()

    def cycle_smoothing(self) -> str:
        """Switch to the next smoothing (EMA, moving average, raw); returns its label."""
        self.smoothing = SMOOTHINGS[(SMOOTHINGS.index(self.smoothing) + 1) % len(SMOOTHINGS)]
        self._mark_dirty()
        return self.smoothing.label

    def start_companion(self, label: str) -> None:
        """Begin the A/B companion curve (drawn over the live one as both train)."""
        self.companion_label = label
        self.companion_curve = self._new_curve()
        self._mark_dirty()

    def add_companion_losses(self, losses: tuple[float, ...]) -> None:
        self.companion_curve.add(losses)
        if losses:
            self._mark_dirty()

    def finish_companion(self, label: str | None) -> None:
        """Keep the companion as a comparison curve labelled `label` (None drops it)."""
        if label is not None and self.companion_curve.steps:
            self.comparison.append(
                self.companion_curve.view().comparison(label, task=self.shown_task)
            )
        self.companion_label = ""
        self.companion_curve = self._new_curve()
        self._mark_dirty()

    def finish_run(self, label: str) -> None:
        """Keep the live curve as a faded comparison curve labelled `label`."""
        if self.live_curve.steps:
            self.comparison.append(
                self.live_curve.view().comparison(label, self.marks, task=self.shown_task)
            )
        self.live_curve = self._new_curve()
        self.marks = []
        self.run_label = ""
        self._mark_dirty()

    def reset_run(self) -> None:
        """Drop the live curve without keeping it."""
        self.live_curve = self._new_curve()
        self.marks = []
        self.run_label = ""
        self.total_steps = 0
        self._mark_dirty()

    def add_comparison(self, curve: FinishedCurve) -> None:
        """Show a curve from elsewhere (a past run's folder) beside the others."""
        if curve.steps:
            self.comparison.append(curve)
            self._mark_dirty()

    def show_task(self, task: str) -> None:
        """The task whose curves the chart shows (faded curves of other tasks stay hidden)."""
        if task != self.shown_task:
            self.shown_task = task
            self._mark_dirty()

    @property
    def shown_comparison(self) -> list[FinishedCurve]:
        """The faded curves drawn: those of the task shown (or of an unknown task)."""
        return [c for c in self.comparison if _of_task(c, self.shown_task)]

    def shown_curves(self) -> list[tuple[str, tuple[float, ...], tuple[float, ...]]]:
        """(label, steps, losses) of every curve on the chart: the live run per step and its
        smoothed line, then each comparison curve as drawn (smoothed, at most 1,000 points).
        Past the live curve's cap, its folded steps are one row per block (the block's mean, at
        its last step) before the exact steps."""
        curves = []
        if self.live_curve.steps:
            steps, losses, smoothed = self.live_curve.view().rows()
            curves.append((self.run_label, tuple(steps), tuple(losses)))
            curves.append((f"{self.run_label} (smoothed)", tuple(steps), tuple(smoothed)))
        if self.companion_curve.steps:
            steps, losses, _ = self.companion_curve.view().rows()
            curves.append((self.companion_label, tuple(steps), tuple(losses)))
        curves.extend((c.label, c.steps, c.losses) for c in self.shown_comparison)
        return curves

    def clear_comparison(self) -> None:
        self.comparison.clear()
        self._mark_dirty()

    def _mark_dirty(self) -> None:
        self._dirty = True

    # --- drawing ---------------------------------------------------------------------------------

    def _signature(self) -> tuple:
        """What the drawing shows; a change means drawing again."""
        return (
            self.live_curve.steps,
            self.companion_curve.steps,
            self.total_steps,
            self.run_label,
            self.baselines,
            len(self.comparison),
            self.shown_task,
            len(self.marks),
            self.smoothing,
            (self.size.width, self.size.height),
        )

    def _redraw_if_dirty(self) -> None:
        signature = self._signature()
        if (self._dirty or signature != self._drawn) and not self._drawing_now:
            self._dirty = False
            self._drawn = signature
            self._drawing_now = True
            self._draw_in_background(_Frozen.of(self), self.size.width, self.size.height, signature)

    @work(thread=True, group="chart", exit_on_error=False)
    def _draw_in_background(
        self, frozen: _Frozen, width: int, height: int, signature: tuple
    ) -> None:
        """plotext takes ~30 ms for a 160-column chart: on the UI thread that was the app's
        worst lag while training. Here the event loop keeps running (the GIL switches every
        few ms) and the finished drawing is swapped in."""
        try:
            if width < 20 or height < 6:
                drawing = Text("(too small for the chart)", style="dim")
            else:
                with _PLOTEXT:  # plotext keeps one global figure
                    drawing = Text.from_ansi(frozen._build(width, height), no_wrap=True)
        except Exception as error:  # noqa: BLE001 - shown, not lost on a worker that ends quietly
            drawing = Text(f"the chart could not be drawn: {type(error).__name__}: {error}"[:300],
                           style="red")  # fmt: skip
        finally:
            self._drawing_now = False
        self.post_message(self.Drawn(drawing, signature))

    @dataclass
    class Drawn(Message):
        """A drawing finished in the background."""

        drawing: Text
        signature: tuple = ()

    def on_loss_chart_drawn(self, message: Drawn) -> None:
        message.stop()
        self._drawing = message.drawing
        self._shown = message.signature
        self.refresh()

    @property
    def up_to_date(self) -> bool:
        """The drawing on screen shows the chart's data as it is now (snapshot tests wait for
        it: the drawing is made on a thread and swapped in later)."""
        return self._drawing is not None and self._shown == self._signature()

    def on_resize(self) -> None:
        self._redraw_if_dirty()

    def render(self) -> Text:
        self.redraws += 1
        if self._drawing is None:
            self._redraw_if_dirty()
            return Text("drawing…", style="dim")
        return self._drawing

    def _build(self, width: int, height: int) -> str:
        import numpy as np

        plt.clear_figure()
        plt.plotsize(width, height)
        plt.theme("clear")
        bins = max(10, 2 * (width - 10))  # braille: two dots per column

        comparison = [c for c in self.comparison if _of_task(c, self.shown_task)]
        hidden = len(self.comparison) - len(comparison)
        live, companion = self.live_curve, self.companion_curve
        xmax = float(max(self.total_steps, live.steps, companion.steps, 1))
        for curve in comparison:
            if curve.steps:
                xmax = max(xmax, curve.steps[-1])
        values: list[float] = [b.value for b in self.baselines]

        lines = (self.drawn_line(live, bins), self.drawn_line(companion, bins))
        for raw_x, raw_y, _, smooth_y, *_ in lines:
            if raw_x is not None:
                low_line = smooth_y if smooth_y is not None else raw_y
                values += [float(np.min(low_line)), float(np.percentile(raw_y, 98)), raw_y[0]]
        for curve in comparison:
            values += [min(curve.losses), max(curve.losses)]
        finite = [v for v in values if math.isfinite(v)]
        low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
        # Losses spanning decades (count's summed cross-entropy) are drawn on a log axis. The
        # transform is ours (plotext's log scale ignores ylim), with ticks at 1, 2, 5 x 10^k.
        log_scale = low > 0 and high / low > 50
        if log_scale:
            floor = low / 2

            def ty(values):
                return [math.log10(max(v, floor)) for v in values]

            low, high = math.log10(low) - 0.05, math.log10(high) + 0.05
            ticks = log_ticks(low, high)
            plt.yticks(ticks, [f"{10**t:g}" for t in ticks])
        else:

            def ty(values):
                return list(values)

            span = (high - low) or max(abs(high), 1.0) * 0.1
            low, high = low - 0.06 * span, high + 0.06 * span
        plt.ylim(low, high)
        plt.xlim(0, xmax)

        labels: list[Label] = []  # placed last, so that none overwrites another
        for i, curve in enumerate(comparison):
            color = COMPARISON_COLORS[i % len(COMPARISON_COLORS)]
            plt.plot(list(curve.steps), ty(curve.losses), marker="braille", color=color)
            labels.append(Label(3, curve.label, curve.steps[-1], ty(curve.losses[-1:])[0], color))
            for step, text in curve.marks:  # its own knob changes, on its own curve
                at = ty([_value_at(curve, step)])[0]
                labels.append(Label(4, f"▲{text}", step, at, color, "left"))
        for baseline in self.baselines:
            level = ty([baseline.value])[0]
            plt.hline(level, BASELINE_COLOR)
            text = f" {baseline.label} {baseline.value:.4f} "
            labels.append(Label(0, text, xmax * 0.02, level, BASELINE_COLOR, "left"))
        for step, text in self.marks:  # the live run's knob changes
            plt.vline(step, MARK_COLOR)
            labels.append(
                Label(1, f" {text}", step, high - 0.04 * (high - low), MARK_COLOR, "left")
            )
        colors = ((RAW_COLOR, SMOOTH_COLOR), (COMPANION_RAW_COLOR, COMPANION_COLOR))
        for line, (raw_color, color) in zip(lines, colors, strict=True):
            if line.raw_x is None:
                continue
            only_raw = line.smooth_y is None  # "raw": the points themselves are the line
            if line.low is not None:  # past the cap: each bin's range, faint
                _plot_ranges(line, ty, raw_color)
            if line.low is None or only_raw:
                plt.plot(
                    list(line.raw_x),
                    ty(line.raw_y),
                    marker="braille",
                    color=color if only_raw else raw_color,
                )
            if not only_raw:
                plt.plot(list(line.smooth_x), ty(line.smooth_y), marker="braille", color=color)
        if companion.last_smoothed is not None:
            at = ty([companion.last_smoothed])[0]
            labels.append(
                Label(2, f"{self.companion_label} ", companion.steps, at, COMPANION_COLOR)
            )
        for label in place_labels(labels, xmax, low, high, width, height):
            plt.text(label.text, x=label.x, y=label.y, color=label.color, alignment=label.align)

        if live.steps:
            title = f"{self.run_label}  step {live.steps}  smoothed {live.last_smoothed:.4f}"
        elif comparison:
            title = self.finished_title
        else:
            title = self.empty_title
        if hidden:
            title += f"  ({hidden} of another task hidden)"
        plt.title(title)
        if live.steps or companion.steps:
            plt.xlabel(f"{self.smoothing.label} (m cycles)")
        return plt.build()

    def drawn_line(self, curve: LiveCurve | CurveView, bins: int) -> DrawnLine:
        """(raw x, raw y, smoothed x, smoothed y) downsampled for drawing, Nones when empty;
        past the cap also each bin's min and max loss (see rnntui/runs/live_curve.py)."""
        return curve.drawn(bins, self.smoothing)


@dataclass(frozen=True)
class Label:
    """A text on the chart, at (x, y) in data units; a lower `priority` keeps its place."""

    priority: int  # 0 baselines, 1 live knob marks, 2 the companion, 3 faded runs, 4 their marks
    text: str
    x: float
    y: float
    color: tuple[int, int, int]
    align: str = "right"


def place_labels(
    labels: list[Label], xmax: float, low: float, high: float, width: int, height: int
) -> list[Label]:
    """The labels that fit without overwriting one another, in priority order: one that would
    overlap a placed label moves a row up or down, or is left out. Rows and columns are those of
    the plot area (the frame and the axes' ticks take about 9 columns and 5 rows)."""
    cols, rows = max(10, width - 9), max(3, height - 5)
    row_height = (high - low) / max(1, rows - 1)
    taken: list[tuple[int, int, int]] = []  # (row, first column, last column)
    placed = []
    for label in sorted(labels, key=lambda label: label.priority):
        column = round(label.x / xmax * (cols - 1)) if xmax else 0
        first = column - len(label.text) if label.align == "right" else column
        span = (max(0, first), min(cols - 1, first + len(label.text)))
        row = round((high - label.y) / row_height) if row_height else 0
        for shift in (0, -1, 1):
            if not 0 <= row + shift < rows:
                continue
            here = row + shift
            if all(r != here or s[1] < span[0] or s[0] > span[1] for r, *s in taken):
                taken.append((here, *span))
                y = label.y - shift * row_height
                placed.append(dataclasses.replace(label, y=y))
                break
    return placed


def _plot_ranges(line: DrawnLine, ty: Any, color: tuple[int, int, int]) -> None:
    """Each bin's min-max range as a vertical stroke (a zigzag min, max, min, ... in x order),
    so that a spike a bin's mean would hide is drawn."""
    import numpy as np

    keep = np.isfinite(line.low) & np.isfinite(line.high)
    x = np.repeat(line.raw_x[keep], 2)
    y = np.column_stack((line.low[keep], line.high[keep])).ravel()
    plt.plot(x.tolist(), ty(y.tolist()), marker="braille", color=color)


def _of_task(curve: FinishedCurve, task: str) -> bool:
    """Whether a faded curve is drawn while `task` is shown (an unknown task on either side is)."""
    return not (curve.task and task and curve.task != task)


def _value_at(curve: FinishedCurve, step: float) -> float:
    """The faded curve's loss at `step` (its nearest kept point)."""
    import bisect

    index = min(bisect.bisect_left(curve.steps, step), len(curve.losses) - 1)
    return curve.losses[index]


class _Frozen:
    """The chart's data as it was when a drawing began, for the drawing thread (the widget goes
    on changing meanwhile); it draws with the widget's own `_build`."""

    FIELDS = (
        "live_curve", "companion_curve", "comparison", "marks", "baselines", "smoothing",
        "companion_label", "run_label", "total_steps", "shown_task", "empty_title",
        "finished_title",
    )  # fmt: skip

    @classmethod
    def of(cls, chart: LossChart) -> _Frozen:
        """O(1) in the curves' length: a live curve's view shares its arrays (never rewritten)."""
        frozen = cls()
        for name in cls.FIELDS:
            value = getattr(chart, name)
            if isinstance(value, LiveCurve):
                value = value.view()
            setattr(frozen, name, list(value) if isinstance(value, list) else value)
        return frozen

    _build = LossChart._build
    drawn_line = LossChart.drawn_line


_PLOTEXT = threading.Lock()


def log_ticks(low: float, high: float) -> list[float]:
    """log10 positions of 1, 2, 5 x 10^k between `low` and `high` (log10 units), thinned out."""
    ticks = []
    for decade in range(math.floor(low), math.ceil(high) + 1):
        for mantissa in (1, 2, 5) if high - low < 3 else (1,):
            tick = decade + math.log10(mantissa)
            if low <= tick <= high:
                ticks.append(tick)
    step = max(1, len(ticks) // 6)
    return ticks[::step]
