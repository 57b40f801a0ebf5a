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
WIDE_TABLE = 64  # below this width a table of the columns cuts its headers and cells
TRAIN_COLOR = (95, 215, 255)
VALID_COLOR = (255, 175, 95)
SPLIT_COLOR = (215, 175, 0)


def plot_lock():
    """plotext draws into one global figure: the lock the loss chart draws under too."""
    from rnntui.tui.widgets.loss_chart import _PLOTEXT

    return _PLOTEXT


def draw_series(preview: SeriesPreview, width: int, height: int = CHART_HEIGHT) -> Text:
    """The first target over the rows, training part and validation part in two colours, the
    x axis labelled with the time column's values (row numbers without one)."""
    if not preview.series or width < 20:
        return Text("(too narrow for the chart)", style="dim")
    _, values = preview.series[0]
    xs = list(preview.x)
    train = [(x, v) for x, v in zip(xs, values, strict=True) if x < preview.split]
    valid = [(x, v) for x, v in zip(xs, values, strict=True) if x >= preview.split]
    ticks = x_ticks(preview, width)
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
        plt.xticks([x for x, _ in ticks], [label for _, label in ticks])
        plt.xlabel(preview.time or "row")
        drawing = plt.build()
    return Text.from_ansi(drawing, no_wrap=True)


def x_ticks(preview: SeriesPreview, width: int) -> list[tuple[float, str]]:
    """Evenly spaced points of the chart and their labels (times, else 1-based row numbers), as
    many as fit the width with room between them."""
    labels = preview.times or tuple(f"{int(x) + 1:,}" for x in preview.x)
    if not labels:
        return []
    room = max(len(label) for label in labels) + 3
    count = max(2, min(5, (width - 8) // room))
    last = len(labels) - 1
    picks = sorted({round(i * last / (count - 1)) for i in range(count)})
    return [(preview.x[i], labels[i]) for i in picks]


def heading(preview: SeriesPreview) -> Text:
    """The target, its time span and where validation starts (above the chart: plotext drops a
    title wider than the chart)."""
    name = preview.series[0][0] if preview.series else ""
    return Text.assemble(
        (name, "bold"),
        (f" {preview.first_time} .. {preview.last_time}", ""),
        (" · validation from ", "dim"),
        (preview.split_time, "bold"),
    )


def column_facts(preview: SeriesPreview, width: int) -> Table | Text:
    """Each column's role, range, mean and missing cells: a table where it fits, else a line a
    column (a narrow Data pane cut the table's headers and cells)."""
    note = {"interpolate": "interpolated", "drop": "dropped"}.get(preview.missing_mode, "")
    if width >= WIDE_TABLE:
        table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold dim")
        table.add_column("column")
        table.add_column("role")
        for column in ("low", "high", "mean", "missing"):
            table.add_column(column, justify="right")
        for facts in preview.columns:
            missing = f"{facts.missing:,}" + (f" ({note})" if facts.missing and note else "")
            table.add_row(
                Text(facts.name, style="bold"),
                Text(facts.role, style="dim"),
                f"{facts.low:.5g}",
                f"{facts.high:.5g}",
                f"{facts.mean:.5g}",
                missing,
            )
        return table
    lines = Text()
    for i, facts in enumerate(preview.columns):
        if i:
            lines.append("\n")
        lines.append(facts.name, style="bold")
        lines.append(f" {facts.role or 'not used'}", style="dim")
        lines.append(f"  {facts.low:.5g} .. {facts.high:.5g}, mean {facts.mean:.5g}")
        if facts.missing:
            lines.append(f", {facts.missing:,} missing" + (f" ({note})" if note else ""))
    return lines


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
    levels = Text("Validation MSE of simple forecasters (target units): ", style="dim")
    for i, baseline in enumerate(preview.baselines):
        if i:
            levels.append(" · ", style="dim")
        levels.append(f"{baseline.label} ")
        levels.append(f"{baseline.value:.4g}", style="bold yellow")
    chart = draw_series(preview, max(20, width))
    facts = column_facts(preview, width)
    return Group(source, sizes, Text(), heading(preview), chart, Text(), facts, Text(), levels)
