"""The series task's preview: where the file comes from, the target drawn with plotext (the
train/validation split marked), each used column's range, mean and missing cells, and the
baselines' validation MSE in the target's units."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotext as plt
from rich.console import Group
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # the task module (its codec has Keras ops for export) stays out of the app
    from rnntui.tasks.series import SeriesPreview

CHART_HEIGHT = 12
TRAIN_COLOR = (95, 215, 255)
VALID_COLOR = (255, 175, 95)
SPLIT_COLOR = (215, 175, 0)


def plot_lock():
    """plotext draws into one global figure: the lock the loss chart draws under too."""
    from rnntui.tui.widgets.loss_chart import _PLOTEXT

    return _PLOTEXT


def draw_series(preview: SeriesPreview, width: int, height: int = CHART_HEIGHT) -> Text:
    """The first target over the rows, training part and validation part in two colours."""
    if not preview.series or width < 20:
        return Text("(too narrow for the chart)", style="dim")
    name, values = preview.series[0]
    xs = list(preview.x)
    train = [(x, v) for x, v in zip(xs, values, strict=True) if x < preview.split]
    valid = [(x, v) for x, v in zip(xs, values, strict=True) if x >= preview.split]
    with plot_lock():
        plt.clear_figure()
        plt.plotsize(width, height)
        plt.theme("clear")
        for part, color, label in ((train, TRAIN_COLOR, "train"), (valid, VALID_COLOR, "valid")):
            if part:
                plt.plot([x for x, _ in part], [v for _, v in part], marker="braille",
                         color=color, label=label)  # fmt: skip
        plt.vline(preview.split, SPLIT_COLOR)
        plt.xlim(0, max(preview.rows - 1, 1))
        plt.xlabel(f"row ({preview.time or 'no time column'})")
        plt.title(f"{name}: {preview.first_time} .. {preview.last_time}, "
                  f"validation from {preview.split_time}")  # fmt: skip
        drawing = plt.build()
    return Text.from_ansi(drawing, no_wrap=True)


def render_series(preview: SeriesPreview, width: int) -> Group:
    source = Text.assemble(("series ", "dim"), (preview.source, "bold"))
    sizes = Text.assemble(
        (f"{preview.rows:,}", "bold"),
        (" rows: ", "dim"),
        (f"{preview.train_rows:,}", "bold"),
        (" train · ", "dim"),
        (f"{preview.valid_rows:,}", "bold"),
        (" validation · ", "dim"),
        (f"{preview.windows[0]:,}", "bold"),
        (" training windows, ", "dim"),
        (f"{preview.windows[1]:,}", "bold"),
        (" validation windows", "dim"),
    )
    if preview.dropped:
        sizes.append(f" · {preview.dropped:,} rows with missing cells dropped", style="dim")
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold dim")
    table.add_column("column")
    table.add_column("role")
    for column in ("low", "high", "mean", "missing"):
        table.add_column(column, justify="right")
    for facts in preview.columns:
        missing = f"{facts.missing:,}"
        if facts.missing:
            missing += " (interpolated)" if preview.missing_mode == "interpolate" else " (dropped)"
        table.add_row(
            Text(facts.name, style="bold"),
            Text(facts.role, style="dim"),
            f"{facts.low:.5g}",
            f"{facts.high:.5g}",
            f"{facts.mean:.5g}",
            missing,
        )
    levels = Text("Validation MSE of simple forecasters (target units): ", style="dim")
    for i, baseline in enumerate(preview.baselines):
        if i:
            levels.append(" · ", style="dim")
        levels.append(f"{baseline.label} ")
        levels.append(f"{baseline.value:.4g}", style="bold yellow")
    chart = draw_series(preview, max(20, width))
    return Group(source, sizes, Text(), chart, Text(), table, Text(), levels)
