"""The echo task's preview: X and Y as coloured 0/1 cells, one step t marked with the inputs it
depends on (t-lag), the measured P(Y=1 | X[t-lag]) beside the formula's value, and the analytic
loss levels."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from rnntui.tasks.echo import EchoPreview
from rnntui.tui.previews.cells import cells


def render_echo(preview: EchoPreview, width: int) -> Group:
    """X and Y with one step t and its lags marked, the measured vs formula P(Y=1), levels."""
    stats = preview.statistics
    lags = [lag for lag, _ in preview.lags]
    label_width = 6
    count = max(8, min(len(preview.x), width - label_width - 1))
    x, y = preview.x[:count], preview.y[:count]
    longest = max(lags, default=0)
    # Mark one step t whose lagged inputs are all on screen, a little past the longest lag.
    t = min(count - 1, longest + max(2, (count - longest) // 3))
    marks = {t - lag: str(lag) for lag in lags if t - lag >= 0}

    ruler = Text(" " * label_width)
    axis = "".join("|" if i % 10 == 0 else " " for i in range(count))
    ruler.append(axis, style="dim")
    numbers = Text(" " * label_width)
    row = [" "] * count
    for i in range(0, count, 10):
        for j, ch in enumerate(str(i)):
            if i + j < count:
                row[i + j] = ch
    numbers.append("".join(row), style="dim")

    x_line = Text("X".ljust(label_width), style="bold")
    x_line.append_text(cells(x, marks))
    mark_line = Text("lags".ljust(label_width), style="dim")
    marker = [" "] * count
    for position, label in marks.items():
        marker[position] = label[-1]
    marker[t] = "t"
    mark_line.append("".join(marker), style="bold yellow")
    y_line = Text("Y".ljust(label_width), style="bold")
    y_line.append_text(cells(y, {t: "t"}))

    explain = Text.assemble(
        ("Y[t] depends on X[t-lag]: ", "dim"),
        *((f"lag {lag} {effect:+g}  ", "bold") for lag, effect in preview.lags),
        (f"(P(Y=1) averages {stats.p_y_theory:.3f})" if stats else "", "dim"),
    )

    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold dim")
    table.add_column("probability")
    table.add_column("measured", justify="right")
    table.add_column("theory", justify="right")
    if stats is not None:
        table.add_row(Text("P(Y=1)"), f"{stats.p_y:.4f}", f"{stats.p_y_theory:.4f}")
        for row_stats in stats.lags:
            lag = row_stats.lag
            table.add_row(
                Text(f"P(Y=1 | X[t-{lag}]=1)"),
                f"{row_stats.p_given_1:.4f}",
                f"{row_stats.p_given_1_theory:.4f}",
            )
            table.add_row(
                Text(f"P(Y=1 | X[t-{lag}]=0)"),
                f"{row_stats.p_given_0:.4f}",
                f"{row_stats.p_given_0_theory:.4f}",
            )

    levels = Text("Loss levels (nats): ", style="dim")
    for i, baseline in enumerate(preview.baselines):
        if i:
            levels.append(" · ", style="dim")
        levels.append(f"{baseline.label} ", style="")
        levels.append(f"{baseline.value:.4f}", style="bold yellow")
    return Group(numbers, ruler, x_line, mark_line, y_line, Text(), explain, table, Text(), levels)
