"""Load a past run into the chart: every run folder, newest first, with what it reached.

A damaged folder (an unreadable config or summary) or one with no metrics logged is listed with
the reason but cannot be chosen, the same rows `rnntui runs` prints.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from rnntui.engine.runs import METRICS_FILE, RunInfo, list_runs
from rnntui.safe_read import describe_mode
from rnntui.tui.screens.dialog import Dialog


def why_not_loadable(info: RunInfo) -> str:
    """Why a run cannot be drawn ("" when it can)."""
    if info.damaged:
        return info.final
    try:
        mode = os.stat(info.path / METRICS_FILE).st_mode
    except OSError:
        return "no metrics logged"
    if not stat.S_ISREG(mode):
        return f"damaged: {METRICS_FILE} is {describe_mode(mode)}"
    return ""


def run_prompt(info: RunInfo, problem: str) -> Text:
    steps = f"{info.steps:,} steps" if info.steps is not None else "- steps"
    text = Text.assemble((info.name, "dim" if problem else "bold"), "\n  ")
    text.append(f"{info.preset}  {info.date}  {steps}  ", style="dim")
    if problem:
        text.append(f"✗ {problem}", style="red")
    else:
        text.append(info.final)
    return text


class RunPicker(Dialog[RunInfo | None]):
    """Dismisses with the chosen run, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, runs_dir: Path) -> None:
        super().__init__()
        self.runs_dir = runs_dir
        self.problem = ""  # why the runs folder cannot be listed
        try:
            self.rows = list(reversed(list_runs(runs_dir)))  # newest first
        except OSError as error:
            self.rows = []
            self.problem = f"Cannot read this folder: {error.strerror or error}"

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label("Load a past run into the chart", classes="dialog-title")
            yield Label(str(self.runs_dir), classes="dialog-hint", id="runs-dir")
            options = []
            for index, info in enumerate(self.rows):
                problem = why_not_loadable(info)
                options.append(
                    Option(run_prompt(info, problem), id=str(index), disabled=bool(problem))
                )
            if options:
                yield OptionList(*options, id="run-list")
            elif self.problem:
                yield Label(self.problem, id="no-runs")
            else:
                yield Label("No runs yet: every run you start is saved here.", id="no-runs")
            yield Label("enter: add its curve (c clears) · escape: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        if self.rows:
            option_list = self.query_one(OptionList)
            first = next(
                (i for i, info in enumerate(self.rows) if not why_not_loadable(info)), None
            )
            option_list.highlighted = first
            option_list.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.rows[int(event.option_id or 0)])

    def action_cancel(self) -> None:
        self.dismiss(None)
