"""The Textual app driven by its pilot: presets, validation, training controls, failures, inspector.

Configs are tiny (a few hundred steps) so a run takes a second or two once TensorFlow is loaded;
the first test to train pays the ~4 s import.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import signal
import time
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Select

from rnntui.config import load_preset
from rnntui.engine.events import Progress
from rnntui.engine.trainer import Trainer
from rnntui.runs.curves import smooth
from rnntui.runs.folder import RunFolder
from rnntui.runs.metrics import read_metrics
from rnntui.sessions.session import RunState
from rnntui.tui.app import RnnTuiApp
from rnntui.tui.commands import RnnTuiCommands
from rnntui.tui.screens.help import HelpScreen
from rnntui.tui.screens.preset_picker import PresetPicker
from rnntui.tui.screens.run_picker import RunPicker
from rnntui.tui.screens.save_preset import SavePresetDialog
from rnntui.tui.widgets.app_footer import AppFooter
from tests.helpers import (
    NotedApp,
    notifications,
    plain,
    run_app,
    static_text,
    tiny,
    wait_for,
)

# about 60,000 steps: long enough to pause, stop and quit while it trains
LONG = 6_000_000


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
        await wait_for(pilot, lambda: bool(app.chart.baselines), 5, "the chart's levels")
        assert [b.label for b in app.chart.baselines] == [b.label for b in data.baselines]

    run_app(scenario, RnnTuiApp(config, preset_name="echo-raw-5"))


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
        # the fields are the ones the count task declares; echo's are hidden
        assert not app.query_one("#field-task--lags").display
        assert not app.query_one("#field-train--num_steps").display
        assert app.query_one("#field-task--bits").display
        assert app.query_one("#field-train--eval_every").display
        assert app.preview.data.preview.train_size == app.config.task.train_size

    run_app(scenario, RnnTuiApp(tiny(), preset_name="echo-raw-5"))


# --- training ----------------------------------------------------------------------------------


def test_start_pause_resume_stop():
    async def scenario(app, pilot):
        await pilot.press("s")
        assert app.state in ("starting", "training")
        await wait_for(pilot, lambda: len(app.chart.losses) > 0, 60, "the first losses")
        assert app.status.state == "training"
        # the settings lock at once; their editors grey one per frame
        assert app.settings.locked and app.query_one("#start", Button).disabled
        editors = list(app.settings.query("Input, Select, Checkbox, .field-row Button"))
        await wait_for(pilot, lambda: app.settings.settled, 10, "the editors greyed")
        assert len(editors) > 10 and all(editor.disabled for editor in editors)
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state == "paused", 10, "the pause")
        assert app.check_action("resume", ()) is True and app.check_action("pause", ()) is False
        # the run (in its own process) says where it paused, and saved its weights there
        run = app.desk.session.run_folder
        paused = lambda: run.read_status().get("state") == "paused"  # noqa: E731
        await wait_for(pilot, paused, 10, "the run's own pause")
        held = run.read_status()["step"]
        assert 0 < len(app.chart.losses) <= held == run.read_checkpoint().step

        redraws = app.chart.redraws
        await pilot.press("p")
        await wait_for(pilot, lambda: len(app.chart.losses) > held, 10, "steps after resuming")
        assert app.state == "training"
        # nothing ran while paused: the run went on from the very step it paused at
        status = run.read_status()
        assert (status["state"], status["step"]) == ("training", held)
        await wait_for(pilot, lambda: app.chart.redraws > redraws, 10, "the chart to redraw")

        await pilot.press("x")
        await wait_for(pilot, lambda: app.state == "stopped", 10, "the stop")
        steps = len(app.chart.losses)
        assert 0 < steps < 60_000
        assert app.status.step == steps
        assert app.status.loss == pytest.approx(app.chart.smoothed_loss)
        assert app.status.device
        assert not app.query_one("#start", Button).disabled
        await wait_for(pilot, lambda: app.settings.settled, 10, "the editors back")
        assert not any(editor.disabled for editor in editors if editor.id != "tensorboard")

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

    run_app(scenario, RnnTuiApp(tiny(size=LONG), preset_name="echo-raw-5"))


class NaNTrainer(Trainer):
    """A real trainer whose weights turn to NaN after the first chunk, as divergence leaves them."""

    def __init__(self, config, on_event, **options):
        def poisoning(event):
            on_event(event)
            if isinstance(event, Progress) and not getattr(self, "_poisoned", False):
                self._poisoned = True
                weights = self.compiled.variables[0]
                weights.assign(weights * float("nan"))

        super().__init__(config, poisoning, **options)


def test_a_failing_run_is_reported_and_the_app_stays_usable():
    app = NotedApp(tiny(), preset_name="echo-raw-5")
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

    run_app(scenario, app)


@pytest.mark.parametrize("key", ["q", "ctrl+q"])
def test_quit_while_training_stops_the_worker_promptly(key, tmp_path):
    app = RnnTuiApp(tiny(size=LONG), preset_name="echo-raw-5", runs_dir=tmp_path)
    timing: dict[str, float] = {}

    async def scenario(app, pilot):
        await pilot.press("s")
        await wait_for(pilot, lambda: len(app.chart.losses) > 0, 60, "training")
        timing["quit"] = time.monotonic()
        await pilot.press(key)

    run_app(scenario, app)
    session = app.desk.session
    assert session is not None and session.wait(3.0), "the training thread did not end"
    elapsed = time.monotonic() - timing["quit"]  # includes the training thread's end
    assert elapsed < 3.0, f"quitting took {elapsed:.1f} s"
    assert session.state is RunState.STOPPED
    assert 0 < session.step < 60_000
    # The stopped run kept a checkpoint, and the shell is told how to continue it.
    saved = RunFolder(session.run_folder.path)
    assert saved.read_summary()["stopped"] is True
    assert saved.read_checkpoint().step == saved.read_summary()["steps"] > 0
    assert f"rnntui train --resume {saved.name} --runs-dir {tmp_path}" in app.exit_note


# --- inspector ---------------------------------------------------------------------------------


def test_inspector_shows_the_engines_own_c_and_h():
    from rnntui.analysis.lstm_gates import parse_inputs
    from rnntui.analysis.lstm_step import inspect_lstm

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
        # the first LSTM layer's kernel, recurrent kernel and bias, as the run saved them
        checkpoint = RunFolder(app.desk.session.run_folder.path).read_checkpoint()
        weights = tuple(checkpoint.weights[:3])
        expected = inspect_lstm(parse_inputs(field.value), weights=weights)
        await wait_for(
            pilot,
            lambda: (
                inspector.trained is not None
                and inspector.inspection.steps[-1].c == expected.steps[-1].c
            ),
            30,
            "the inspection of the trained layer",
        )
        assert inspector.inspection.steps[-1].h == expected.steps[-1].h
        assert "trained first LSTM layer" in static_text(app, "#inspector-source")

    run_app(scenario, RnnTuiApp(tiny("model.cell=lstm"), preset_name="echo-lstm"))


# --- presets, help, palette, layout ------------------------------------------------------------


def test_open_and_save_presets(isolated_user_dirs):
    async def scenario(app, pilot):
        await pilot.press("o")
        assert isinstance(app.screen, PresetPicker)
        picker = app.screen
        names = [name for name, _, _ in picker.rows]
        assert "echo-lstm" in names
        # once mounted (it highlights the current preset then), move to another
        await wait_for(pilot, lambda: picker.query_one("OptionList").has_focus, 10, "the list")
        picker.query_one("OptionList").highlighted = names.index("echo-lstm")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, PresetPicker), 10, "the close")
        await wait_for(
            pilot, lambda: app.query_one("#model--cell", Select).value == "lstm", 10, "the preset"
        )
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

    run_app(scenario, RnnTuiApp(load_preset("echo-raw-5"), preset_name="echo-raw-5"))


def test_help_and_command_palette_list_every_action():
    async def scenario(app, pilot):
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)

        # the footer draws the keys that apply now, and a click on one presses it
        footer = app.query_one(AppFooter)
        shown = footer.shown()
        assert [key for key, *_ in shown][:3] == ["s", "r", "o"]
        descriptions = [description for _, _, description, _ in shown]
        start = footer.spans[descriptions.index("Help")][0]
        await pilot.click(AppFooter, offset=(start + 1, 0))
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")

        provider = RnnTuiCommands(app.screen)
        titles = []
        async for hit in provider.discover():
            titles.append(str(hit.text))
        for action in ("Start", "Pause", "Resume", "Stop", "Reset", "Open", "Save", "Inspect"):
            assert action in titles
        assert {"Clear", "Help", "Quit", "Load run", "Export"} <= set(titles)
        found = [hit async for hit in provider.search("inspe")]
        assert found and found[0].text == "Inspect"

    run_app(scenario, RnnTuiApp(load_preset("echo-raw-5"), preset_name="echo-raw-5"))


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_layout_fits_small_and_uses_large_terminals(size):
    async def scenario(app, pilot):
        panes = [app.query_one(f"#{name}") for name in ("settings", "chart", "data", "inspector")]
        # the settings alone on a small terminal, every pane at once on a large one
        wanted = [panes[0]] if size == (80, 24) else panes
        shown = lambda: [pane for pane in panes if pane.display and pane.region.area > 0]  # noqa: E731
        await wait_for(pilot, lambda: shown() == wanted, 10, f"the panes laid out at {size}")
        if size == (80, 24):
            await pilot.press("2")
            await pilot.pause()  # the tab switch is a message: under load it lands after the key
            assert [p for p in panes if p.display] == [panes[1]]
            assert app.chart.region.width == 80 and app.chart.region.height >= 18
        else:
            assert app.chart.region.width > 100
        for widget in (app.status, app.query_one("AppFooter")):
            assert widget.region.bottom <= size[1]

    run_app(scenario, RnnTuiApp(load_preset("echo-raw-5"), preset_name="echo-raw-5"), size)


# --- run folders, past runs, CSV export, signals ------------------------------------------------


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_run_gets_a_folder_and_the_curves_export_to_csv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = NotedApp(tiny(), preset_name="echo-raw-5", runs_dir=tmp_path / "runs")

    async def scenario(app, pilot):
        assert not app.query_one("#tensorboard").disabled  # installed with the test extra
        app.query_one("#tensorboard").value = True
        assert app.errors == {}  # an app option: the config is untouched
        assert app.check_action("export_csv", ()) is False  # nothing on the chart yet
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state == "finished", 60, "the run")
        saved = app.desk.session.run_folder
        assert saved is not None and saved.path.parent == tmp_path / "runs"
        assert any(f"saved in {saved.name}" in n for n in notifications(app))

        await pilot.press("e")  # hidden from the 80-column footer, but the key works
        await wait_for(pilot, lambda: list(tmp_path.glob("*.csv")), 10, "the CSV file")
        (exported,) = tmp_path.glob("rnntui-curves-*.csv")
        assert any(str(exported) in n and "curve,step,loss" in n for n in notifications(app))
        result.update(folder=saved.path, csv=exported)

    result: dict[str, Path] = {}
    run_app(scenario, app)
    folder = result["folder"]
    assert {"config.toml", "metrics", "summary.json", "checkpoint.npz", "tb"} <= {
        p.name for p in folder.iterdir()
    }
    summary = RunFolder(folder).read_summary()
    assert summary["steps"] == 200 and summary["stopped"] is False
    metrics = read_metrics(folder / "metrics.jsonl")
    assert [row["step"] for row in metrics] == list(range(1, 201))
    assert RunFolder(folder).read_checkpoint().step == 200
    assert RunFolder(folder).load_config().name == "echo-raw-5"

    rows = csv_rows(result["csv"])
    assert list(rows[0]) == ["curve", "step", "loss"]
    live = [r for r in rows if r["curve"] == "run 1: raw_rnn 4 n=5"]
    smoothed = [r for r in rows if r["curve"] == "run 1: raw_rnn 4 n=5 (smoothed)"]
    assert [int(r["step"]) for r in live] == list(range(1, 201)) and len(smoothed) == 200
    # The live curve is every step's loss, exactly as logged in the run folder.
    assert [float(r["loss"]) for r in live] == pytest.approx([m["loss"] for m in metrics])
    assert len(rows) == 400


def test_tensorboard_option_explains_why_it_is_unavailable(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name)
    )
    app = RnnTuiApp(tiny(), preset_name="echo-raw-5")
    monkeypatch.undo()

    async def scenario(app, pilot):
        box = app.query_one("#tensorboard")
        assert box.disabled and not app.settings.tensorboard
        assert "pip install 'rnntui[tensorboard]'" in plain(box.tooltip)
        assert any("rnntui[tensorboard]" in str(s.content) for s in app.query(".field-note"))
        app.settings.set_locked(False)  # unlocking the settings leaves it disabled
        assert box.disabled

    run_app(scenario, app, size=(160, 48))


def test_loading_a_past_run_adds_a_comparison_curve(tmp_path, monkeypatch):
    runs_dir = tmp_path / "runs"
    past = RunFolder.create(tiny(), runs_dir)
    Trainer(tiny(), run=past).run()  # a run made headless, as `rnntui train` does
    losses = [row["loss"] for row in read_metrics(past.path / "metrics.jsonl")]
    (runs_dir / "0-broken").mkdir()
    (runs_dir / "0-broken" / "config.toml").write_text("[train\nbroken")
    monkeypatch.chdir(tmp_path)

    async def scenario(app, pilot):
        await pilot.press("l")
        assert isinstance(app.screen, RunPicker)
        picker = app.screen
        assert [info.name for info in picker.rows] == [past.name, "0-broken"]  # newest first
        options = picker.query_one("#run-list")
        assert options.get_option_at_index(1).disabled  # damaged: shown with the reason
        assert "damaged" in str(options.get_option_at_index(1).prompt)
        assert options.highlighted == 0
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.chart.comparison, 10, "the loaded curve")
        (curve,) = app.chart.comparison
        assert curve.label.startswith("echo-raw-5 ") and curve.steps[-1] == 200
        assert curve.losses == pytest.approx(smooth(losses))  # 200 steps: not downsampled
        assert app.query_one("#chart").display  # the chart tab comes forward at 80x24
        assert any(f"{past.name}: 200 steps" in n for n in notifications(app))

        await pilot.press("e")
        await wait_for(pilot, lambda: list(tmp_path.glob("*.csv")), 10, "the CSV file")
        (exported,) = tmp_path.glob("*.csv")
        rows = csv_rows(exported)
        assert {r["curve"] for r in rows} == {curve.label} and len(rows) == 200

        await pilot.press("c")
        assert app.chart.comparison == []

    run_app(scenario, NotedApp(tiny(), preset_name="echo-raw-5", runs_dir=runs_dir))


def test_sigterm_while_training_checkpoints_and_exits(tmp_path):
    app = RnnTuiApp(tiny(size=LONG), preset_name="echo-raw-5", runs_dir=tmp_path)
    app.exit_watchdog = False  # it would end this very process (pytest) if the exit stalled

    async def scenario(app, pilot):
        assert signal.SIGTERM in app.signals_handled, "no handler: the signal would end pytest"
        await pilot.press("s")
        await wait_for(pilot, lambda: len(app.chart.losses) > 0, 60, "training")
        timing["signal"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGTERM)
        await wait_for(pilot, lambda: app.return_code is not None, 5, "the app to exit")

    timing: dict[str, float] = {}
    run_app(scenario, app)
    session = app.desk.session
    assert session is not None and session.wait(3.0), "the training thread did not end"
    elapsed = time.monotonic() - timing["signal"]  # includes the training thread's end
    assert elapsed < 3.0, f"exiting took {elapsed:.1f} s"
    assert app.return_code == 130 and app.signalled == "SIGTERM"
    run_folder = RunFolder(app.desk.session.run_folder.path)
    summary = run_folder.read_summary()
    assert summary["stopped"] is True and 0 < summary["steps"] < 60_000
    assert run_folder.read_checkpoint().step == summary["steps"]
    assert "stopped by SIGTERM" in app.exit_note


def test_tensorflow_reporting_in_as_the_app_closes_wakes_nothing():
    """The helper process can report TensorFlow ready (or failed) while the app shuts down and
    its panes' widgets are being removed: the app ignores it rather than query what is gone."""
    from rnntui.tui.messages import TensorFlowLoaded

    async def scenario(app, pilot):
        assert not app.tf_ready and not app.inspector.active  # the helper is still importing
        app.exit()
        app.tensorflow_loaded(TensorFlowLoaded("CPU"))
        app.tensorflow_loaded(TensorFlowLoaded("", "gone"))
        assert not app.tf_ready and not app.inspector.active
        assert app.status.device != "no TensorFlow"

    run_app(scenario, RnnTuiApp(tiny(), preset_name="echo-raw-5"))
