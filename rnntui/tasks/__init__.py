"""Data for the experiments: generators, batching, analytic baselines and previews (NumPy only).

`make_task` turns a `TaskConfig` into the task object the trainer and the TUI use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnntui.tasks.count import CountPreview, CountTask
from rnntui.tasks.echo import EchoPreview, EchoStatistics, EchoTask, LagStatistics

if TYPE_CHECKING:
    from rnntui.config import Config, TaskConfig

Task = EchoTask | CountTask

__all__ = [
    "CountPreview",
    "CountTask",
    "EchoPreview",
    "EchoStatistics",
    "EchoTask",
    "LagStatistics",
    "Task",
    "make_task",
    "total_steps",
]


def make_task(task_config: TaskConfig, seed: int) -> Task:
    """Build the task a config describes; `seed` (train.seed) fixes its data."""
    if task_config.kind == "echo":
        return EchoTask(task_config.size, task_config.base, task_config.lags, seed)
    if task_config.kind == "count":
        return CountTask(task_config.bits, task_config.train_size, seed)
    raise ValueError(f"unknown task kind {task_config.kind!r}; use echo or count")


def total_steps(config: Config) -> int:
    """How many training steps a run of `config` takes (what the trainer will count)."""
    train = config.train
    task = make_task(config.task, train.seed)
    return task.steps_per_epoch(train.batch_size, train.num_steps) * train.epochs
