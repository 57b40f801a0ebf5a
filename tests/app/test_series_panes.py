"""The series task's app parts, each in a real Textual app: the Data pane's preview of the shipped
series, and the forecast view (drawn from a run folder's evaluation, scrolled with keys)."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App, ComposeResult

from rnntui.config import apply_overrides, load_preset
from rnntui.runs.folder import RunFolder
from rnntui.tui.previews import renderer
from rnntui.tui.widgets.dataset_preview import DatasetPreview
from rnntui.tui.widgets.forecast_view import ForecastView
from tests.helpers import plain, wait_for


class Holder(App):
    def __init__(self, widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


def view_of(points: int, shift: float = 0.0) -> dict:
    return {
        "target": "co2",
        "rows": list(range(1000, 1000 + points)),
        "time": [f"2001-{1 + i // 28 % 12:02d}-{1 + i % 28:02d}" for i in range(points)],
        "truth": [370 + 0.01 * i for i in range(points)],
        "forecast": [370 + 0.01 * i + shift for i in range(points)],
        "valid_mse": shift**2,
        "valid_mae": abs(shift),
    }


def test_the_data_pane_previews_the_shipped_series():
    config = load_preset("series-lstm")
    preview = DatasetPreview()

    async def main() -> None:
        async with Holder(preview).run_test(size=(100, 40)) as pilot:
            preview.show_task(config.task, config.train.seed)
            await wait_for(pilot, lambda: preview.data is not None, 30, "the series preview")
            await pilot.pause()
            assert preview.data.kind == "series"
            shown = plain(renderer("series")(preview.data.preview, preview.size.width), 100)
            assert "2,284 rows" in shown and "59 (interpolated)" in shown
            assert "validation from 1997-08-23" in shown and "persistence" in shown

    asyncio.run(main())


def test_the_forecast_view_follows_new_evaluations_and_scrolls(tmp_path):
    view = ForecastView()
    folder = RunFolder.create(load_preset("series-lstm"), tmp_path / "runs")

    async def main() -> None:
        async with Holder(view).run_test(size=(60, 20)) as pilot:
            assert "no forecasts yet" in plain(view.render())
            folder.write_evaluation(view_of(400, 0.5))
            view.load(folder.path)
            await wait_for(pilot, lambda: view.updates == 1, 10, "the view from the run folder")
            span = view._span()
            assert view.start == 400 - span and view.follow  # the latest stretch
            shown = plain(view.render(), 60)
            assert f"{400 - span + 1:,}-400 of 400" in shown and "MSE 0.25" in shown
            view.focus()
            await pilot.press("left")
            assert view.start == 400 - span - span // 4 and not view.follow
            view.show(view_of(400, 0.1))  # the next evaluation: the reader's place is kept
            assert view.start == 400 - span - span // 4 and "MSE 0.01" in plain(view.render())
            await pilot.press("home")
            assert view.start == 0
            await pilot.press("minus")
            assert view._span() == min(400, 2 * span)
            await pilot.press("end")
            assert view.follow and view.start == 400 - view._span()
            view.show({})  # nothing new (a damaged file): what is shown stays
            assert view.updates == 2

    asyncio.run(main())


def test_the_app_opens_on_a_series_preset_with_its_settings_and_levels():
    from textual.widgets import Input, Label, Select

    from rnntui.tui.app import RnnTuiApp
    from tests.helpers import run_app as run

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: app.preview.data is not None, 30, "the series preview")
        assert app.preview.data.kind == "series"
        assert app.query_one("#task--target", Input).value == "co2"
        assert app.query_one("#task--time", Input).value == "date"
        assert app.query_one("#task--inputs", Input).value == ""  # every numeric column
        # task.path as the chosen task names it: a series reads a CSV, a text task a text
        assert str(app.query_one("#label-task--path", Label).content) == "CSV file"
        app.query_one("#task--kind", Select).value = "text"
        await wait_for(pilot, lambda: app.config.task.kind == "text", 10, "the text task")
        await pilot.pause()
        assert str(app.query_one("#label-task--path", Label).content) == "text"
        app.query_one("#task--kind", Select).value = "series"
        await wait_for(pilot, lambda: app.preview.data.kind == "series", 30, "the series again")
        await wait_for(pilot, lambda: bool(app.chart.baselines), 10, "the chart's levels")
        labels = [b.label for b in app.chart.baselines]
        assert labels == ["persistence", "training mean", "seasonal naive (52)", "linear AR(48)"]

    run(scenario, RnnTuiApp(load_preset("series-lstm"), preset_name="series-lstm"), (120, 40))


def test_the_forecast_pane_shows_the_forecast_after_a_tiny_training_run(tmp_path):
    from textual.widgets import Tabs

    from rnntui.tui.app import RnnTuiApp
    from tests.helpers import run_app as run

    config = apply_overrides(
        load_preset("series-lstm"),
        ["train.epochs=2", "model.state_size=4", "train.num_steps=12", "train.batch_size=64"],
    )
    app = RnnTuiApp(config, preset_name="series-lstm", runs_dir=tmp_path / "runs")

    async def scenario(app, pilot):
        tabs = app.query_one("#tabs", Tabs)
        await wait_for(pilot, lambda: app.preview.data is not None, 30, "the series preview")
        await wait_for(pilot, lambda: app.pane_layout.view is not None, 10, "the forecast pane")
        assert app.pane_layout.view.title == "Forecast" and app.check_action("forecast", ())
        assert tabs.query_one("#tab-forecast").display  # its tab shows for a series
        await pilot.press("f")
        assert tabs.active == "tab-forecast"
        forecast = app.pane_layout.forecast
        assert "no forecasts yet" in plain(forecast.render())
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state == "finished", 120, "the run")
        await wait_for(pilot, lambda: forecast.points > 0, 10, "the forecasts")
        folder = app.desk.session.run_folder
        saved = folder.read_evaluation()
        assert forecast.view["forecast"] == saved["forecast"] and saved["target"] == "co2"
        summary = folder.read_summary()
        assert forecast.view["valid_mse"] == pytest.approx(summary["valid_mse"])
        shown = plain(forecast.render(), 80)
        assert "co2 validation forecasts" in shown and "of 228" in shown

        # another task has no evaluation view: the pane and its tab go
        app.settings.query_one("#task--kind").value = "echo"
        await wait_for(pilot, lambda: app.pane_layout.view is None, 30, "the pane gone")
        assert not tabs.query_one("#tab-forecast").display
        assert not app.check_action("forecast", ())
        await pilot.press("escape", "8")  # its number key does not bring the hidden tab back
        await pilot.pause()
        assert tabs.active != "tab-forecast"

    run(scenario, app, (80, 30))


def test_an_early_stopped_run_ends_the_chart_where_it_stopped(tmp_path):
    from rnntui.tui.app import RnnTuiApp
    from tests.helpers import run_app as run

    config = apply_overrides(
        load_preset("series-lstm"),
        [
            "train.epochs=40", "train.patience=1", "train.learning_rate=0.5",
            "model.state_size=4", "train.num_steps=12", "train.batch_size=64",
        ],
    )  # fmt: skip
    app = RnnTuiApp(config, preset_name="series-lstm", runs_dir=tmp_path / "runs")

    async def scenario(app, pilot):
        await pilot.press("s")
        await wait_for(pilot, lambda: app.chart.total_steps > 0, 60, "the planned steps")
        planned = app.chart.total_steps
        await wait_for(pilot, lambda: app.state == "finished", 120, "the run")
        summary = app.desk.session.run_folder.read_summary()
        assert summary["stopped_early"] is True and summary["steps"] < planned
        assert app.chart.total_steps == summary["steps"]  # not squashed into the planned axis

    run(scenario, app, (80, 30))
