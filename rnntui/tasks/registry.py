"""The one place that maps a `task.kind` name to its class.

A leaf the config may import: it names each task's module as a string and imports it only when
that task is used, so reading the list of kinds (the config does, at start-up) costs nothing and
the config never imports a task's code.
"""

from __future__ import annotations

import importlib
from typing import Any

# kind -> "module:Class"; adding a task is a module in this package and a line here
REGISTRY: dict[str, str] = {
    "echo": "rnntui.tasks.echo:EchoTask",
    "count": "rnntui.tasks.count:CountTask",
    "text": "rnntui.tasks.text:TextTask",
    "series": "rnntui.tasks.series:SeriesTask",
}
TASK_KINDS: tuple[str, ...] = tuple(REGISTRY)


def task_class(kind: str) -> Any:
    """The class (a `tasks.base.Task`) that implements `task.kind = kind`."""
    try:
        module_name, _, class_name = REGISTRY[kind].partition(":")
    except KeyError:
        raise ValueError(f"unknown task kind {kind!r}; use one of {', '.join(REGISTRY)}") from None
    return getattr(importlib.import_module(module_name), class_name)


def task_metrics(kind: object) -> tuple[Any, ...]:
    """The metrics (`tasks.base.Metric`) a task kind reports; none for a kind this version does
    not know."""
    return task_class(kind).metrics if isinstance(kind, str) and kind in REGISTRY else ()
