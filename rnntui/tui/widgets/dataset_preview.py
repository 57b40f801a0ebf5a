"""What the network sees: the first stretch of the data and how it was generated.

Echo: X and Y as coloured 0/1 cells, one step t marked with the inputs it depends on (t-lag), and
the measured P(Y=1 | X[t-lag]) beside the formula's value, plus the analytic loss levels. Count:
sample strings with their counts and the train/test split. The data is generated in a thread
worker (a million samples take a moment), so typing in the settings never stutters.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Static

from rnntui.config import TaskConfig

PREVIEW_LENGTH = 200  # samples fetched; the render shows as many as fit


@dataclass(frozen=True)
class PreviewData:
    """Everything the pane shows, computed off the UI thread."""

    kind: str
    preview: object  # EchoPreview | CountPreview
    statistics: object | None  # EchoStatistics for echo
    baselines: tuple


class DatasetPreview(Static):
    """Shows a task's data; `show_task` recomputes it in the background when the task changes."""

    @dataclass
    class Ready(Message):
        """Background preview computed for the task described by `key`."""

        key: tuple
        data: PreviewData | None
        error: str = ""

    def __init__(self, *, id: str | None = None, classes: str = "") -> None:
        super().__init__("computing preview…", id=id, classes=classes)
        self._key: tuple | None = None
        self.data: PreviewData | None = None

    def show_task(self, task: TaskConfig, seed: int) -> None:
        """Preview `task` (generated with `seed`); does nothing if it is already shown."""
        key = (repr(task), seed)
        if key == self._key:
            return
        self._key = key
        self._compute(key, copy.deepcopy(task), seed)

    @work(thread=True, exclusive=True, group="preview")
    def _compute(self, key: tuple, task: TaskConfig, seed: int) -> None:
        from rnntui.tasks import make_task

        try:
            made = make_task(task, seed)
            if task.kind == "echo":
                data = PreviewData(
                    "echo", made.preview(PREVIEW_LENGTH), made.statistics(0), made.baselines()
                )
            else:
                data = PreviewData("count", made.preview(12), None, ())
        except Exception as error:  # a preview must never take the app down
            self.post_message(self.Ready(key, None, f"{type(error).__name__}: {error}"))
            return
        self.post_message(self.Ready(key, data))

    def on_dataset_preview_ready(self, message: Ready) -> None:
        # Not stopped: the app hears it too (the chart shows the task's baselines before training).
        if message.key != self._key or not self.is_attached:
            return  # an older request finished after a newer one was made, or we are closing
        if message.data is None:
            self.data = None
            self.update(Text(f"no preview: {message.error}", style="red"))
            return
        self.data = message.data
        self.refresh_view()

    def on_resize(self) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        if self.data is None:
            return
        width = max(20, self.size.width or 78)
        if self.data.kind == "echo":
            self.update(render_echo(self.data, width))
        else:
            self.update(render_count(self.data))


# --- rendering (pure functions of the data) -----------------------------------------------------

ONE = "black on #5fd787"
ZERO = "#8a8a8a on #303030"


def _cells(values: tuple[int, ...], marks: dict[int, str] | None = None) -> Text:
    text = Text()
    for t, value in enumerate(values):
        style = ONE if value else ZERO
        if marks and t in marks:
            style += " bold underline"
        text.append(str(value), style=style)
    return text


def render_echo(data: PreviewData, width: int) -> Group:
    preview, stats = data.preview, data.statistics
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
    x_line.append_text(_cells(x, marks))
    mark_line = Text("lags".ljust(label_width), style="dim")
    marker = [" "] * count
    for position, label in marks.items():
        marker[position] = label[-1]
    marker[t] = "t"
    mark_line.append("".join(marker), style="bold yellow")
    y_line = Text("Y".ljust(label_width), style="bold")
    y_line.append_text(_cells(y, {t: "t"}))

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
    for i, baseline in enumerate(data.baselines):
        if i:
            levels.append(" · ", style="dim")
        levels.append(f"{baseline.label} ", style="")
        levels.append(f"{baseline.value:.4f}", style="bold yellow")
    return Group(numbers, ruler, x_line, mark_line, y_line, Text(), explain, table, Text(), levels)


def render_count(data: PreviewData) -> Group:
    preview = data.preview
    head = Text.assemble(
        ("Every ", "dim"),
        (f"{len(preview.strings[0]) if preview.strings else '?'}-bit", "bold"),
        (" string, shuffled: ", "dim"),
        (f"{preview.train_size}", "bold"),
        (" train · ", "dim"),
        (f"{preview.test_size}", "bold"),
        (" test. The label is how many ones it holds.", "dim"),
    )
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold dim")
    table.add_column("string")
    table.add_column("count", justify="right")
    for string, count in zip(preview.strings, preview.counts, strict=False):
        table.add_row(_cells(tuple(int(c) for c in string)), str(count))
    return Group(head, Text(), table)
