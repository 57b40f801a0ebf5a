"""One line at the bottom: what the app is doing and how fast.

Driven by reactive attributes that the app sets from training messages; a change repaints the
line on the next frame, so a burst of progress messages costs one redraw.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from rnntui.engine.events import Progress

STATE_STYLES = {
    "idle": "bold",
    "loading TensorFlow": "bold yellow",
    "starting": "bold yellow",
    "training": "bold green",
    "pausing": "bold yellow",
    "paused": "bold yellow",
    "stopping": "bold yellow",
    "finished": "bold cyan",
    "stopped": "bold cyan",
    "failed": "bold red",
}


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class StatusBar(Widget):
    """State, epoch, step, smoothed loss, steps/s, ETA and device, in one line."""

    DEFAULT_CSS = """
    StatusBar { height: 1; }
    """

    state: reactive[str] = reactive("idle")
    detail: reactive[str] = reactive("")  # e.g. the failure message
    epoch: reactive[int] = reactive(0)  # 1-based; 0 = none yet
    epochs: reactive[int] = reactive(0)
    step: reactive[int] = reactive(0)
    total_steps: reactive[int] = reactive(0)
    loss: reactive[float | None] = reactive(None)
    metric: reactive[str] = reactive("")  # e.g. "test err 0.2%"
    steps_per_s: reactive[float] = reactive(0.0)
    eta_s: reactive[float | None] = reactive(None)
    device: reactive[str] = reactive("")

    def clear_run(self, epochs: int = 0) -> None:
        """Forget the last run's numbers (a new run starts, or the app was reset)."""
        self.step = self.total_steps = self.epoch = 0
        self.epochs = epochs
        self.loss = None
        self.metric = ""
        self.steps_per_s = 0.0
        self.eta_s = None

    def show_progress(self, progress: Progress, smoothed_loss: float | None) -> None:
        self.step = progress.step
        self.total_steps = progress.total_steps
        self.epoch = progress.epoch + 1
        self.loss = smoothed_loss
        self.steps_per_s = progress.steps_per_s
        self.eta_s = progress.eta_s

    def show_metrics(self, metrics: dict) -> None:
        if metrics.get("test_error_pct") is not None:
            self.metric = f"test err {metrics['test_error_pct']:.2f}%"

    def render(self) -> Text:
        parts: list[tuple[str, str]] = [
            (f" ● {self.state}", STATE_STYLES.get(self.state, "bold")),
        ]
        if self.detail:
            parts.append((f" {self.detail}", "red" if self.state == "failed" else "dim"))
        if self.total_steps:
            if self.epochs:
                parts.append((f"  epoch {max(self.epoch, 1)}/{self.epochs}", ""))
            parts.append((f"  step {self.step:,}/{self.total_steps:,}", ""))
        if self.loss is not None:
            parts.append(("  loss ", "dim"))
            parts.append((f"{self.loss:.4f}", "bold"))
        if self.metric:
            parts.append((f"  {self.metric}", ""))
        if self.steps_per_s:
            parts.append((f"  {self.steps_per_s:,.0f} steps/s", ""))
        if self.state in ("training", "paused", "pausing") and self.eta_s is not None:
            parts.append((f"  ETA {format_duration(self.eta_s)}", ""))
        text = Text.assemble(*parts)
        device = Text(f" {self.device} ", style="reverse") if self.device else Text()
        room = self.size.width - device.cell_len
        if text.cell_len > room:
            text.truncate(max(room, 0), overflow="ellipsis")
        text.pad_right(max(room - text.cell_len, 0))
        return text + device
