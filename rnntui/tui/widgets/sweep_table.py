"""A sweep's table as a pane: one row per configuration; marked rows' curves go on the chart.

It shows what `rnntui sweep` prints (mean ± std over seeds, failed, pruned, steps/s) plus, while
the sweep runs, how many of each configuration's seeds are running; its border's subtitle shows
the sweep's efficiency and this machine's ceiling, as the table's last line says them. Space (or
enter) marks a row; the widget posts `SweepTable.Marked` with every marked configuration and its
runs, and the screen draws their curves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

COLUMNS = ("", "config", "mean ± std", "seeds", "state", "steps/s")


def config_label(config: dict[str, Any]) -> str:
    """`{"train.num_steps": 2}` -> `num_steps=2` (the preset itself when there is no grid)."""
    parts = [f"{key.split('.')[-1]}={value}" for key, value in config.items()]
    return ", ".join(parts).replace(" ", "") if parts else "(preset)"


def row_state(row: dict[str, Any], live: dict[str, dict[str, Any]]) -> Text:
    """What a configuration's runs are doing: running 2 · 1 failed · pruned at epoch 2."""
    running = sum(live.get(name, {}).get("state") == "running" for name in row["runs"])
    parts: list[tuple[str, str]] = []
    if running:
        parts.append((f"running {running}", "bold cyan"))
    if row["failed"]:
        parts.append((f"{row['failed']} failed", "red"))
    if row["pruned"]:
        parts.append((f"pruned at epoch {row['pruned_at_epoch']}", "yellow"))
    waiting = row["pending"] - running
    if waiting > 0:
        parts.append((f"{waiting} to run", "dim"))
    if not parts:
        parts.append(("done", "green"))
    text = Text()
    for i, (part, style) in enumerate(parts):
        text.append(("  " if i else "") + part, style=style)
    return text


def spread(row: dict[str, Any]) -> str:
    from rnntui.sweep.table import format_spread

    return format_spread(row)


class SweepTable(DataTable):
    """The sweep's rows; `show()` updates them in place, keeping the cursor and the marks."""

    BINDINGS = [
        Binding("space", "mark", "Overlay", tooltip="draw this configuration's curves"),
    ]

    @dataclass
    class Marked(Message):
        """The marked configurations changed: (label, run names) of each, in table order."""

        table: SweepTable
        marked: list[tuple[str, list[str]]]

    def __init__(self, *, id: str | None = None, classes: str = "") -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.rows_by_key: dict[str, dict[str, Any]] = {}
        self.marked: list[str] = []

    def on_mount(self) -> None:
        for column in COLUMNS:
            self.add_column(column, key=column or "mark")

    def show(self, table: dict[str, Any], live: dict[str, dict[str, Any]]) -> None:
        """Put the sweep's current table in; `live` is status.json's runs (may be empty)."""
        from rnntui.sweep.table import performance_brief

        self.border_subtitle = performance_brief(table)
        for row in table["rows"]:
            key = config_label(row["config"])
            cells = (
                "●" if key in self.marked else " ",
                key,
                spread(row),
                str(row["seeds"]),
                row_state(row, live),
                f"{row['steps_per_s']:,.0f}" if row["steps_per_s"] is not None else "-",
            )
            if key in self.rows_by_key:
                for column, cell in zip(COLUMNS, cells, strict=True):
                    self.update_cell(key, column or "mark", cell)
            else:
                self.add_row(*cells, key=key)
            self.rows_by_key[key] = row

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # enter marks too
        self.action_mark()

    def action_mark(self) -> None:
        if not self.rows_by_key or self.cursor_row < 0:
            return
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        if key is None:
            return
        if key in self.marked:
            self.marked.remove(key)
        else:
            self.marked.append(key)
        self.update_cell(key, "mark", "●" if key in self.marked else " ")
        order = list(self.rows_by_key)
        marked = sorted(self.marked, key=order.index)
        self.post_message(self.Marked(self, [(k, self.rows_by_key[k]["runs"]) for k in marked]))
