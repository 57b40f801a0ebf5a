"""The Textual app driven by its pilot: presets, validation, training controls, failures, inspector.

pytest-asyncio is not a dependency, so each test is a plain function running its scenario with
`asyncio.run`. Configs are tiny (a few hundred steps) so a run takes a second or two once
TensorFlow is loaded; the first test to train pays the ~4 s import.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from textual.content import Content
from textual.widgets import Button, Input, Select, Static

from rnntui.config import Config, apply_overrides, load_preset
from rnntui.engine.events import Progress
from rnntui.engine.trainer import Trainer
from rnntui.tui.app import RnnTuiApp
from rnntui.tui.commands import RnnTuiCommands
from rnntui.tui.screens.help import HelpScreen
from rnntui.tui.screens.preset_picker import PresetPicker
from rnntui.tui.screens.save_preset import SavePresetDialog

TINY = ["task.size=20000", "train.batch_size=20", "train.num_steps=5", "train.chunk=20"]
LONG = ["task.size=6000000", "train.batch_size=20", "train.num_steps=5", "train.chunk=20"]


def tiny(*overrides: str, base: list[str] = TINY) -> Config:
    return apply_overrides(load_preset("echo-raw-5"), [*base, *overrides])


def run(scenario: Callable, app: RnnTuiApp, size: tuple[int, int] = (80, 24)) -> None:
    async def main() -> None:
        async with app.run_test(size=size, notifications=True) as pilot:
            await scenario(app, pilot)

    asyncio.run(main())


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 30.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            state = getattr(pilot.app, "state", "?")
            raise AssertionError(f"timed out waiting for {what or condition} (state: {state})")
        await pilot.pause(0.05)


def plain(content: object, width: int = 120) -> str:
    """What a Rich renderable or Textual content shows, as plain text."""
    if isinstance(content, str):
        return Content.from_markup(content).plain
    if isinstance(content, Content):
        return content.plain
    console = Console(width=width, file=io.StringIO(), color_system=None)
    with console.capture() as captured:
        console.print(content)
    return captured.get()


def static_text(app: RnnTuiApp, selector: str) -> str:
    return plain(app.query_one(selector, Static).content)


def notifications(app: RnnTuiApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


# --- opening and editing -----------------------------------------------------------------------


def test_app_opens_with_a_preset_and_previews_its_data():
    config = load_preset("echo-raw-5")

    async def scenario(app, pilot):
        assert "echo-raw-5" in static_text(app, "#preset-title")
        assert app.query_one("#train--num_steps", Input).value == "5"
        assert app.query_one("#task--lags", Input).value == "3:0.5, 8:-0.25"
        assert app.query_one("#model--cell", Select).value == "raw_rnn"
        assert not app.query_one("#start", Button).disabled
        assert app.status.state in ("loading TensorFlow", "idle")
        await wait_for(pilot, lambda: app.preview.data is not None, what="the preview")
        data = app.preview.data
        assert data.preview.lags == ((3, 0.5), (8, -0.25))
        assert [round(b.value, 4) for b in data.baselines] == [0.6616, 0.5192, 0.4545]
        # The chart shows the analytic levels before any training.
        assert [b.label for b in app.chart.baselines] == [b.label for b in data.baselines]

    run(scenario, RnnTuiApp(config, preset_name="echo-raw-5"))


def test_editing_a_setting_updates_validation_and_the_preview():
    async def scenario(app, pilot):
        await wait_for(pilot, lambda: app.preview.data is not None, what="the first preview")

        # Type a bad value with the keyboard: Start is disabled and the reason is shown inline.
        num_steps = app.query_one("#train--num_steps", Input)
        num_steps.focus()
        await pilot.press("end", "backspace", "x")
        await pilot.pause()
        assert num_steps.value == "x"
        error = static_text(app, "#error-train--num_steps")
        assert "'x' is not an integer" in error and "1 to 1000" in error
        assert app.query_one("#start", Button).disabled
        assert app.check_action("start", ()) is None  # greyed out in the footer
        assert "train.num_steps" in app.errors

        num_steps.value = "0"
        await pilot.pause()
        assert "out of range" in static_text(app, "#error-train--num_steps")

        # A cross-field problem lands under the field it names.
        num_steps.value = "10"
        app.query_one("#task--size", Input).value = "150"
        await pilot.pause()
        assert "batch_size 20 x num_steps 10 is more than the 150 samples" in static_text(
            app, "#error-train--batch_size"
        )
        assert app.query_one("#start", Button).disabled

        app.query_one("#task--size", Input).value = "20000"
        await pilot.pause()
        assert app.errors == {}
        assert not app.query_one("#start", Button).disabled
        assert not app.query_one("#error-train--num_steps").display

        # Changing the task's lags regenerates the preview with the new dependency.
        app.query_one("#task--lags", Input).value = "2:0.5"
        await wait_for(
            pilot,
            lambda: app.preview.data is not None and app.preview.data.preview.lags == ((2, 0.5),),
            what="the preview to follow the new lags",
        )
        assert "X[t-2]" in plain(app.preview.content)
        assert app.config.task.lags == [[2, 0.5]]

        # Switching to the count task swaps the visible fields and the preview.
        app.query_one("#task--kind", Select).value = "count"
        await wait_for(pilot, lambda: app.preview.data.kind == "count", what="count preview")
        await pilot.pause()
        assert app.settings.has_class("-count")
        assert not app.query_one("#field-task--lags").display
        assert app.query_one("#field-task--bits").display
        assert app.preview.data.preview.train_size == app.config.task.train_size

    run(scenario, RnnTuiApp(tiny(), preset_name="echo-raw-5"))


# --- training ----------------------------------------------------------------------------------


def test_start_pause_resume_stop():
    async def scenario(app, pilot):
        await pilot.press("s")
        assert app.state in ("starting", "training")
        await wait_for(pilot, lambda: len(app.chart.losses) > 0, 60, "the first losses")
        assert app.status.state == "training"
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state == "paused", 10, "the pause")
        held = len(app.chart.losses)
        await pilot.pause(0.4)
        assert len(app.chart.losses) == held, "no steps while paused"
        assert app.check_action("resume", ()) is True and app.check_action("pause", ()) is False

        await pilot.press("p")
        await wait_for(pilot, lambda: len(app.chart.losses) > held, 10, "steps after resuming")
        assert app.state == "training"
        await pilot.pause(0.6)
        assert app.chart.redraws > 1, "the chart redraws while training"

        await pilot.press("x")
        await wait_for(pilot, lambda: app.state == "stopped", 10, "the stop")
        steps = len(app.chart.losses)
        assert 0 < steps < 60_000
        assert app.status.step == steps
        assert app.status.loss == pytest.approx(app.chart.smoothed_loss)
        assert app.status.device
        assert not app.query_one("#start", Button).disabled

        # A second run keeps the first as a faded comparison curve, which can be cleared.
        app.query_one("#task--size", Input).value = "20000"
        await pilot.pause()
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state == "finished", 60, "the second run")
        assert len(app.chart.comparison) == 1
        assert app.chart.comparison[0].label.startswith("#1")
        assert len(app.chart.losses) == 200
        await pilot.press("c")
        assert app.chart.comparison == []

        # Reset forgets the live curve and reloads the opened settings.
        await pilot.press("r")
        assert app.state == "idle" and app.chart.losses == []
        assert app.query_one("#task--size", Input).value == "6000000"

    run(scenario, RnnTuiApp(tiny(base=LONG), preset_name="echo-raw-5"))


class NaNTrainer(Trainer):
    """A real trainer whose weights turn to NaN after the first chunk, as divergence leaves them."""

    def __init__(self, config, on_event):
        def poisoning(event):
            on_event(event)
            if isinstance(event, Progress) and not getattr(self, "_poisoned", False):
                self._poisoned = True
                weights = self.steps.variables[0]
                weights.assign(weights * float("nan"))

        super().__init__(config, poisoning)


def test_a_failing_run_is_reported_and_the_app_stays_usable():
    app = RnnTuiApp(tiny(), preset_name="echo-raw-5")
    app.trainer_factory = NaNTrainer

    async def scenario(app, pilot):
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state == "failed", 60, "the failure")
        assert "loss became nan" in app.status.detail
        assert any("failed" in n and "loss became nan" in n for n in notifications(app))
        assert app.chart.comparison == []

        # Still usable: the next run trains normally.
        app.trainer_factory = Trainer
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state == "finished", 60, "a normal run")
        assert app.status.detail == ""

    run(scenario, app)


@pytest.mark.parametrize("key", ["q", "ctrl+q"])
def test_quit_while_training_stops_the_worker_promptly(key):
    app = RnnTuiApp(tiny(base=LONG), preset_name="echo-raw-5")
    timing: dict[str, float] = {}

    async def scenario(app, pilot):
        await pilot.press("s")
        await wait_for(pilot, lambda: len(app.chart.losses) > 0, 60, "training")
        timing["quit"] = time.monotonic()
        await pilot.press(key)

    run(scenario, app)
    elapsed = time.monotonic() - timing["quit"]  # includes joining the worker thread
    assert elapsed < 3.0, f"quitting took {elapsed:.1f} s"
    assert app.trainer is not None and app.trainer._stop.is_set()
    assert len(app.trainer.losses) < 60_000


# --- inspector ---------------------------------------------------------------------------------


def test_inspector_shows_the_engines_own_c_and_h():
    from rnntui.inspect import inspect_lstm, parse_inputs

    async def scenario(app, pilot):
        await pilot.press("i")
        inspector = app.inspector
        await wait_for(pilot, lambda: inspector.inspection is not None, 60, "an inspection")
        expected = inspect_lstm(parse_inputs("3,2,2,3,2,2"), units=4, seed=0)
        shown = inspector.inspection.steps[0]
        assert shown.c == expected.steps[0].c and shown.h == expected.steps[0].h
        table = static_text(app, "#inspector-table")
        for value in (*expected.steps[0].c, *expected.steps[0].h):
            assert f"{value:+.4f}" in table
        assert "NumPy recomputation agrees" in static_text(app, "#inspector-agreement")

        # Edit the input to three timesteps and step forward and back along it.
        field = app.query_one("#inspector-input", Input)
        field.value = "1,0; 0,1; 1,1"
        await wait_for(
            pilot,
            lambda: inspector.inspection is not None and len(inspector.inspection.steps) == 3,
            30,
            "the new inspection",
        )
        await pilot.press("escape", "i")  # leave the input; the pane takes focus
        assert app.focused is inspector
        await pilot.press("right", "right")
        assert inspector.index == 2
        expected = inspect_lstm(parse_inputs("1,0; 0,1; 1,1"), units=4, seed=0)
        assert inspector.inspection.steps[2].c == expected.steps[2].c
        assert inspector.inspection.steps[2].h == expected.steps[2].h
        assert "step 3/3" in static_text(app, "#step-label")
        await pilot.press("left")
        assert inspector.index == 1

        field.value = "1,2;3"
        await pilot.pause()
        assert "every timestep needs the same number" in static_text(app, "#inspector-agreement")

        # After training an LSTM the inspector uses its trained first layer.
        field.value = "1,0; 0,1"
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state == "finished", 60, "the LSTM run")
        await wait_for(
            pilot,
            lambda: inspector.trained is not None and not inspector._pending,
            30,
            "the trained inspection",
        )
        weights = app.trainer.lstm_weights()
        expected = inspect_lstm(parse_inputs(field.value), weights=weights)
        assert inspector.inspection.steps[-1].c == expected.steps[-1].c
        assert "trained first LSTM layer" in static_text(app, "#inspector-source")

    run(scenario, RnnTuiApp(tiny("model.cell=lstm"), preset_name="echo-lstm"))


# --- presets, help, palette, layout ------------------------------------------------------------


def test_open_and_save_presets(isolated_user_dirs):
    async def scenario(app, pilot):
        await pilot.press("o")
        assert isinstance(app.screen, PresetPicker)
        picker = app.screen
        names = [name for name, _, _ in picker.rows]
        assert "echo-lstm" in names
        picker.query_one("OptionList").highlighted = names.index("echo-lstm")
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, PresetPicker)
        assert app.query_one("#model--cell", Select).value == "lstm"
        assert app.preset_name == "echo-lstm"

        app.query_one("#train--seed", Input).value = "7"
        await pilot.press("escape", "w")
        assert isinstance(app.screen, SavePresetDialog)
        name = app.screen.query_one("#preset-name", Input)
        name.value = "my seven"
        await pilot.pause()
        assert app.screen.query_one("#save", Button).disabled
        name.value = "my-seven"
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        saved = Path(isolated_user_dirs, "config", "rnntui", "presets", "my-seven.toml")
        assert saved.is_file()
        assert load_preset(str(saved)).train.seed == 7
        assert app.preset_name == "my-seven"

    run(scenario, RnnTuiApp(load_preset("echo-raw-5"), preset_name="echo-raw-5"))


def test_help_and_command_palette_list_every_action():
    async def scenario(app, pilot):
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)

        provider = RnnTuiCommands(app.screen)
        titles = []
        async for hit in provider.discover():
            titles.append(str(hit.text))
        for action in ("Start", "Pause", "Resume", "Stop", "Reset", "Open", "Save", "Inspect"):
            assert action in titles
        assert {"Clear", "Help", "Quit"} <= set(titles)
        found = [hit async for hit in provider.search("inspe")]
        assert found and found[0].text == "Inspect"

    run(scenario, RnnTuiApp(load_preset("echo-raw-5"), preset_name="echo-raw-5"))


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_layout_fits_small_and_uses_large_terminals(size):
    async def scenario(app, pilot):
        await pilot.pause(0.2)
        panes = [app.query_one(f"#{name}") for name in ("settings", "chart", "data", "inspector")]
        shown = [pane for pane in panes if pane.display and pane.region.area > 0]
        if size == (80, 24):
            assert shown == [panes[0]]
            await pilot.press("2")
            assert [p for p in panes if p.display] == [panes[1]]
            assert app.chart.region.width == 80 and app.chart.region.height >= 18
        else:
            assert shown == panes, "every pane at once on a large terminal"
            assert app.chart.region.width > 100
        for widget in (app.status, app.query_one("Footer")):
            assert widget.region.bottom <= size[1]

    run(scenario, RnnTuiApp(load_preset("echo-raw-5"), preset_name="echo-raw-5"), size)
