"""The headless progress bar: turns trainer events into one updating line on stderr."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from rnntui.engine.events import EpochEnd, Event, Failed, Progress, Started
from rnntui.runs.curves import Ema
from rnntui.tasks.base import describe_metrics
from rnntui.tasks.registry import task_metrics
from rnntui.util.durations import format_duration

BAR_WIDTH = 24
NON_TTY_INTERVAL_S = 5.0  # a log file gets a line every few seconds, not thousands


def early_stop_note(summary: dict[str, Any]) -> str:
    """How a run that train.patience ended went: it did not run all its epochs."""
    return (
        f"stopped early at epoch {summary.get('epochs')}: no better result for train.patience "
        f"evaluations; kept the best epoch, {summary.get('best_epoch')}"
    )


class ProgressPrinter:
    """Trainer callback drawing `[###...] step 1200/5000  loss 0.5213  2,310 steps/s  ETA 00:02`."""

    def __init__(self, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last_line = 0.0
        self._smoothed = Ema()
        self._drawn = False
        self._epoch_every = 1

    def __call__(self, event: Event) -> None:
        if not self.enabled:
            return
        if isinstance(event, Started):
            self._write(f"training on {event.device}: {event.total_steps:,} steps")
            epochs = event.total_steps // max(1, event.steps_per_epoch)
            self._epoch_every = 1 if epochs <= 20 else epochs // 10  # ~10 epoch lines per run
        elif isinstance(event, Progress):
            for loss in event.losses:  # smoothed over steps as the chart does
                self._smoothed.add(loss)
            now = time.monotonic()
            last = event.step >= event.total_steps
            if self.tty or last or now - self._last_line >= NON_TTY_INTERVAL_S:
                self._last_line = now
                self._draw(event)
        elif isinstance(event, EpochEnd) and (event.epoch + 1) % self._epoch_every == 0:
            metrics = "  ".join(f"{k} {v:.4f}" for k, v in event.metrics.items())
            self._write(f"epoch {event.epoch + 1} done at step {event.step:,}: {metrics}")
        elif isinstance(event, Failed):
            self._clear()

    def _draw(self, event: Progress) -> None:
        done = event.step / event.total_steps if event.total_steps else 1.0
        filled = int(done * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        line = f"[{bar}] step {event.step:,}/{event.total_steps:,}  loss {self._smoothed.value:.4f}"
        if event.steps_per_s > 0:  # 0: the speed is not measured yet (no guessed ETA)
            line += f"  {event.steps_per_s:,.0f} steps/s  ETA {format_duration(event.eta_s)}"
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
            self._drawn = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[2K")
            self._drawn = False

    def _write(self, line: str) -> None:
        self._clear()
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._clear()
            self.stream.flush()

    @staticmethod
    def describe_summary(summary: dict[str, Any]) -> str:
        """The human-readable result of a run."""
        lines = [
            f"{summary['preset']}: {summary['task']} / {summary['cell']}, "
            f"{summary['epochs']} epoch(s), {summary['steps']:,} steps in "
            f"{summary['wall_s']:.1f} s ({summary['steps_per_s']:,.0f} steps/s)"
            + ("  [stopped]" if summary.get("stopped") else ""),
            f"final loss {summary['final_loss']:.4f}"
            if summary.get("final_loss") is not None
            else "final loss n/a",
        ]
        if summary.get("stopped_early"):  # train.patience ran out before train.epochs
            lines.append(early_stop_note(summary))
        elif summary.get("best_epoch"):
            lines.append(f"best epoch {summary['best_epoch']} (its weights kept)")
        for label, value in summary.get("baselines", {}).items():
            lines.append(f"  baseline {label:<16} {value:.4f}")
        lines += describe_metrics(task_metrics(summary.get("task")), summary)
        return "\n".join(lines)
