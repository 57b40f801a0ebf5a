"""The app with the text task, through its pilot: the path field and file picker, the text
preview, the Generate pane and the hidden-unit view (for text and under echo's bits)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from textual.app import App
from textual.widgets import DirectoryTree, Input

from rnntui.config import apply_overrides, load_preset
from rnntui.runs.folder import RunFolder
from rnntui.tui.app import RnnTuiApp
from rnntui.tui.screens.file_picker import FilePicker
from rnntui.tui.widgets.generate_pane import GeneratePane
from tests.helpers import plain, run_app, static_text, text_config, wait_for, words, write


def text_app(path: Path, runs: Path, *overrides: str) -> RnnTuiApp:
    config = text_config(path, "train.chunk=5", "train.epochs=3", *overrides)
    return RnnTuiApp(config, preset_name="text-lstm", runs_dir=runs)


def backgrounds(renderable, width: int = 80) -> set:
    """The background colours a renderable paints (the hidden-unit colouring)."""
    console = Console(width=width, color_system="truecolor", file=io.StringIO())
    lines = console.render_lines(renderable, console.options.update(width=width), pad=False)
    styles = [seg.style for line in lines for seg in line if seg.style]
    return {style.bgcolor.triplet for style in styles if style.bgcolor}


def test_the_path_field_checks_the_text_and_the_picker_chooses_it(tmp_path):
    good = write(tmp_path / "texts" / "story.txt", words(6000))
    write(tmp_path / "texts" / "more.txt", words(3000, seed=1))
    (tmp_path / "texts" / "image.bin").write_bytes(b"\x89PNG\0\0" * 50)
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"hello " * 400 + "caf\xe9".encode("latin-1"))

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: app.preview.data is not None, 30, "the text preview")
        shown = plain(app.preview.content)
        assert "6,000 characters" in shown and "held out" in shown
        assert words(6000).split("\n")[0][:40] in shown  # the excerpt
        await wait_for(
            pilot, lambda: static_text(app, "#note-task--path").startswith("✓"), 10, "the note"
        )
        note = static_text(app, "#note-task--path")
        assert note.startswith("✓ 6,000 characters") and "1 file" in note

        field = app.query_one("#task--path", Input)
        field.value = str(tmp_path / "nope.txt")
        await pilot.pause()
        assert "no such file or folder" in static_text(app, "#error-task--path")
        assert app.check_action("start", ()) is None

        field.value = str(latin)  # passes the quick checks; reading it finds the bad byte
        await wait_for(pilot, lambda: "task.path" in app.data_problem, 30, "the UTF-8 problem")
        note = " ".join(static_text(app, "#note-task--path").split())  # wrapped to the pane
        assert "not UTF-8 text (byte offset 2403)" in note
        assert app.check_action("start", ()) is None
        field.value = str(tmp_path / "texts" / "more.txt")
        await wait_for(pilot, lambda: not app.data_problem, 30, "a good file again")

        # the file picker, by keyboard only: it opens at the current file's folder
        app.query_one("#browse-task--path").focus()
        await pilot.press("enter")
        assert isinstance(app.screen, FilePicker)
        tree = app.screen.query_one(DirectoryTree)
        await wait_for(pilot, lambda: len(tree.root.children) == 3, 10, "the folder listing")
        for _ in range(6):
            node = tree.cursor_node
            if node is not None and node.data is not None and node.data.path == good:
                break
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, FilePicker)
        assert field.value == str(good)
        await wait_for(pilot, lambda: not app.data_problem, 30, "the good file's preview")
        assert static_text(app, "#note-task--path").startswith("✓ 6,000 characters")

        app.query_one("#browse-task--path").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FilePicker), 5, "the picker")
        await pilot.press("u")  # use the folder: both text files, the binary skipped
        await pilot.pause()
        assert field.value == str(good.parent)
        await wait_for(pilot, lambda: "2 files" in static_text(app, "#note-task--path"), 30)
        assert "1 binary or empty skipped" in plain(app.preview.content)

    run_app(scenario, text_app(good, tmp_path / "runs"))


def test_generate_and_hidden_units_follow_the_model_as_it_trains(tmp_path):
    from rnntui.analysis.generate import sample
    from rnntui.analysis.replica import Replica

    path = write(tmp_path / "t.txt", words(20000))
    # 7,168 steps (~3 s at 2,500 steps/s): the run is paused once it has trained 20 steps, and
    # 672 (3 epochs) could all be trained before the pause arrived
    app = text_app(path, tmp_path / "runs", "train.epochs=32")

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: app.tf_ready and app.units.trace is not None, 60, "units")
        assert app.units.label == "untrained (seed 0)"
        assert app.check_action("generate", ()) is True
        await pilot.press("g")
        assert app.query_one("#generate").display
        await wait_for(pilot, lambda: app.generate_pane.samples >= 1, 60, "a sample")
        assert app.generate_pane.label.startswith("untrained")
        assert app.focused is app.query_one("#generate-prime")  # typing goes into the prime

        await pilot.press("escape", "s")  # out of the field, then the app's keys work again
        await wait_for(pilot, lambda: len(app.chart.losses) > 20, 60, "training")
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state == "paused", 20, "the pause")
        before = app.generate_pane.samples
        app.live.tick(True)  # what the timer does every few seconds while a run trains
        await wait_for(pilot, lambda: app.generate_pane.samples > before, 30, "a live sample")
        assert app.generate_pane.label.startswith("run 1 at step")
        await wait_for(pilot, lambda: app.units.label.startswith("run 1 at step"), 30)
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state == "finished", 120, "the run")
        steps = app.desk.session.step
        await wait_for(
            pilot, lambda: app.generate_pane.label == f"run 1 at step {steps:,}", 30, "final"
        )

        # the pane's text is what the engine samples from those weights
        pane = app.generate_pane
        request = pane.request()
        replica = Replica(app.desk.session.config, app.preview.data.codec)
        # the run trains in its own process: its final weights are its last checkpoint's
        replica.set_weights(RunFolder(app.desk.session.run_folder.path).read_checkpoint().weights)
        expected = sample(replica, request.prime, request.length, request.temperature, request.seed)
        assert pane.generation.text == expected.text
        assert expected.text[:30] in static_text(app, "#generate-output").replace("    ", "\t")

        # the hidden-unit view colours the excerpt, strongest unit first, chosen with keys
        await pilot.press("3")
        units = app.units
        assert app.focused is units
        ranking = units.units()
        assert [u.std for u in ranking] == sorted((u.std for u in ranking), reverse=True)
        assert units.chosen == ranking[0] and units.listed_state == "h"
        await pilot.press("down")
        assert units.chosen == ranking[1]
        await pilot.press("t")
        assert units.listed_state == "c" and units.chosen.state == "c"
        rendered = units.render()
        assert len(backgrounds(rendered)) > 10, "characters coloured by activation"
        text = plain(rendered)
        excerpt = "".join(units.trace.labels)
        assert excerpt[:20].replace("↵", "↵") in text.replace("\n", "")

    run_app(scenario, app)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_echo_units_are_drawn_under_the_bits_and_generate_is_off(size):
    config = apply_overrides(load_preset("echo-lstm"), ["task.size=20000", "train.batch_size=20"])

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: app.units.trace is not None, 60, "the units")
        assert app.check_action("generate", ()) is False
        trace = app.units.trace
        assert set(trace.labels) <= {"0", "1"} and set(trace.states) == {"h", "c"}
        rendered = plain(app.units.render())
        bits = "".join(trace.labels[:20])
        assert bits in rendered and "█" in rendered
        if size == (160, 48):
            assert app.inspector.display and not app.generate_pane.display
        await pilot.press("g")  # nothing to generate: a note, the layout stays
        assert not app.generate_pane.display or size == (80, 24)

    run_app(scenario, RnnTuiApp(config, preset_name="echo-lstm"), size)


def test_at_160x48_a_text_task_shows_generate_where_the_inspector_was(tmp_path):
    path = write(tmp_path / "t.txt", words(6000))

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: app.preview.data is not None, 30, "the preview")
        laid_out = lambda: app.generate_pane.display and app.generate_pane.region.area > 0  # noqa: E731
        await wait_for(pilot, laid_out, 10, "the Generate pane laid out")
        assert not app.inspector.display
        assert app.query_one("#data").region.area > 0 and app.units.display
        await pilot.press("i")
        assert app.inspector.display and not app.generate_pane.display
        await pilot.press("g")
        assert app.generate_pane.display and not app.inspector.display

    run_app(scenario, text_app(path, tmp_path / "runs"), (160, 48))


def test_hidden_unit_colours_span_negative_to_positive():
    from rnntui.tui.widgets.hidden_units_view import NEGATIVE, NEUTRAL, POSITIVE, unit_colour

    assert unit_colour(1.0, 1.0).triplet == POSITIVE
    assert unit_colour(-2.0, 1.0).triplet == NEGATIVE  # clipped
    assert unit_colour(0.0, 1.0).triplet == NEUTRAL
    half = np.array(unit_colour(0.5, 1.0).triplet)
    assert np.all(half == np.round((np.array(NEUTRAL) + np.array(POSITIVE)) / 2))


def test_the_generate_pane_ignores_a_late_message_while_its_lines_are_removed():
    """The app's teardown removes the pane's children one by one; a sample or a note that arrives
    then (TensorFlow reporting in as the app exits) must not crash the app with NoMatches."""

    class Host(App):
        def compose(self):
            yield GeneratePane(id="generate")

    async def scenario(app, pilot) -> None:
        pane = app.query_one(GeneratePane)
        await pane.query_one("#generate-source").remove()
        await pilot.pause()
        pane.sample(None, None, None, "untrained")  # would query the removed line
        pane.show_note("gone")
        late = GeneratePane.Sampled(pane.latest_request, None, "x", "e")
        pane.on_generate_pane_sampled(late)
        assert pane.auto is True  # the checkbox is still there
        await pane.query_one("#generate-auto").remove()
        await pilot.pause()
        assert pane.auto is False

    app = Host()
    run_app(scenario, app)
    assert not app.return_code  # the app ran to its end without an exception
