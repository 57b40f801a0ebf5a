"""Dialogs under hostile input, through the pilot: keys typed faster than a screen closes, FIFOs.

Two keys typed quickly reach the app in one read: the driver posts both key events before the app
handles the first. Posting two `Key` events back to back does exactly that. A FIFO read on the UI
thread would freeze the app, so every FIFO test runs with a watchdog that unblocks a stuck reader
(by opening the FIFO for writing) after a while and fails the test instead of hanging it.
"""

from __future__ import annotations

import errno
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input, Static

from rnntui.config import apply_overrides, load_preset
from rnntui.runs.folder import RunFolder
from rnntui.runs.resume import resume_command
from rnntui.sessions.session import RunState, Session
from rnntui.tui.app import RnnTuiApp
from rnntui.tui.messages import TrainingFinished
from rnntui.tui.screens.cell_picker import CellPicker
from rnntui.tui.screens.file_picker import FilePicker
from rnntui.tui.screens.help import HelpScreen
from rnntui.tui.screens.knob_dialog import KnobDialog
from rnntui.tui.screens.preset_picker import PresetPicker
from rnntui.tui.screens.run_picker import RunPicker
from rnntui.tui.screens.save_preset import SavePresetDialog
from tests.helpers import (
    NotedApp,
    notifications,
    plain,
    run_app,
    text_config,
    wait_for,
    words,
    write,
)

HANG_AFTER_S = 20.0


def run(scenario: Callable, app: RnnTuiApp) -> None:
    run_app(scenario, app, (100, 30))


async def settle(pilot) -> None:
    """After the first key's outcome: give the second key the time to do harm, if it would (the
    tests assert that something happened once, so there is no state to wait for); the messages
    it sets off (a reloaded preset's settings) take a few hundred milliseconds on a busy box."""
    await pilot.pause()
    await pilot.pause(0.2)
    await pilot.pause()


def press_twice_at_once(app: RnnTuiApp, key: str, character: str | None) -> None:
    """Two identical keys arriving in one read, before the app has handled the first."""
    for _ in range(2):
        app.post_message(events.Key(key, character))


@contextmanager
def fifo_watchdog(fifo: Path) -> Iterator[list[str]]:
    """Fails (through the yielded list) rather than hangs when something blocks reading `fifo`."""
    hung: list[str] = []
    done = threading.Event()

    def watch() -> None:
        if done.wait(HANG_AFTER_S):
            return
        try:  # succeeds only while a reader is blocked in open(): let it go
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno != errno.ENXIO:
                raise
            return
        hung.append(f"something blocked reading {fifo} for {HANG_AFTER_S:.0f} s")
        os.close(fd)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield hung
    finally:
        done.set()
        thread.join()


def make_past_run(runs_dir: Path, steps: int = 50) -> RunFolder:
    """A run folder as training leaves it (config, metrics, summary), without training."""
    run = RunFolder.create(load_preset("echo-raw-5"), runs_dir)
    rows = [
        {"step": i, "epoch": 0, "loss": 0.7 - i / 1000, "wall_s": i / 100}
        for i in range(1, steps + 1)
    ]
    (run.path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run.write_summary({"steps": steps, "final_loss": 0.66, "stopped": False})
    return run


# --- 1. fast double keys -------------------------------------------------------------------------


def test_double_enter_in_the_preset_picker_opens_once():
    async def scenario(app, pilot):
        await pilot.press("o")
        assert isinstance(app.screen, PresetPicker)
        press_twice_at_once(app, "enter", "\r")  # before: ScreenStackError, exit 1
        opened = lambda: any(n.startswith("Preset: opened") for n in notifications(app))  # noqa: E731
        await wait_for(pilot, opened, 10, "the preset to open")
        await settle(pilot)
        assert app.is_running and app.return_code is None
        assert len(app.screen_stack) == 1
        assert [n for n in notifications(app) if n.startswith("Preset: opened")] == [
            "Preset: opened echo-raw-5"
        ]

    run(scenario, NotedApp(load_preset("echo-raw-5"), preset_name="echo-raw-5"))


def test_double_enter_in_the_save_dialog_saves_once(isolated_user_dirs):
    async def scenario(app, pilot):
        await pilot.press("w")
        assert isinstance(app.screen, SavePresetDialog)
        app.screen.query_one("#preset-name", Input).value = "twice"
        await pilot.pause()
        press_twice_at_once(app, "enter", "\r")
        saved = isolated_user_dirs / "config" / "rnntui" / "presets" / "twice.toml"
        await wait_for(pilot, saved.is_file, 10, "the preset to be saved")
        await settle(pilot)
        assert app.is_running and len(app.screen_stack) == 1
        assert len([n for n in notifications(app) if n.startswith("Preset saved")]) == 1

    run(scenario, NotedApp(load_preset("echo-raw-5"), preset_name="echo-raw-5"))


def test_double_enter_in_the_run_picker_loads_once(tmp_path):
    past = make_past_run(tmp_path / "runs")

    async def scenario(app, pilot):
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, RunPicker)
        press_twice_at_once(app, "enter", "\r")
        await wait_for(pilot, lambda: app.chart.comparison, 10, "the loaded curve")
        await settle(pilot)
        assert app.is_running and len(app.screen_stack) == 1
        assert len(app.chart.comparison) == 1
        assert [n for n in notifications(app) if n.startswith("Run loaded")] == [
            f"Run loaded: {past.name}: 50 steps, shown as '{app.chart.comparison[0].label}' "
            "(c clears)"
        ]

    run(scenario, NotedApp(load_preset("echo-raw-5"), runs_dir=tmp_path / "runs"))


def test_double_escape_in_help_and_pickers():
    async def scenario(app, pilot):
        for key in ("question_mark", "o", "w", "l"):
            await pilot.press(key)
            assert isinstance(app.screen, HelpScreen | PresetPicker | SavePresetDialog | RunPicker)
            press_twice_at_once(app, "escape", None)
            await wait_for(
                pilot, lambda: len(app.screen_stack) == 1, 10, f"{key}'s screen to close"
            )
            await settle(pilot)
            assert app.is_running and len(app.screen_stack) == 1, key
            app.screen.set_focus(None)  # the second escape may have left a field: keys work

    run(scenario, RnnTuiApp(load_preset("echo-raw-5"), preset_name="echo-raw-5"))


def test_double_keys_in_the_cell_knob_and_file_pickers_close_them_once(tmp_path):
    """These three were plain ModalScreens: a second dismiss popped the main screen
    (ScreenStackError, the app exited; seen in tmux with `b` then two Enters in one read)."""
    text = write(tmp_path / "t.txt", words(3000))

    async def scenario(app, pilot):
        await pilot.press("b")  # the A/B cell picker
        await wait_for(pilot, lambda: isinstance(app.screen, CellPicker), 10, "the cell picker")
        press_twice_at_once(app, "escape", None)
        await wait_for(pilot, lambda: len(app.screen_stack) == 1, 10, "the cell picker to close")
        await settle(pilot)
        assert app.is_running and len(app.screen_stack) == 1
        assert not app.desk.companion.running

        app.query_one("#browse-task--path").focus()  # the file picker, for the text's path
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FilePicker), 10, "the file picker")
        press_twice_at_once(app, "escape", None)
        await wait_for(pilot, lambda: len(app.screen_stack) == 1, 10, "the file picker to close")
        await settle(pilot)
        assert app.is_running and len(app.screen_stack) == 1

        app.screen.set_focus(None)
        await pilot.press("s")  # the knob dialog needs a run that trains
        await wait_for(pilot, lambda: app.state is RunState.TRAINING, 60, "training")
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, KnobDialog), 10, "the knob dialog")
        app.screen.query_one("#knob-learning_rate").value = "0.002"
        await pilot.pause()
        press_twice_at_once(app, "enter", "\r")  # Input.Submitted twice: applied once
        applied = lambda: app.desk.session.config.train.learning_rate == 0.002  # noqa: E731
        await wait_for(pilot, applied, 10, "the new learning rate")
        await settle(pilot)
        assert app.is_running and len(app.screen_stack) == 1
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.running, 60, "the run to stop")

    # 33,000 steps (~9 s at 3,600 steps/s), stopped by x: 6,600 could end before the knob
    # dialog had opened and applied its learning rate
    config = text_config(text, "train.epochs=1000", "train.chunk=5")
    run(scenario, RnnTuiApp(config, preset_name="text-lstm", runs_dir=tmp_path / "runs"))


def test_a_run_message_that_arrives_while_the_app_shuts_down_is_ignored(tmp_path):
    """Textual stops running, then removes the screens while it still handles its queue: a run's
    TrainingFinished that came then hit an empty screen stack (ScreenStackError) or a removed
    inspector field (NoMatches), and the app crashed on its way out."""
    seen: list[TrainingFinished] = []

    async def scenario(app, pilot):
        await pilot.press("s")
        await wait_for(pilot, lambda: app.last_finished is not None, 90, "the run's end")
        await settle(pilot)
        seen.append(app.last_finished)

    class Recording(RnnTuiApp):
        last_finished: TrainingFinished | None = None

        def on_training_finished(self, message: TrainingFinished) -> None:
            self.last_finished = message

    config = apply_overrides(load_preset("echo-lstm"), ["train.epochs=1"])
    app = Recording(config, preset_name="echo-lstm", runs_dir=tmp_path / "runs")
    run(scenario, app)
    assert seen and seen[0] is not None and seen[0].event.lstm_weights is not None
    assert not app.is_running and not app.screen_stack  # torn down
    app.run_message(seen[0])  # as the queue delivered it after shutdown began: nothing happens


# --- 2. FIFOs never freeze the app ---------------------------------------------------------------


def test_a_fifo_typed_into_the_preset_picker_is_refused_and_escape_works(tmp_path):
    fifo = tmp_path / "stuck.toml"
    os.mkfifo(fifo)

    async def scenario(app, pilot):
        await pilot.press("o")
        await pilot.pause()
        picker = app.screen
        field = picker.query_one("#preset-path", Input)
        field.focus()
        field.value = str(fifo)
        await pilot.press("enter")  # before: open() blocked the UI thread; q and escape dead
        note = picker.query_one("#preset-note", Static)
        await wait_for(pilot, lambda: "FIFO" in plain(note.content), 10, "the FIFO to be named")
        shown = " ".join(plain(note.content).split())
        assert shown == f"✗ {fifo}: is a FIFO, not a preset file; give a .toml file"
        assert app.screen is picker  # still open: fix the path or escape
        started = time.monotonic()
        await pilot.press("escape")
        assert len(app.screen_stack) == 1 and time.monotonic() - started < 2
        await pilot.press("q")

    with fifo_watchdog(fifo) as hung:
        run(scenario, RnnTuiApp(load_preset("echo-raw-5"), preset_name="echo-raw-5"))
    assert not hung, hung[0]


def test_a_typed_preset_path_opens_once_checked(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\n[model]\ncell = "gru"\n')

    async def scenario(app, pilot):
        await pilot.press("o")
        await pilot.pause()
        field = app.screen.query_one("#preset-path", Input)
        field.focus()
        field.value = str(path)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.preset_name == "mine", 10, "the preset to open")
        await settle(pilot)
        assert len(app.screen_stack) == 1 and app.config.model.cell == "gru"

    run(scenario, RnnTuiApp(load_preset("echo-raw-5"), preset_name="echo-raw-5"))


def test_a_fifo_in_the_user_preset_folder_is_listed_as_broken(isolated_user_dirs):
    folder = isolated_user_dirs / "config" / "rnntui" / "presets"
    folder.mkdir(parents=True)
    fifo = folder / "stuck.toml"
    os.mkfifo(fifo)

    async def scenario(app, pilot):
        await pilot.press("o")  # before: the picker read the FIFO on the UI thread
        await pilot.pause()
        rows = {name: description for name, description, _ in app.screen.rows}
        assert rows["stuck"].startswith("(broken: cannot read (is a FIFO, not a regular file)")
        await pilot.press("escape")
        assert len(app.screen_stack) == 1

    with fifo_watchdog(fifo) as hung:
        run(scenario, RnnTuiApp(load_preset("echo-raw-5"), preset_name="echo-raw-5"))
    assert not hung, hung[0]


def test_a_run_with_fifos_is_shown_damaged_and_cannot_be_chosen(tmp_path):
    runs_dir = tmp_path / "runs"
    good = make_past_run(runs_dir)
    stuck = make_past_run(runs_dir)
    for name in ("metrics.jsonl", "summary.json"):
        (stuck.path / name).unlink()
        os.mkfifo(stuck.path / name)

    async def scenario(app, pilot):
        await pilot.press("l")
        await pilot.pause()
        picker = app.screen
        problems = {info.name: info.final for info in picker.rows}
        assert problems[stuck.name].startswith("damaged: summary.json unreadable (is a FIFO")
        options = picker.query_one("#run-list")
        assert options.get_option_at_index(0).disabled  # newest first: the damaged one
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.chart.comparison, 10, "the good run's curve")
        assert notifications(app)[-1].startswith(f"Run loaded: {good.name}")

    with fifo_watchdog(stuck.path / "summary.json") as hung:
        run(scenario, NotedApp(load_preset("echo-raw-5"), runs_dir=runs_dir))
    assert not hung, hung[0]


# --- 7. one resume command for the app and the CLI -----------------------------------------------


@pytest.mark.parametrize("given", [True, False])
def test_the_apps_resume_command_is_the_clis(tmp_path, given):
    runs_dir = tmp_path / "with space"
    app = RnnTuiApp(load_preset("echo-raw-5"), runs_dir=runs_dir if given else None)
    # the run's session, as the app makes it (runs_dir only when the user gave one)
    session = Session(load_preset("echo-raw-5"), lambda event: None)
    session.run_folder = RunFolder(runs_dir / "20260101-000000-echo-raw-5")
    session.runs_dir = runs_dir if given else None
    app.desk.session = session
    expected = resume_command("20260101-000000-echo-raw-5", runs_dir if given else None)
    assert app.resume_command() == expected
    assert ("'" in expected) is given  # the path with a space is quoted
