"""Building the task a config describes (its class from the registry)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnntui.tasks.registry import task_class

if TYPE_CHECKING:
    from rnntui.config import Config, TaskConfig
    from rnntui.tasks.base import Task


def make_task(task_config: TaskConfig, seed: int, state: dict | None = None) -> Task:
    """Build the task a config describes; `seed` (train.seed) fixes its data; `state` is a
    checkpoint's `Task.state()` (a resumed run encodes its data as before)."""
    return task_class(task_config.kind).from_config(task_config, seed, state)


def total_steps(config: Config, task: Task | None = None) -> int:
    """How many training steps a run of `config` takes (what the trainer will count)."""
    train = config.train
    task = task or make_task(config.task, train.seed)
    return task.steps_per_epoch(train.batch_size, train.num_steps) * train.epochs
