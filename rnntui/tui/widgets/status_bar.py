"""One line at the bottom: what the app is doing and how fast.

Driven by reactive attributes that the app sets from training messages; a change repaints the
line on the next frame, so a burst of progress messages costs one redraw.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from rnntui.engine.events import Progress
from rnntui.sessions.session import RunState
from rnntui.tasks.base import Metric, describe_metrics
from rnntui.util.durations import format_duration

STATE_STYLES = {
    RunState.IDLE: "bold",
    RunState.LOADING: "bold yellow",
    RunState.STARTING: "bold yellow",
    RunState.TRAINING: "bold green",
    RunState.PAUSING: "bold yellow",
    RunState.PAUSED: "bold yellow",
    RunState.STOPPING: "bold yellow",
    RunState.FINISHED: "bold cyan",
    RunState.STOPPED: "bold cyan",
    RunState.FAILED: "bold red",
}


def format_megabytes(megabytes: float) -> str:
    return f"{megabytes / 1024:.1f} GB" if megabytes >= 1024 else f"{megabytes:.0f} MB"


class StatusBar(Widget):
    """State, epoch, step, smoothed loss, steps/s, ETA and device, in one line."""

    DEFAULT_CSS = """
    StatusBar { height: 1; }
    """

    state: reactive[RunState] = reactive(RunState.IDLE)
    detail: reactive[str] = reactive("")  # e.g. the failure message
    epoch: reactive[int] = reactive(0)  # 1-based; 0 = none yet
    epochs: reactive[int] = reactive(0)
    step: reactive[int] = reactive(0)
    total_steps: reactive[int] = reactive(0)
    loss: reactive[float | None] = reactive(None)
    metric: reactive[str] = reactive("")  # e.g. "test error 0.20 %"
    steps_per_s: reactive[float] = reactive(0.0)
    eta_s: reactive[float | None] = reactive(None)
    device: reactive[str] = reactive("")
    memory_mb: reactive[float] = reactive(0.0)  # the training device's memory in use

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.metrics: tuple[Metric, ...] = ()  # what the current run's task reports

    def clear_run(self, epochs: int = 0, metrics: tuple[Metric, ...] = ()) -> None:
        """Forget the last run's numbers (a new run starts, or the app was reset)."""
        self.metrics = metrics
        self.step = self.total_steps = self.epoch = 0
        self.epochs = epochs
        self.loss = None
        self.metric = ""
        self.steps_per_s = 0.0
        self.eta_s = None
        self.memory_mb = 0.0

    def show_progress(self, progress: Progress, smoothed_loss: float | None) -> None:
        self.step = progress.step
        self.total_steps = progress.total_steps
        self.epoch = progress.epoch + 1
        self.loss = smoothed_loss
        self.steps_per_s = progress.steps_per_s
        self.eta_s = progress.eta_s
        self.memory_mb = progress.memory_mb

    def show_metrics(self, values: dict) -> None:
        shown = describe_metrics(self.metrics, values)
        if values.get("stopped_early"):  # a summary: train.patience ended it before its epochs
            self.epochs = self.epoch = int(values.get("epochs") or self.epoch)
            self.total_steps = self.step = int(values.get("steps") or self.step)
            shown.append(f"stopped early (best epoch {values.get('best_epoch')})")
        if shown:
            self.metric = "  ".join(shown)

    def render(self) -> Text:
        # (text, style, rank): when the line is too narrow (80 columns, a long run) the parts of
        # highest rank go first, so the state, the loss and the ETA stay in sight
        parts: list[tuple[str, str, int]] = [
            (f" ● {self.state}", STATE_STYLES.get(self.state, "bold"), 0),
        ]
        if self.detail:
            parts.append((f" {self.detail}", "red" if self.state == "failed" else "dim", 0))
        if self.total_steps:
            if self.epochs:
                parts.append((f"  epoch {max(self.epoch, 1)}/{self.epochs}", "", 4))
            parts.append((f"  step {self.step:,}/{self.total_steps:,}", "", 1))
        if self.loss is not None:
            parts.append(("  loss ", "dim", 0))
            parts.append((f"{self.loss:.4f}", "bold", 0))
        if self.metric:
            parts.append((f"  {self.metric}", "", 2))
        if self.steps_per_s:
            parts.append((f"  {self.steps_per_s:,.0f} steps/s", "", 3))
        counting_down = self.state in (RunState.TRAINING, RunState.PAUSED, RunState.PAUSING)
        if counting_down and self.eta_s is not None:
            parts.append((f"  ETA {format_duration(self.eta_s)}", "", 0))
        memory = f" {format_megabytes(self.memory_mb)}" if self.memory_mb else ""
        device = Text(f" {self.device}{memory} ", style="reverse") if self.device else Text()
        room = self.size.width - device.cell_len
        for rank in (4, 3, 2, 1):
            if sum(cell_len(part) for part, _, _ in parts) <= room:
                break
            parts = [p for p in parts if p[2] != rank]
        text = Text.assemble(*((part, style) for part, style, _ in parts))
        if text.cell_len > room:
            text.truncate(max(room, 0), overflow="ellipsis")
        text.pad_right(max(room - text.cell_len, 0))
        return text + device
