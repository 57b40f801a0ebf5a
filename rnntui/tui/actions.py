"""The app's keys as data: what each key does, how the footer, help and palette describe it, and
when it applies.

`check_action` asks `enabled(action, context)`: True shows and allows a key, None shows it dimmed
(it applies, but not now), False hides it (footer room is scarce at 80 columns). The context is a
frozen snapshot of what the rules read, so every rule is a plain function, testable alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.binding import Binding
from textual.widgets import Input

from rnntui.sessions.session import RunState

PANES = (
    ("settings", "Settings"),
    ("chart", "Chart"),
    ("data", "Data"),
    ("inspector", "Inspect"),
    ("generate", "Generate"),
    ("probe", "Probe"),
    ("system", "System"),
    ("forecast", "Forecast"),  # its tab shows only for a task with an evaluation view
)


@dataclass(frozen=True)
class KeyContext:
    """What the rules need to know about the app at one moment."""

    state: RunState
    has_problems: bool  # the settings or the data stop a run
    has_errors: bool  # the settings alone have errors
    generative: bool  # the task's model can generate (text)
    evaluation: bool  # the task's evaluation leaves a view to draw (a series: forecasts)
    detachable: bool  # the current run is this app's child, running
    has_comparison: bool  # earlier curves on the chart
    has_curves: bool  # any curve on the chart (live or earlier)
    companion_running: bool  # an A/B run trains
    in_field: bool  # a text field of the main screen has focus

    @property
    def running(self) -> bool:
        return self.state.active

    @classmethod
    def of(cls, app: Any) -> KeyContext:
        """The context of the RnnTuiApp `app` now."""
        chart = app.chart
        return cls(
            state=app.state,
            has_problems=bool(app.problems),
            has_errors=bool(app.errors),
            generative=getattr(app, "live", None) is not None and app.live.generative,
            evaluation=getattr(getattr(app, "pane_layout", None), "view", None) is not None,
            detachable=app.desk.detachable,
            has_comparison=bool(chart.comparison),
            has_curves=bool(chart.steps or chart.comparison),
            companion_running=app.desk.companion.running,
            in_field=isinstance(app.focused, Input) and app.screen is app.screen_stack[0],
        )


Rule = Callable[[KeyContext], "bool | None"]


def _unless_running(context: KeyContext) -> bool | None:
    return None if context.running else True


def _pause(context: KeyContext) -> bool | None:
    if context.state is RunState.TRAINING:
        return True
    return None if context.running and context.state is not RunState.PAUSED else False


RULES: dict[str, Rule] = {
    "start": lambda c: False if c.running else (None if c.has_problems else True),
    "generate": lambda c: c.generative,
    "forecast": lambda c: c.evaluation,
    "pause": _pause,
    "resume": lambda c: c.state is RunState.PAUSED,
    "stop": lambda c: c.running and c.state is not RunState.STOPPING,
    "detach": lambda c: c.detachable,
    "attach": _unless_running,
    "open_preset": _unless_running,
    "leave_field": lambda c: c.in_field,  # dialogs bind escape themselves
    "clear_comparison": lambda c: c.has_comparison,
    "knobs": lambda c: c.state in (RunState.TRAINING, RunState.PAUSED),
    "ab_run": lambda c: False if c.companion_running else (None if c.has_errors else True),
    "export_csv": lambda c: c.has_curves,
}


def enabled(action: str, context: KeyContext) -> bool | None:
    """Whether `action` applies now (see the module's docstring); unlisted actions always do."""
    rule = RULES.get(action)
    return True if rule is None else rule(context)


# The keys the footer, the help screen and the command palette show, in that order.
PALETTE_BINDINGS = [
    Binding("s", "start", "Start", tooltip="train the current settings"),
    Binding("p", "pause", "Pause", tooltip="pause training"),
    Binding("p", "resume", "Resume", tooltip="resume training"),
    Binding("x", "stop", "Stop", tooltip="stop training (the run is kept)"),
    Binding("r", "reset", "Reset", tooltip="stop, clear the live curve, reload the preset"),
    Binding("o", "dialog('open_preset')", "Open", tooltip="open a preset"),
    Binding("w", "dialog('save_preset')", "Save", tooltip="save the settings as a preset"),
    Binding("i", "inspector", "Inspect", tooltip="step an LSTM cell: gates, c and h"),
    Binding("g", "generate", "Generate", tooltip="sample text from the model as it is"),
    Binding("v", "probe", "Probe", tooltip="what the network learned: effect per lag"),
    Binding("G", "probe_view", "Reach", tooltip="probe: lag effects or gradient reach"),
    Binding("y", "system", "System", tooltip="CPU, memory, disk and GPUs of the app and runs"),
    Binding("f", "forecast", "Forecast", tooltip="the latest evaluation: truth against forecast"),
    Binding("k", "dialog('knobs')", "Knobs", tooltip="change learning rate or clip while training"),
    Binding("b", "dialog('ab_run')", "A/B", tooltip="the same run with another cell, overlaid"),
    Binding("m", "smoothing", "Smooth", tooltip="chart: EMA, moving average or raw"),
    Binding("l", "dialog('load_run')", "Load run", tooltip="add a past run's curve to the chart"),
    Binding("a", "attach", "Attach", tooltip="follow a run training in another process"),
    Binding("d", "detach", "Detach", tooltip="leave the run training in the background"),
    Binding("e", "dialog('export_csv')", "Export", tooltip="save the chart's curves as CSV"),
    Binding("c", "clear_comparison", "Clear", tooltip="remove earlier runs from the chart"),
    Binding("question_mark,f1", "help", "Help", key_display="?", tooltip="keys and panes"),
    Binding("q", "quit", "Quit", tooltip="stop training and exit"),
]
BINDINGS = [
    Binding("escape", "leave_field", "Leave field", tooltip="so single keys work again"),
    *PALETTE_BINDINGS,
    *(
        Binding(str(n), f"show_pane('{pane}')", f"{title} tab", show=False)
        for n, (pane, title) in enumerate(PANES, start=1)
    ),
]
