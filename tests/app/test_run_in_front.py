"""Issue 24, "the app shows the run in front of you", through the pilot at 80x24 and 160x48,
asserting on what the screen shows: the sweep view lets you out and shows its numbers whole,
an attached run fills every pane, Esc gives the inspector its arrows back, dialogs and toasts
fit. (The chart's items are in test_chart.py, the screens compared in test_snapshots.py.)

Most of these need no TensorFlow: the helper is not started (`preload_tensorflow`), runs and
sweeps are folders written with fixed numbers (`live_run`, `write_sweep`)."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import pytest
from textual.widgets import Input

from rnntui.config import apply_overrides, load_preset
from rnntui.runs.folder import RunFolder
from rnntui.sweep.folder import SweepFolder
from rnntui.sweep.grid import SweepDefinition, parse_grid
from rnntui.tui.app import RnnTuiApp
from rnntui.tui.screens.cell_picker import CellPicker
from rnntui.tui.screens.help import HelpScreen
from rnntui.tui.screens.knob_dialog import KnobDialog
from rnntui.tui.sweep_app import SweepApp
from tests.helpers import (
    FIXED_PID,
    RUN_NAME,
    NotedApp,
    live_run,
    numpy_inspection,
    plain,
    process_gone,
    run_app,
    run_cli,
    screen_lines,
    screen_text,
    start_detached,
    static_text,
    text_config,
    tiny,
    wait_for,
    wait_until,
    words,
    write,
    write_sweep,
)

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


def app_without_helper(*args, **kwargs) -> RnnTuiApp:
    app = RnnTuiApp(*args, **kwargs)
    app.preload_tensorflow = False
    return app


def dialog_text(app) -> str:
    """The screen's words with box borders and line breaks taken out (a wrapped sentence reads
    whole; a cut one does not)."""
    lines = [re.sub(r"[│┃╭╮╰╯─━▔▁▎▊]", " ", line) for line in screen_lines(app)]
    return " ".join(" ".join(lines).split())


# --- item 1: rnntui sweeps --open ----------------------------------------------------------------


@pytest.mark.parametrize("key", ["escape", "q"])
def test_the_sweep_view_ends_with_escape_or_q(tmp_path, key):
    app = SweepApp(write_sweep(tmp_path))

    async def scenario(app, pilot):
        chart = app.screen.query_one("#sweep-chart")
        drawn = lambda: app.screen.snapshots >= 1 and chart.up_to_date  # noqa: E731
        await wait_for(pilot, drawn, 10, "the sweep's table and chart")
        await pilot.pause()
        assert "esc Close" in screen_text(app)
        await pilot.press(key)
        await wait_for(pilot, lambda: app.return_code is not None, 5, "the app to end")

    run_app(scenario, app)
    assert app.return_code == 0 and not app.is_running


@pytest.mark.parametrize("size", SIZES)
def test_the_sweep_view_shows_the_spread_whole_and_offers_no_missing_key(tmp_path, size):
    app = SweepApp(write_sweep(tmp_path))

    async def scenario(app, pilot):
        chart = app.screen.query_one("#sweep-chart")
        drawn = lambda: app.screen.snapshots >= 1 and chart.up_to_date  # noqa: E731
        await wait_for(pilot, drawn, 10, "the table and the empty chart")
        text = screen_text(app)
        assert "num_steps=2  0.6030 ± 0.0026" in text  # the CLI's figure, not '0.6030 ± 0'
        assert "num_steps=5  0.5104 ± –" in text
        assert "mark a configuration (space) to draw its mean loss" in text
        await pilot.press("space")
        await wait_for(pilot, lambda: chart.comparison and chart.up_to_date, 10, "the curve")
        text = screen_text(app)
        assert "mean loss of the marked configurations" in text
        assert "num_steps=2 (2 seeds)" in text
        # this view has neither s nor c
        assert "press s" not in text and "c clears" not in text

    run_app(scenario, app, size)


def test_the_sweep_view_keeps_the_spread_whole_beside_long_configurations(tmp_path):
    # three grid keys: the config column takes half of 80 columns; the std stays whole (the
    # columns after it scroll sideways instead)
    base = apply_overrides(load_preset("echo-raw-5"), ["task.size=20000", "train.batch_size=20"])
    grid = ["train.num_steps=2,5", "model.state_size=4,16", "train.learning_rate=0.1,0.05"]
    definition = SweepDefinition("long", "echo-raw-5", base, parse_grid(grid), 2)
    folder = SweepFolder.open(definition, tmp_path)
    for i, record in enumerate(folder.records(definition.specs())):
        folder.prepare(record)
        run = RunFolder(record.path)
        run.append_metrics(0, 0, [0.6] * 10, 1.0)
        run.close()
        run.write_summary(
            {
                "task": "echo",
                "epochs": 1,
                "steps": 10,
                "stopped": False,
                "final_loss": 0.5 + 0.001 * i,
                "steps_per_s": 1234.0,
                "wall_s": 0.2,
            }
        )
    app = SweepApp(folder.path)

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: app.screen.snapshots >= 1, 10, "the sweep's table")
        await pilot.pause()
        text = screen_text(app)
        assert "num_steps=2,state_size=4,learning_rate=0.1    0.5040 ± 0.0057  2" in text

    run_app(scenario, app)


# --- item 2: attaching shows the attached run in every pane --------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_attaching_shows_the_attached_run_in_every_pane(tmp_path, size):
    # the app opens on echo-raw-5 (state 4, lags 3 and 8); the run is echo-raw-10, state 16,
    # lags 4 and 9
    config = apply_overrides(
        load_preset("echo-raw-10"), ["model.state_size=16", "task.lags=[[4, 0.5], [9, -0.25]]"]
    )
    app = app_without_helper(load_preset("echo-raw-5"), preset_name="echo-raw-5",
                             runs_dir=tmp_path, attach=RUN_NAME)  # fmt: skip

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: app.status.step == 1_500, 20, "the run's steps")
        await wait_for(pilot, lambda: "lag 4" in plain(app.preview.content), 20, "its data")
        assert app.query_one("#model--state_size", Input).value == "16"
        assert app.query_one("#train--num_steps", Input).value == "10"
        assert app.query_one("#task--lags", Input).value == "4:0.5, 9:-0.25"
        assert plain(app.query_one("#preset-title").content).startswith(RUN_NAME)
        data = plain(app.preview.content)
        assert "lag 4 +0.5  lag 9 -0.25" in data and "lag 3" not in data
        await wait_for(pilot, lambda: app.chart.up_to_date, 10, "the chart drawn")
        text = screen_text(app)
        assert f"run 1: {RUN_NAME} (pid {FIXED_PID})  step 1500" in text
        assert "step 1,500/2,500" in text  # its own length, not echo-raw-5's
        if size == (80, 24):
            await pilot.press("1")  # the Settings tab
            await pilot.pause()
            text = screen_text(app)
        assert RUN_NAME in text and re.search(r"state size\s+16", text)

    with live_run(tmp_path, RUN_NAME, config, 1_500):
        run_app(scenario, app, size)


# --- item 5: focus -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_escape_in_the_inspectors_field_gives_the_arrows_back(size):
    app = app_without_helper(load_preset("echo-raw-5"), preset_name="echo-raw-5")

    async def scenario(app, pilot):
        inspector = app.inspector
        inspector.compute = numpy_inspection  # the inspection without TensorFlow
        inspector.activate()
        await pilot.press("i", "tab")
        field = app.query_one("#inspector-input", Input)
        assert app.focused is field
        field.value = "1,0; 0,1; 1,1"
        steps = lambda: len(getattr(inspector.inspection, "steps", ())) == 3  # noqa: E731
        await wait_for(pilot, steps, 10, "the three-step inspection")
        await pilot.press("escape")  # and nothing else: no i, no tabs
        assert app.focused is inspector
        await pilot.press("right", "right")
        await pilot.pause()
        assert inspector.index == 2 and "step 3/3" in screen_text(app)
        await pilot.press("left")
        await pilot.pause()
        assert "step 2/3" in screen_text(app)
        assert field.value == "1,0; 0,1; 1,1"  # the arrows went to the pane, not the field

    run_app(scenario, app, size)


# --- item 6: dialogs, help, wording and toasts ---------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_the_ab_dialog_says_its_whole_sentence(size):
    app = app_without_helper(tiny(), preset_name="echo-raw-5")

    async def scenario(app, pilot):
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, CellPicker), 5, "the A/B dialog")
        await pilot.pause()
        text = dialog_text(app)
        assert "Same data and seed; it starts with it, and both curves share the chart." in text
        assert "enter: start · escape: cancel" in text
        await pilot.press("escape")

    run_app(scenario, app, size)


def test_the_help_names_capital_g_for_the_gradient_reach():
    app = app_without_helper(tiny(), preset_name="echo-raw-5")

    async def scenario(app, pilot):
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), 5, "the help")
        await pilot.pause()
        assert "G Reach — probe: lag effects or gradient reach" in dialog_text(app)
        app.screen.query_one("#dialog").scroll_end(animate=False)  # down to the panes' part
        await pilot.pause()
        text = dialog_text(app)
        assert "G switches to the gradient reach" in text
        assert "g switches" not in text

    run_app(scenario, app, (160, 48))


@pytest.mark.parametrize("size", SIZES)
def test_toasts_stay_above_the_status_bar(size):
    app = app_without_helper(tiny(), preset_name="echo-raw-5")
    long = "a run folder with a long name\nsaved in 20260101-120000-echo-raw-5\ncontinue: " + (
        "rnntui train --resume 20260101-120000-echo-raw-5 --runs-dir /a/long/path/to/runs"
    )

    async def scenario(app, pilot):
        for n in range(3):
            app.notify(long, title=f"Finished {n}", timeout=60)
        await pilot.pause(0.5)
        lines = screen_lines(app)
        status, footer = app.status.region.y, app.query_one("AppFooter").region.y
        covered = [n for n, line in enumerate(lines) if "▌" in line]  # a toast's left edge
        assert covered and "Finished 0" in "\n".join(lines)
        # the status line and the footer read whole, under the toasts
        assert max(covered) < status < footer == size[1] - 1
        assert lines[status].lstrip().startswith("● loading TensorFlow")
        assert lines[footer].rstrip().endswith("q Quit")
        assert len(covered) <= size[1] // 2  # at most half the screen
        if size == (80, 24):
            assert all(line.index("▌") >= 30 for line in lines if "▌" in line)  # narrow

    run_app(scenario, app, size)


def test_a_description_gives_way_once_its_settings_change(tmp_path):
    text = write(tmp_path / "t.txt", words(3000))
    other = write(tmp_path / "u.txt", words(3000, seed=1))
    config = text_config(text)
    app = app_without_helper(config, preset_name="text-lstm", runs_dir=tmp_path)

    async def scenario(app, pilot):
        title = lambda: plain(app.query_one("#preset-title").content)  # noqa: E731
        await wait_for(pilot, lambda: app.preview.data is not None, 20, "the text's preview")
        assert config.description and config.description in title()
        app.query_one("#task--path", Input).value = str(other)
        await wait_for(pilot, lambda: "edited from the preset" in title(), 10, "the new title")
        assert title() == "text-lstm  edited from the preset: task.path"
        app.query_one("#task--path", Input).value = str(text)  # back: the preset's own words
        await wait_for(pilot, lambda: config.description in title(), 10, "the old title")

    run_app(scenario, app, (160, 48))


def test_characters_read_as_the_unknown_symbol_are_called_that(tmp_path):
    # 40 symbols kept of a text with 52 letters: the rarer ones are read as the unknown symbol
    letters = "".join(chr(ord("a") + i % 26) * (i + 1) for i in range(52))
    path = write(tmp_path / "t.txt", (letters.upper() + letters + "\n") * 20)
    config = text_config(path, "task.max_vocab=40")
    app = app_without_helper(config, preset_name="text-lstm", runs_dir=tmp_path)

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: app.preview.data is not None, 20, "the text's preview")
        shown = " ".join(plain(app.preview.content).split())
        assert re.search(r"40 symbols \([\d,]+ characters read as the unknown symbol\)", shown)
        assert "unknown)" not in shown

    run_app(scenario, app, (160, 48))


def test_the_knob_dialog_closes_when_its_run_ends(tmp_path):
    # a real run in its child process; it ends (stopped) while the dialog is open
    app = RnnTuiApp(tiny(size=6_000_000), preset_name="echo-raw-5", runs_dir=tmp_path)

    async def scenario(app, pilot):
        await pilot.press("s")
        await wait_for(pilot, lambda: len(app.chart.losses) > 0, 90, "training")
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, KnobDialog), 5, "the knob dialog")
        assert "while it trains" in dialog_text(app)
        app.desk.session.stop()  # as another process or a signal would end it
        await wait_for(pilot, lambda: app.state == "stopped", 30, "the run to end")
        await wait_for(pilot, lambda: not isinstance(app.screen, KnobDialog), 5, "the dialog")
        assert "while it trains" not in screen_text(app)
        summary = json.loads(Path(app.desk.session.run_folder.path, "summary.json").read_text())
        assert summary["stopped"] is True

    run_app(scenario, app)


# --- with the TensorFlow helper ------------------------------------------------------------------


def test_an_attached_runs_probe_reads_its_newest_checkpoint(tmp_path):
    # item 2: the probe said 'not trained yet' at step 128,700 of an attached run
    folder, pid = start_detached(tmp_path)
    try:
        checkpoint = folder / "checkpoint.npz"
        wait_until(checkpoint.exists, 90, "the run's first checkpoint")
        app = RnnTuiApp(tiny(), preset_name="echo-raw-5", runs_dir=tmp_path, attach=folder.name)

        async def scenario(app, pilot):
            await wait_for(pilot, lambda: app.status.step > 0, 60, "the run's steps")
            await pilot.press("v")
            await wait_for(pilot, lambda: app.probe.result is not None, 90, "a probe")
            await pilot.pause()
            text = screen_text(app)
            assert "not trained yet" not in text and "lag 3: ?" not in text
            assert f"step {app.probe.result.step:,}" in text and app.probe.result.step > 0
            assert re.search(r"lag 3: [+-]\d\.\d{3} \(true \+0\.500\)", text)

        run_app(scenario, app, (160, 48))
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_until(lambda: process_gone(pid), 30, "the run to stop")


def test_g_puts_the_cursor_in_the_prime_and_enter_samples_again(tmp_path, monkeypatch):
    # item 5: at 160x48 the Generate pane shows already; g did not focus the prime, so typing
    # 'The ' fired e (a CSV export); Enter in the prime did not sample. (The text is lower case:
    # 'the ', with e and h, app keys both.)
    monkeypatch.chdir(tmp_path)  # where e would write its CSV
    path = write(tmp_path / "t.txt", words(6000))
    app = NotedApp(text_config(path), preset_name="text-lstm", runs_dir=tmp_path / "runs")

    async def scenario(app, pilot):
        pane = app.generate_pane
        await wait_for(pilot, lambda: app.tf_ready and pane.samples >= 1, 90, "a first sample")
        assert pane.display
        app.screen.set_focus(None)
        await pilot.press("g")
        prime = app.query_one("#generate-prime", Input)
        assert app.focused is prime
        before = pane.samples
        await pilot.press("t", "h", "e", "space")
        assert prime.value.endswith("the ")
        await pilot.press("enter")
        await wait_for(pilot, lambda: pane.samples > before, 60, "a sample from the new prime")
        assert pane.generation.prime.endswith("the ")
        assert "the " in static_text(app, "#generate-output")
        assert not list(tmp_path.glob("*.csv")) and not any("xport" in n for n in app.notes)

    run_app(scenario, app, (160, 48))


def test_an_attached_text_runs_captions_follow_it(tmp_path):
    # item 2: after attaching, Generate and Hidden units still described the app's own model
    path = write(tmp_path / "t.txt", words(20000))
    preset = write(tmp_path / "text.toml", text_config(path, "train.epochs=500").to_toml())
    runs = tmp_path / "runs"
    result = run_cli("train", str(preset), "--detach", "--runs-dir", str(runs))
    assert result.returncode == 0, result.stderr
    pid = int(result.stdout.split("(pid ")[1].split(")")[0])
    (folder,) = runs.iterdir()
    try:
        wait_until((folder / "checkpoint.npz").exists, 90, "the run's first checkpoint")
        app = RnnTuiApp(tiny(), preset_name="echo-raw-5", runs_dir=runs, attach=folder.name)

        async def scenario(app, pilot):
            await wait_for(pilot, lambda: app.status.step > 0, 60, "the run's steps")
            assert app.chart.run_label.startswith(f"run 1: {folder.name}")
            caption = re.compile(r"run 1 at step ([\d,]+)")
            traced = lambda: caption.match(app.units.label)  # noqa: E731
            await wait_for(pilot, traced, 60, "the hidden units of the attached run")
            await pilot.press("g")
            sampled = lambda: caption.match(app.generate_pane.label)  # noqa: E731
            await wait_for(pilot, sampled, 60, "a sample of the attached run")
            step = int(sampled().group(1).replace(",", ""))
            assert 0 < step <= app.status.step  # its newest checkpoint, not the app's model
            assert "untrained" not in screen_text(app)

        run_app(scenario, app, (160, 48))
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_until(lambda: process_gone(pid), 30, "the run to stop")
