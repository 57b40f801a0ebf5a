"""The app's probe pane, live knobs, A/B runs and chart smoothing, driven by the pilot with real
(tiny) training."""

from __future__ import annotations

import numpy as np
import pytest
from textual.widgets import Input, OptionList

from rnntui.runs.curves import SMOOTHINGS, moving_average, smooth, smoothed_line
from rnntui.runs.folder import RunFolder
from rnntui.runs.metrics import read_knobs, read_metrics
from rnntui.tui.app import RnnTuiApp
from rnntui.tui.run_panes import PROBE_INTERVAL_S
from rnntui.tui.screens.cell_picker import CellPicker
from rnntui.tui.screens.knob_dialog import KnobDialog
from rnntui.tui.screens.run_picker import RunPicker
from tests.helpers import NotedApp, notifications, plain, run_app, tiny, wait_for

# about 60,000 steps: long enough to change a knob and to run A and B side by side
LONG = 6_000_000


def pane_text(widget) -> str:
    return plain(widget.render(), width=200)


# --- the probe pane ------------------------------------------------------------------------------


def test_probe_pane_shows_what_the_network_learns_while_it_trains():
    app = RnnTuiApp(tiny("train.epochs=3"), preset_name="echo-raw-5")

    async def scenario(app, pilot):
        await pilot.press("v")  # the Probe tab at 80x24
        await wait_for(pilot, lambda: app.probe.truth, 10, "the task's true effects")
        await pilot.pause()
        assert app.probe.display and app.probe.region.width == 80
        text = pane_text(app.probe)
        assert "lag 3: ? (true +0.500)" in text and "lag 8: ? (true -0.250)" in text
        assert text.count("◀") == 1 + 2  # the legend, and both true effects before training

        await pilot.press("s")
        assert app.probe.display, "starting keeps the probe pane in front"
        # the run trains in its own process; the app asks it to probe through control.json
        control = app.desk.session.run_folder.read_control
        assert control()["probe_interval"] == PROBE_INTERVAL_S
        assert not control()["probe_gradients"]  # the lag view: the gradient reach is not traced
        await pilot.press("G")  # the gradient-reach view: now it is
        assert control()["probe_gradients"]
        await wait_for(pilot, lambda: app.state == "finished", 90, "the run")
        await wait_for(pilot, lambda: app.probe.result is not None, 10, "a probe result")
        result = app.probe.result
        assert result.step == 600, "the last probe shows the finished model"
        assert [e.lag for e in result.lags] == list(range(1, 17))
        text = pane_text(app.probe)
        assert "gradient reach" in text and "truncation cuts every lag k ≥ 5" in text
        assert [g.truncated for g in result.gradient_reach[5:]] == [0.0] * 6
        assert all(g.truncated > 0 for g in result.gradient_reach[:5])

        await pilot.press("G")  # back to the lag effects
        text = pane_text(app.probe)
        assert "step 600" in text and "█" in text
        assert f"lag 3: {result.lags[2].effect:+.3f} (true +0.500)" in text

        # Away from the pane, the next run does not probe.
        await pilot.press("2")
        await pilot.press("s")
        assert app.desk.session.run_folder.read_control().get("probe_interval", 0.0) == 0.0
        await wait_for(pilot, lambda: app.state == "finished", 90, "the second run")

        # After the run, the probe pane probes its last checkpoint (in the helper): the lag
        # effects it was trained without show (issue 24 item 3: they stayed '?')
        await pilot.press("v")
        await wait_for(pilot, lambda: app.probe.result is not None, 60, "the finished run's probe")
        assert app.probe.result.step == 600
        text = pane_text(app.probe)
        assert "lag 3: ?" not in text and "not trained yet" not in text and "step 600" in text
        assert f"lag 3: {app.probe.result.lags[2].effect:+.3f} (true +0.500)" in text
        # and the gradient reach, when asked for
        await pilot.press("G")
        reach = lambda: app.probe.result is not None and app.probe.result.gradient_reach  # noqa: E731
        await wait_for(pilot, reach, 60, "the reach after the run")
        assert app.probe.result.step == 600
        assert [g.truncated for g in app.probe.result.gradient_reach[5:]] == [0.0] * 6
        assert "truncation cuts every lag k ≥ 5" in pane_text(app.probe)

    run_app(scenario, app)


def test_probe_pane_takes_the_inspectors_place_on_a_large_terminal():
    async def scenario(app, pilot):
        assert not app.probe.display and app.inspector.display
        await pilot.press("v")
        await pilot.pause()
        assert app.probe.display and not app.inspector.display
        assert app.probe.region.width > 60 and app.probe.region.height > 15
        await pilot.press("i")
        await pilot.pause()
        assert app.inspector.display and not app.probe.display

        # A task without lags says so instead of drawing bars.
        app.query_one("#task--kind").value = "count"
        await pilot.press("v")
        await wait_for(pilot, lambda: app.probe.problem, 10, "the probe's verdict")
        assert "task 'count' has no lags to probe" in pane_text(app.probe)

    run_app(scenario, RnnTuiApp(tiny(), preset_name="echo-raw-5"), size=(160, 48))


# --- live knobs ----------------------------------------------------------------------------------


def test_live_learning_rate_change_is_marked_on_the_chart_and_recorded(tmp_path):
    app = NotedApp(tiny(size=LONG), preset_name="echo-raw-5", runs_dir=tmp_path)

    async def scenario(app, pilot):
        assert app.check_action("knobs", ()) is False  # nothing trains yet
        await pilot.press("s")
        await wait_for(pilot, lambda: len(app.chart.losses) > 100, 60, "training")
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, KnobDialog), 10, "the knob dialog")
        field = app.screen.query_one("#knob-learning_rate", Input)
        assert field.value == "0.1"
        field.value = "50"  # out of range: refused in the dialog, with the key
        await pilot.pause()
        assert "train.learning_rate: 50 is out of range" in plain(
            app.screen.query_one("#knob-note").content
        )
        field.value = "0.02"
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.chart.marks, 10, "the mark on the chart")
        ((step, label),) = app.chart.marks
        assert label == "lr 0.02" and step > 100
        assert any("lr 0.02 from step" in n for n in notifications(app))
        log = app.desk.session.run_folder.path / "metrics.jsonl"  # or the store that replaced it
        await wait_for(pilot, lambda: read_knobs(log), 10, "the knob change written (flushed ~1/s)")
        assert read_knobs(log) == [{"step": step, "knob": "learning_rate", "value": 0.02}]
        await pilot.press("x")
        await wait_for(pilot, lambda: app.state == "stopped", 10, "the stop")
        result["run"] = app.desk.session.run_folder.path
        result["step"] = step

        # Loaded back from its folder, the run shows the change where it happened.
        await pilot.press("l")
        assert isinstance(app.screen, RunPicker)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.chart.comparison, 10, "the loaded run")
        assert app.chart.comparison[-1].marks == ((step, "lr 0.02"),)

    result: dict = {}
    run_app(scenario, app)
    folder = RunFolder(result["run"])
    row = {"step": result["step"], "knob": "learning_rate", "value": 0.02}
    assert read_knobs(folder.path / "metrics.jsonl") == [row]
    assert folder.read_summary()["knobs"] == [row]
    steps = [r["step"] for r in read_metrics(folder.path / "metrics.jsonl")]
    assert steps == list(range(1, len(steps) + 1))  # the knob row is not a step


# --- A/B runs ------------------------------------------------------------------------------------


def test_ab_key_trains_the_same_run_with_another_cell_overlaid(tmp_path):
    app = RnnTuiApp(tiny(size=LONG), preset_name="echo-raw-5", runs_dir=tmp_path)

    async def scenario(app, pilot):
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, CellPicker), 10, "the cell picker")
        cells = app.screen.cells
        assert "raw_rnn" not in cells and cells[:2] == ["rnn", "gru"]
        await pilot.pause()
        assert app.screen.query_one(OptionList).highlighted == 0
        await pilot.press("down", "enter")  # the second: gru
        await pilot.pause()
        assert app.desk.session is not None and app.desk.companion.session is not None  # A and B
        a, b = app.desk.session.config, app.desk.companion.session.config
        assert (a.model.cell, b.model.cell) == ("raw_rnn", "gru")
        assert a.task == b.task and a.train == b.train  # same data, seed and training
        assert app.check_action("ab_run", ()) is False  # one companion at a time
        await wait_for(
            pilot,
            lambda: len(app.chart.losses) > 50 and len(app.chart.companion_losses) > 50,
            90,
            "both curves training",
        )
        assert app.chart.companion_label == "B gru 4 n=5"
        labels = [label for label, _, _ in app.chart.shown_curves()]
        assert labels[0] == app.desk.label and "B gru 4 n=5" in labels
        assert app.chart.companion_losses[:5] != app.chart.losses[:5]  # another network

        await pilot.press("x")  # stops both
        await wait_for(pilot, lambda: not app.desk.companion.running, 30, "B to stop")
        await wait_for(pilot, lambda: app.state == "stopped", 30, "A to stop")
        (kept,) = app.chart.comparison  # B stays on the chart beside A's curve
        assert kept.label.startswith("B gru 4 n=5 0.")
        assert app.chart.losses and app.check_action("ab_run", ()) is True
        folder = app.desk.companion.session.run_folder
        assert folder.path.parent == tmp_path and folder.load_config().model.cell == "gru"
        assert folder.read_summary()["stopped"] is True

    run_app(scenario, app)


# --- smoothing -----------------------------------------------------------------------------------


def test_moving_average_and_smoothed_lines():
    values = np.array([1.0, 3.0, 5.0, 7.0])
    assert moving_average(values, 2).tolist() == [1.0, 2.0, 4.0, 6.0]
    assert moving_average(values, 10).tolist() == [1.0, 2.0, 3.0, 4.0]
    ema, mean, raw = SMOOTHINGS
    assert smoothed_line(values, raw) is None
    assert smoothed_line(values, mean).tolist() == moving_average(values).tolist()
    assert smoothed_line(values, ema) == pytest.approx(smooth(values))
    assert [s.label for s in SMOOTHINGS] == [
        "EMA α=0.02 (~50 steps)",
        "moving average of 50 steps",
        "raw points",
    ]


def test_smoothing_key_cycles_the_chart_and_keeps_the_raw_trace():
    async def scenario(app, pilot):
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state == "finished", 90, "the run")
        await pilot.press("2")
        chart = app.chart
        drawn = chart.drawn_line(chart.live_curve, 10_000)
        assert drawn.raw_x is not None and len(drawn.raw_y) == len(chart.losses) == 200
        assert drawn.smooth_y == pytest.approx(chart.smoothed)
        assert chart.smoothing.kind == "ema"
        await pilot.press("m")
        assert chart.smoothing.kind == "mean"
        assert any("moving average of 50 steps" in n for n in notifications(app))
        drawn = chart.drawn_line(chart.live_curve, 10_000)
        assert drawn.smooth_y == pytest.approx(moving_average(np.asarray(chart.losses)))
        assert drawn.raw_y == pytest.approx(chart.losses)  # the raw points are still drawn
        shown = lambda: "moving average of 50 steps (m cycles)" in pane_text(chart)  # noqa: E731
        await wait_for(pilot, shown, 10, "the chart drawn with its new smoothing")
        await pilot.press("m")
        assert chart.smoothing.kind == "raw"
        assert chart.drawn_line(chart.live_curve, 100).smooth_y is None
        await pilot.press("m")
        assert chart.smoothing.kind == "ema"

    run_app(scenario, NotedApp(tiny(), preset_name="echo-raw-5"))
