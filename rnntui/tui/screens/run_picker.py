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

from rnntui.runs.files import METRICS_FILE, METRICS_STORE
from rnntui.runs.listing import RunInfo, list_runs
from rnntui.tui.screens.dialog import Dialog
from rnntui.util.safe_read import describe_mode


def why_not_loadable(info: RunInfo) -> str:
    """Why a run cannot be drawn ("" when it can)."""
    if info.damaged:
        return info.final
    try:  # the metrics store (a folder), else an older rnntui's log
        mode = os.stat(info.path / METRICS_STORE).st_mode
    except OSError:
        pass
    else:
        return "" if stat.S_ISDIR(mode) else f"damaged: {METRICS_STORE} is not a folder"
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
        if info.live_pid:
            text.append(f"● {info.live_state} (pid {info.live_pid})  ", style="bold green")
        text.append(info.final)
    return text


class RunPicker(Dialog[RunInfo | None]):
    """Dismisses with the chosen run, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, runs_dir: Path, live_only: bool = False) -> None:
        """`live_only`: offer only runs a process trains now (to attach to)."""
        super().__init__()
        self.runs_dir = runs_dir
        self.live_only = live_only
        self.problem = ""  # why the runs folder cannot be listed
        try:
            rows = list(reversed(list_runs(runs_dir)))  # newest first
        except OSError as error:
            rows = []
            self.problem = f"Cannot read this folder: {error.strerror or error}"
        self.rows = [row for row in rows if row.live_pid] if live_only else rows

    def compose(self) -> ComposeResult:
        title = (
            "Follow a run that is training" if self.live_only else "Load a past run into the chart"
        )
        empty = (
            "No run is training now: start one with rnntui train PRESET --detach."
            if self.live_only
            else "No runs yet: every run you start is saved here."
        )
        hint = "enter: follow it live" if self.live_only else "enter: add its curve (c clears)"
        with Vertical(id="dialog", classes="dialog"):
            yield Label(title, classes="dialog-title")
            yield Label(str(self.runs_dir), classes="dialog-hint", id="runs-dir")
            options = []
            for index, info in enumerate(self.rows):
                problem = self.unpickable(info)
                options.append(
                    Option(run_prompt(info, problem), id=str(index), disabled=bool(problem))
                )
            if options:
                yield OptionList(*options, id="run-list")
            elif self.problem:
                yield Label(self.problem, id="no-runs")
            else:
                yield Label(empty, id="no-runs")
            yield Label(f"{hint} · escape: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        if self.rows:
            option_list = self.query_one(OptionList)
            first = next((i for i, info in enumerate(self.rows) if not self.unpickable(info)), None)
            option_list.highlighted = first
            option_list.focus()

    def unpickable(self, info: RunInfo) -> str:
        """Why a row cannot be chosen ("" when it can): a live run can be followed before it
        has logged a step."""
        return "" if self.live_only else why_not_loadable(info)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.rows[int(event.option_id or 0)])

    def action_cancel(self) -> None:
        self.dismiss(None)
