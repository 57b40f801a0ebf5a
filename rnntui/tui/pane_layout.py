"""Which pane shows: tabs on a small terminal, every pane at once on a large one (from 120x36),
where the inspector's cell holds the inspector, the probe, the Generate, the System or the
Forecast pane in turn. The Forecast pane (and its tab) is there only for a task whose evaluation
leaves a view to draw (`tasks.base.ViewTask`: a series)."""

from __future__ import annotations

from typing import Any

from textual.widgets import Tabs

from rnntui.tasks.base import ViewSpec
from rnntui.tui.actions import PANES
from rnntui.tui.widgets.forecast_view import ForecastView
from rnntui.tui.widgets.system_pane import SystemPane

TITLES = {
    "settings": "Settings",
    "chart": "Loss",
    "data": "Data",
    "inspector": "Inspector",
    "generate": "Generate",
    "probe": "Probe",
    "system": "System",
    "forecast": "Forecast",
}


class PaneLayout:
    """The app's panes: which one is in front, and which one shares the inspector's cell."""

    def __init__(self, app: Any) -> None:
        # the RnnTuiApp (typed loosely: the app imports this module, not the other way round)
        self.app = app
        self.view: ViewSpec | None = None  # the shown task's evaluation view, if it has one
        self.forecast = ForecastView(id="forecast", classes="pane")

    def set_titles(self) -> None:
        for pane, title in TITLES.items():
            self.app.query_one(f"#{pane}").border_title = title
        self.evaluation(None)

    @property
    def wide(self) -> bool:
        screen = self.app.screen
        return screen.has_class("-wide") and screen.has_class("-tall")

    def tab_activated(self, tab_id: str) -> str:
        """A tab was chosen: show its pane; returns the pane's name."""
        pane = tab_id.removeprefix("tab-")
        cells = self.app.query_one("#panes")
        for name, _ in PANES:
            cells.set_class(name == pane, f"-show-{name}")
        return pane

    def show(self, pane: str) -> None:
        app = self.app
        tabs = app.query_one("#tabs", Tabs)
        if tabs.query_one(f"#tab-{pane}").has_class("-hidden"):
            return  # a number key for a pane this task has not (the Forecast of an echo run)
        tabs.active = f"tab-{pane}"
        if pane == "inspector" and (app.focused is None or app.focused is tabs):
            app.inspector.focus()  # so ←/→ step the cell rather than switch tabs
        if pane == "data" and (app.focused is None or app.focused is tabs):
            app.units.focus()  # so ↑/↓ choose a hidden unit

    def place(self, pane: str) -> None:
        """Show `pane`; on a large terminal the inspector's cell holds the inspector, the probe,
        the Generate or the System pane."""
        cells = self.app.query_one("#panes")
        cells.set_class(pane == "probe", "-probe")
        cells.set_class(pane == "generate", "-bottom-generate")
        cells.set_class(pane == "system", "-system")
        cells.set_class(pane == "forecast", "-forecast")
        self.show(pane)

    def generative(self, generative: bool) -> None:
        """A text task's data is shown: Generate takes the inspector's cell (else the inspector)."""
        cells = self.app.query_one("#panes")
        cells.set_class(generative, "-bottom-generate")
        if generative:
            cells.remove_class("-probe")

    def evaluation(self, view: ViewSpec | None) -> None:
        """The shown task's evaluation view: its pane and tab, and (as Generate for a text) the
        inspector's cell on a large terminal; none for a task without one."""
        app, tabs = self.app, self.app.query_one("#tabs", Tabs)
        changed = (view is None) != (self.view is None)
        self.view = view
        if view is None:
            tabs.hide("tab-forecast")
            if tabs.active == "tab-forecast":
                self.show("chart")
        else:
            tabs.show("tab-forecast")
            self.forecast.border_title = view.title
        if changed or view is None:
            cells = app.query_one("#panes")
            cells.set_class(view is not None, "-forecast")
            if view is not None:
                cells.remove_class("-probe", "-system")
            app.refresh_bindings()

    def forecast_pane(self) -> ForecastView:
        return self.forecast

    def system_pane(self) -> SystemPane:
        """The System pane, sampling the app's own runs that its runs folder does not show."""
        app = self.app
        return SystemPane(app.runs_dir, app.desk.processes, id="system", classes="pane")

    def probe_shown(self) -> bool:
        if self.wide:
            return self.app.query_one("#panes").has_class("-probe")
        return self.app.query_one("#tabs", Tabs).active == "tab-probe"
