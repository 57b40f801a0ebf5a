"""One preview renderer per task kind: a pure function (preview data, width) -> renderable.

Adding a task adds its module here and a line in `RENDERERS`; the Data pane itself is generic.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from rich.console import RenderableType

RENDERERS: dict[str, str] = {
    "echo": "rnntui.tui.previews.echo:render_echo",
    "count": "rnntui.tui.previews.count:render_count",
    "text": "rnntui.tui.previews.text:render_text",
    "series": "rnntui.tui.previews.series:render_series",
}


def renderer(kind: str) -> Callable[[object, int], RenderableType] | None:
    """The render function for a task kind's preview (None for a kind without one)."""
    target = RENDERERS.get(kind)
    if target is None:
        return None
    module_name, _, name = target.partition(":")
    return getattr(importlib.import_module(module_name), name)
