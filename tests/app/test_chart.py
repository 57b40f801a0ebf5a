"""Issue 24, item 4: the chart never mixes tasks' scales, its labels never overwrite each other,
and a knob mark stays with its own run."""

from __future__ import annotations

import asyncio

from textual.app import App

from rnntui.runs.curves import comparison_curve
from rnntui.tasks.base import Baseline
from rnntui.tui.widgets.loss_chart import Label, LossChart, place_labels


def overlapping(placed: list[Label], xmax: float, low: float, high: float, w: int, h: int):
    """Pairs of placed labels sharing a row and a column (the layout's own grid)."""
    cols, rows = w - 9, h - 5
    row_height = (high - low) / (rows - 1)
    cells = []
    for label in placed:
        column = round(label.x / xmax * (cols - 1))
        first = column - len(label.text) if label.align == "right" else column
        cells.append((round((high - label.y) / row_height), max(0, first), first + len(label.text)))
    return [
        (a, b)
        for i, a in enumerate(cells)
        for b in cells[i + 1 :]
        if a[0] == b[0] and not (a[2] < b[1] or b[2] < a[1])
    ]


def test_labels_that_would_overlap_move_a_row_or_are_left_out():
    # the case: a faded run ending on the lag-3 level, its label on the level's label
    labels = [
        Label(0, " lag 3 0.5192 ", 0.0, 0.5192, (1, 1, 1), "left"),
        Label(3, "#1 rnn 4 n=5 0.519", 1_000.0, 0.5192, (2, 2, 2)),
        Label(3, "#2 rnn 4 n=5 0.520", 1_000.0, 0.5200, (2, 2, 2)),
        Label(3, "#3 rnn 4 n=5 0.521", 1_000.0, 0.5210, (2, 2, 2)),
        Label(3, "#4 rnn 4 n=5 0.519", 1_000.0, 0.5190, (2, 2, 2)),
    ]
    placed = place_labels(labels, 1_000.0, 0.45, 0.70, 60, 16)
    assert placed[0].text == " lag 3 0.5192 " and placed[0].y == 0.5192  # a level keeps its row
    assert overlapping(placed, 1_000.0, 0.45, 0.70, 60, 16) == []
    assert 2 <= len(placed) < len(labels)  # some moved a row, the last had no room


def chart_text(chart: LossChart, prepare) -> str:
    """What the chart draws once `prepare(chart)` has set it up (a real Textual app)."""

    class Host(App):
        def compose(self):
            yield chart

    async def scenario() -> str:
        app = Host()
        async with app.run_test(size=(100, 30)) as pilot:
            prepare(chart)
            while not chart.up_to_date:  # the drawing of this data, made on a thread
                await pilot.pause(0.05)
            return str(chart.render())

    return asyncio.run(scenario())


def test_faded_curves_of_another_task_are_hidden_and_do_not_set_the_axes():
    echo = comparison_curve("#1 echo", [4.6] + [0.5] * 999, task="echo")
    echo = echo.__class__(echo.label, tuple(s * 78 for s in echo.steps), echo.losses, (), "echo")

    def prepare(chart: LossChart) -> None:
        chart.comparison = [echo]
        chart.show_task("text")
        chart.set_baselines((Baseline("unigram", 2.9),))
        chart.start_run("run 2: lstm 128", 510)
        chart.add_losses(tuple(3.0 - i / 300 for i in range(510)))

    text = chart_text(LossChart(), prepare)
    assert "1 of another task hidden" in text
    assert "78,000" not in text and "78000" not in text  # the echo curve's length set no axis
    assert "#1 echo" not in text
    chart = LossChart()
    chart.comparison = [echo]
    chart.show_task("text")
    assert chart.shown_comparison == [] and chart.shown_curves() == []
    chart.show_task("echo")
    assert chart.shown_comparison == [echo]


def test_a_knob_mark_stays_with_its_run():
    chart = LossChart()

    def prepare(chart: LossChart) -> None:
        chart.show_task("echo")
        chart.start_run("run 3: rnn 4 n=5", 300)
        chart.add_losses(tuple(0.7 - i / 1000 for i in range(300)))
        chart.add_mark(150, "lr 0.02")
        chart.finish_run("#3 rnn 4 n=5 0.40")
        chart.start_run("run 4: rnn 4 n=5", 300)  # the next run has no knob change of its own
        chart.add_losses(tuple(0.7 - i / 900 for i in range(100)))

    text = chart_text(chart, prepare)
    assert chart.marks == [] and chart.comparison[0].marks == ((150, "lr 0.02"),)
    assert "▲lr 0.02" in text  # drawn on run 3's own curve, not as a line across run 4
