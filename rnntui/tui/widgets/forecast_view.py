"""The forecast view: a series run's last validation stretch, the truth against the forecast, in
the target's units, as of the latest evaluation.

The trainer saves what its task's evaluation left to draw in the run folder
(`evaluation.json`, written by `engine/recorder.py` beside each checkpoint), so this view works
the same for a run in the app's own child, one attached to (`--attach`), or a finished one:
`load(run_path)` reads it (a small JSON file, off the UI thread), `show(view)` takes the data
directly. The drawing is plotext under the loss chart's lock (one global figure). The stretch
scrolls: ←/→ by a quarter of the visible points, Home/End to either end, +/- to zoom.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.widget import Widget

TRUTH_COLOR = (200, 200, 200)
FORECAST_COLOR = (255, 175, 95)
MIN_POINTS = 20


class ForecastView(Widget, can_focus=True):
    """Truth and forecast over the validation stretch, scrollable."""

    BINDINGS = [
        Binding("left", "scroll_points(-1)", "earlier", show=False),
        Binding("right", "scroll_points(1)", "later", show=False),
        Binding("home", "scroll_to(0)", "start", show=False),
        Binding("end", "scroll_to(-1)", "end", show=False),
        Binding("plus,equals", "zoom(0.5)", "zoom in", show=False),
        Binding("minus", "zoom(2)", "zoom out", show=False),
    ]

    def __init__(self, *, id: str | None = None, classes: str = "") -> None:
        super().__init__(id=id, classes=classes)
        self.view: dict[str, Any] = {}
        self.span = 0  # points shown at once (0: as many as fit, two per column)
        self.start = 0  # the first point shown
        self.follow = True  # stay at the end as new evaluations arrive
        self.updates = 0

    # --- data ------------------------------------------------------------------------------------

    def show(self, view: dict[str, Any]) -> None:
        """Draw an evaluation's view (the dict a series task's `evaluation_view` returns)."""
        points = len(view.get("truth") or ())
        if not points or len(view.get("forecast") or ()) != points:
            return  # nothing evaluated yet, or a damaged file: keep what is shown
        self.view = view
        self.updates += 1
        if self.follow or self.start + self._span() > points:
            self.start = max(0, points - self._span())
        self.refresh()

    def clear(self) -> None:
        """A new run: nothing evaluated yet."""
        self.view, self.start, self.follow = {}, 0, True
        self.refresh()

    def load(self, run_path: Path) -> None:
        """Read a run folder's latest evaluation in a thread and show it (call at each EpochEnd
        that evaluated, and when a past or attached run is opened)."""
        self._load(Path(run_path))

    @work(thread=True, exclusive=True, group="forecast-view")
    def _load(self, run_path: Path) -> None:
        from rnntui.runs.folder import RunFolder

        view = RunFolder(run_path).read_evaluation()
        self.app.call_from_thread(self.show, view)

    # --- scrolling -------------------------------------------------------------------------------

    @property
    def points(self) -> int:
        return len(self.view.get("truth") or ())

    def _span(self) -> int:
        fit = max(MIN_POINTS, 2 * max(1, (self.size.width or 80) - 12))
        return min(self.span or fit, max(self.points, 1))

    def action_scroll_points(self, direction: int) -> None:
        step = max(1, self._span() // 4)
        self._move(self.start + direction * step)

    def action_scroll_to(self, where: int) -> None:
        self._move(0 if where == 0 else self.points)

    def action_zoom(self, factor: float) -> None:
        middle = self.start + self._span() // 2
        self.span = max(MIN_POINTS, min(self.points, int(self._span() * factor)))
        self._move(middle - self._span() // 2)

    def _move(self, offset: int) -> None:
        last = max(0, self.points - self._span())
        self.start = max(0, min(offset, last))
        self.follow = self.start == last
        self.refresh()

    # --- drawing ---------------------------------------------------------------------------------

    def render(self) -> Text:
        if not self.points:
            return Text("no forecasts yet: they appear at the first evaluation", style="dim")
        width, height = self.size.width or 80, self.size.height or 16
        if width < 24 or height < 6:
            return Text("(too small for the forecast view)", style="dim")
        return draw_forecasts(self.view, self.start, self._span(), width, height)


def draw_forecasts(view: dict[str, Any], offset: int, span: int, width: int, height: int) -> Text:
    """Points offset..offset+span of a view: truth and forecast, a caption under them."""
    import plotext as plt

    from rnntui.tui.widgets.loss_chart import _PLOTEXT

    truth = list(view["truth"])[offset : offset + span]
    forecast = list(view["forecast"])[offset : offset + span]
    rows = list(view.get("rows") or range(len(view["truth"])))[offset : offset + span]
    times = list(view.get("time") or ())[offset : offset + span]
    xs = [float(r) for r in rows]
    finite = [v for v in truth + forecast if math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    pad = 0.05 * ((high - low) or 1.0)
    with _PLOTEXT:
        plt.clear_figure()
        plt.plotsize(width, height - 1)
        plt.theme("clear")
        plt.ylim(low - pad, high + pad)
        plt.plot(xs, truth, marker="braille", color=TRUTH_COLOR, label="truth")
        plt.plot(xs, forecast, marker="braille", color=FORECAST_COLOR, label="forecast")
        if times:
            picks = sorted({0, len(xs) // 2, len(xs) - 1})
            plt.xticks([xs[i] for i in picks], [times[i] for i in picks])
        drawing = Text.from_ansi(plt.build(), no_wrap=True)
    total = len(view["truth"])
    caption = Text.assemble(
        (f"{view.get('target', '')} ", "bold"),
        ("validation forecasts ", "dim"),
        (f"{offset + 1:,}-{offset + len(truth):,} of {total:,}", ""),
        ("  ·  MSE ", "dim"),
        (f"{view.get('valid_mse', float('nan')):.4g}", "bold"),
        (" MAE ", "dim"),
        (f"{view.get('valid_mae', float('nan')):.4g}", "bold"),
        ("  ·  ←/→ scroll, +/- zoom", "dim"),
    )
    drawing.append("\n")
    drawing.append_text(caption)
    return drawing
