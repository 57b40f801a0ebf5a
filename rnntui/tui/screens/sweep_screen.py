"""A sweep folder in the app, live while the sweep runs: its table, and marked rows' curves.

Every second a thread worker reads the folder (the runs' summaries, status.json, and the metrics
of the marked configurations) and posts one immutable snapshot; the screen only puts it on the
widgets. Nothing here talks to the sweep's processes: the folder is the interface, so a sweep
started from another terminal, or on Ray, shows the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Label

from rnntui.runs.curves import COMPARISON_POINTS, FinishedCurve
from rnntui.tasks.base import Baseline
from rnntui.tui.widgets.loss_chart import LossChart
from rnntui.tui.widgets.sweep_table import SweepTable

POLL_INTERVAL_S = 1.0


@dataclass
class SweepSnapshot(Message):
    """What the folder held at one moment (plain values, made in a worker thread)."""

    title: str
    table: dict[str, Any]
    live: dict[str, dict[str, Any]]
    curves: tuple[FinishedCurve, ...]
    error: str = ""


def read_snapshot(path: Path, marked: list[tuple[str, list[str]]]) -> SweepSnapshot:
    """The sweep's table, its live status and the mean loss curve of each marked configuration."""
    from rnntui.config import ConfigError
    from rnntui.sweep.folder import SweepFolder
    from rnntui.sweep.table import build_table

    folder = SweepFolder(path)
    try:
        definition = folder.definition()
        records = folder.records(definition.specs())
    except ConfigError as error:
        return SweepSnapshot(f"sweep {path.name}", {"rows": []}, {}, (), error=str(error))
    status = folder.read_status()
    # status.json carries the sweep's efficiency and ceiling (live while it runs)
    table = build_table(
        definition.name, str(path), records, folder.read_pruned(), status.get("wall_s"), status
    )
    finished = sum(record.state == "finished" for record in records)
    title = (
        f"sweep {definition.name} · {definition.preset} · {status.get('state', 'not started')} · "
        f"{finished}/{len(records)} runs finished · {path}"
    )
    curves = []
    for label, runs in marked:
        bins, seeds = folder.mean_curve(runs, COMPARISON_POINTS)
        if len(bins):
            curves.append(bins.as_curve(f"{label} ({seeds} seeds)"))
    return SweepSnapshot(title, table, status.get("runs", {}), tuple(curves))


class SweepScreen(Screen[None]):
    """Open with `app.push_screen(SweepScreen(path))`; escape or q closes it."""

    BINDINGS = [Binding("escape,q", "close", "Close", tooltip="back")]
    DEFAULT_CSS = """
    SweepScreen { layout: vertical; }
    SweepScreen #sweep-title { height: 1; padding: 0 1; color: $text-muted; }
    SweepScreen #sweep-table { height: auto; max-height: 45%; border: round $primary; }
    SweepScreen #sweep-chart { height: 1fr; border: round $primary; }
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.marked: list[tuple[str, list[str]]] = []
        self.snapshots = 0  # how many snapshots were shown (tests wait on it)

    def compose(self) -> ComposeResult:
        yield Label(f"sweep {self.path.name}", id="sweep-title")
        yield SweepTable(id="sweep-table")
        yield LossChart(
            id="sweep-chart",
            empty_title="mark a configuration (space) to draw its mean loss",
            finished_title="mean loss of the marked configurations (space marks or unmarks)",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#sweep-table").border_title = "Configurations (space: overlay curves)"
        self.query_one("#sweep-chart").border_title = "Mean loss over seeds"
        self.query_one(SweepTable).focus()
        self.poll()
        self.set_interval(POLL_INTERVAL_S, self.poll)

    @work(thread=True, exclusive=True, group="sweep-poll")
    def poll(self) -> None:
        self.post_message(read_snapshot(self.path, list(self.marked)))

    @on(SweepSnapshot)
    def _show(self, snapshot: SweepSnapshot) -> None:
        self.query_one("#sweep-title", Label).update(snapshot.error or snapshot.title)
        self.query_one(SweepTable).show(snapshot.table, snapshot.live)
        chart = self.query_one(LossChart)
        rows = snapshot.table["rows"]
        baselines = next((row["baselines"] for row in rows if row.get("baselines")), {})
        chart.set_baselines(tuple(Baseline(label, value) for label, value in baselines.items()))
        marked = [label for label, _ in self.marked]
        chart.comparison = [c for c in snapshot.curves if c.label.rsplit(" (", 1)[0] in marked]
        chart.refresh()
        self.snapshots += 1

    @on(SweepTable.Marked)
    def _marked(self, message: SweepTable.Marked) -> None:
        self.marked = message.marked
        self.poll()

    def action_close(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.app.exit()
