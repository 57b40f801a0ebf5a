"""The one place that maps a `task.kind` name to its class.

A leaf the config may import: it names each task's module as a string and imports it only when
that task is used, so reading the list of kinds (the config does, at start-up) costs nothing and
the config never imports a task's code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rnntui.config import Config, TaskConfig
    from rnntui.tasks.base import Metric, Task

# kind -> "module:Class"; adding a task is a module in this package and a line here
REGISTRY: dict[str, str] = {
    "echo": "rnntui.tasks.echo:EchoTask",
    "count": "rnntui.tasks.count:CountTask",
    "text": "rnntui.tasks.text:TextTask",
}
TASK_KINDS: tuple[str, ...] = tuple(REGISTRY)


def task_class(kind: str) -> type[Task]:
    """The class that implements `task.kind = kind`."""
    try:
        module_name, _, class_name = REGISTRY[kind].partition(":")
    except KeyError:
        raise ValueError(f"unknown task kind {kind!r}; use one of {', '.join(REGISTRY)}") from None
    return getattr(importlib.import_module(module_name), class_name)


def task_metrics(kind: object) -> tuple[Metric, ...]:
    """The metrics a task kind reports; none for a kind this version does not know."""
    return task_class(kind).metrics if isinstance(kind, str) and kind in REGISTRY else ()


def make_task(task_config: TaskConfig, seed: int, state: dict | None = None) -> Task:
    """Build the task a config describes; `seed` (train.seed) fixes its data; `state` is a
    checkpoint's `Task.state()` (a resumed run encodes its data as before)."""
    return task_class(task_config.kind).from_config(task_config, seed, state)


def total_steps(config: Config, task: Task | None = None) -> int:
    """How many training steps a run of `config` takes (what the trainer will count)."""
    train = config.train
    task = task or make_task(config.task, train.seed)
    return task.steps_per_epoch(train.batch_size, train.num_steps) * train.epochs
