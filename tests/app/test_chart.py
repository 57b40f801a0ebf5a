"""Issue 24, item 4: the chart never mixes tasks' scales, its labels never overwrite each other,
and a knob mark stays with its own run. A live run past the chart's cap of exact steps is kept in
blocks: it still draws its spikes, exports and is kept as a faded curve."""

from __future__ import annotations

import asyncio

import numpy as np
from textual.app import App

from rnntui.runs.curves import SMOOTHINGS, comparison_curve, downsample, smooth, smoothed_line
from rnntui.tasks.base import Baseline
from rnntui.tui.curves_csv import curves_to_csv
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


def test_below_the_cap_the_chart_draws_what_it_always_drew():
    """Every step kept: the live line is `downsample` of the losses and of their smoothed line,
    exactly (the snapshots' drawings rest on it), whatever the smoothing."""
    losses = [0.7 - i / 5000 + (i % 7) / 50 for i in range(3000)]
    chart = LossChart()
    chart.start_run("run 1", 3000)
    for start in range(0, 3000, 250):
        chart.add_losses(tuple(losses[start : start + 250]))
    assert chart.steps == 3000 and chart.losses == losses and chart.smoothed == smooth(losses)
    values = np.asarray(losses)
    for smoothing in SMOOTHINGS:
        chart.smoothing = smoothing
        raw_x, raw_y, smooth_x, smooth_y, low, high = chart.drawn_line(chart.live_curve, 320)
        want_x, want_y = downsample(values, 320)
        assert raw_x.tolist() == want_x.tolist() and raw_y.tolist() == want_y.tolist()
        line = smoothed_line(values, smoothing, smooth(losses))
        if line is None:
            assert smooth_x is None and smooth_y is None
        else:
            assert [smooth_x.tolist(), smooth_y.tolist()] == [
                a.tolist() for a in downsample(line, 320)
            ]
        assert low is None and high is None


def long_chart(steps: int) -> tuple[LossChart, list[float]]:
    """A chart whose live run is past its (small) cap, and the run's losses."""
    chart = LossChart(cap=4096, block=64)
    chart.show_task("echo")
    chart.start_run("run 5: rnn 4 n=5", steps)
    losses = [0.7 * 0.9999**i + (i % 13) / 100 for i in range(steps)]
    losses[steps // 3] = 9.0  # a spike, long folded into a block
    for start in range(0, steps, 1000):
        chart.add_losses(tuple(losses[start : start + 1000]))
    chart.add_mark(steps // 2, "lr 0.02")
    return chart, losses


def test_past_the_cap_the_chart_exports_and_keeps_its_curve():
    chart, losses = long_chart(20_000)
    assert chart.steps == 20_000 and 4096 - 64 < len(chart.losses) <= 4096
    assert chart.losses == losses[-len(chart.losses) :]
    assert chart.smoothed_loss == smooth(losses)[-1]
    chart.start_companion("B: lstm 4")
    chart.add_companion_losses(tuple(losses[:9000]))
    (run, steps, raw), (_, smoothed_steps, smoothed), (companion, b_steps, _) = chart.shown_curves()
    assert run == "run 5: rnn 4 n=5" and companion == "B: lstm 4"
    assert steps == smoothed_steps and steps[-1] == 20_000 and b_steps[-1] == 9000
    assert all(a < b for a, b in zip(steps, steps[1:], strict=False))
    assert all(a < b for a, b in zip(b_steps, b_steps[1:], strict=False))
    assert raw[-len(chart.losses) :] == tuple(chart.losses) and len(smoothed) == len(steps)
    assert curves_to_csv(chart.shown_curves()).count("\n") == 1 + 2 * len(steps) + len(b_steps)

    chart.finish_companion("B 0.40")
    chart.finish_run("#5 rnn 4 n=5 0.41")
    assert chart.steps == 0 and chart.shown_curves()[0][0] == "B 0.40"
    kept, b_kept = chart.comparison[1], chart.comparison[0]
    assert kept.steps[-1] == 20_000 and b_kept.steps[-1] == 9000 and len(kept.steps) <= 1000
    assert all(a < b for a, b in zip(kept.steps, kept.steps[1:], strict=False))
    assert kept.marks == ((10_000, "lr 0.02"),)


def test_past_the_cap_the_chart_draws_its_spikes():
    def prepare(chart: LossChart) -> None:
        long, _ = long_chart(30_000)
        chart.show_task("echo")
        chart.start_run(long.run_label, 30_000)
        chart.live_curve = long.live_curve
        chart.add_mark(15_000, "lr 0.02")
        chart.smoothing = SMOOTHINGS[2]  # the raw points: each column's range, its mean

    chart = LossChart(cap=4096, block=64)
    text = chart_text(chart, prepare)
    assert "run 5: rnn 4 n=5  step 30000  smoothed" in text and "lr 0.02" in text
    line = chart.drawn_line(chart.live_curve, 180)
    assert line.high.max() == 9.0 and line.raw_x[-1] == 30_000


def test_a_drawing_that_fails_says_so_on_the_chart(monkeypatch):
    """plotext failing on the drawing thread (made to, here: nothing real fails it) is shown on
    the chart, not lost with the worker while the chart keeps its old drawing for ever."""
    import plotext

    def fail() -> str:
        raise RuntimeError("no room for the figure")

    monkeypatch.setattr(plotext, "build", fail)
    chart = LossChart()

    class Host(App):
        def compose(self):
            yield chart

    async def scenario() -> str:
        async with Host().run_test(size=(100, 30)) as pilot:
            chart.start_run("run 1", 100)
            chart.add_losses(tuple(0.7 - i / 900 for i in range(100)))
            for _ in range(100):
                if chart.up_to_date:
                    break
                await pilot.pause(0.05)
            return str(chart.render())

    shown = asyncio.run(scenario())
    assert shown == "the chart could not be drawn: RuntimeError: no room for the figure"
