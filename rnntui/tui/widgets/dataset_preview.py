"""What the network sees: the first stretch of the data and how it was generated.

The task makes its own preview data (`Task.preview`) in a thread worker (a million samples take a
moment), so typing in the settings never stutters; the task kind's renderer in `tui/previews`
draws it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Static

from rnntui.config import TaskConfig
from rnntui.tasks.base import Baseline
from rnntui.tui.previews import renderer

SAMPLE_STEPS = 8  # inputs offered to the inspector after a run


@dataclass(frozen=True)
class PreviewData:
    """Everything the pane shows, computed off the UI thread."""

    kind: str
    preview: object  # the task's own preview dataclass
    baselines: tuple[Baseline, ...]
    sample_inputs: tuple[tuple[float, ...], ...]  # the first inputs as the network is fed them
    codec: object = None  # the task's Codec (how its inputs are written; the model's shapes)
    excerpt: tuple = ()  # the task's Segments, for the hidden-unit view


class DatasetPreview(Static):
    """Shows a task's data; `show_task` recomputes it in the background when the task changes."""

    @dataclass
    class Ready(Message):
        """Background preview computed for the task described by `key`."""

        key: tuple
        data: PreviewData | None
        error: str = ""
        error_key: str = ""  # the config key a ConfigError names (e.g. task.path)

    def __init__(self, *, id: str | None = None, classes: str = "") -> None:
        super().__init__("computing preview…", id=id, classes=classes)
        self._key: tuple | None = None
        self.data: PreviewData | None = None

    def show_task(self, task: TaskConfig, seed: int) -> None:
        """Preview `task` (generated with `seed`); does nothing if it is already shown."""
        key = (repr(task), seed)
        if key == self._key:
            return
        self._key = key
        self._compute(key, copy.deepcopy(task), seed)

    @work(thread=True, exclusive=True, group="preview")
    def _compute(self, key: tuple, task: TaskConfig, seed: int) -> None:
        from rnntui.config import ConfigError
        from rnntui.tasks.build import make_task

        try:
            made = make_task(task, seed)
            samples = tuple(tuple(row) for row in made.sample_inputs(SAMPLE_STEPS))
            data = PreviewData(
                task.kind,
                made.preview(),
                tuple(made.baselines()),
                samples,
                made.codec(),
                tuple(made.excerpt()),
            )
        except ConfigError as error:  # bad input the settings' quick checks cannot see
            self.post_message(self.Ready(key, None, error.reason, error.key))
            return
        except Exception as error:  # a preview must never take the app down
            self.post_message(self.Ready(key, None, f"{type(error).__name__}: {error}"))
            return
        self.post_message(self.Ready(key, data))

    def on_dataset_preview_ready(self, message: Ready) -> None:
        # Not stopped: the app hears it too (the chart shows the task's baselines before training).
        if message.key != self._key or not self.is_attached:
            return  # an older request finished after a newer one was made, or we are closing
        if message.data is None:
            self.data = None
            self.update(Text(f"no preview: {message.error}", style="red"))
            return
        self.data = message.data
        self.refresh_view()

    def on_resize(self) -> None:
        self.refresh_view()

    @property
    def key(self) -> tuple | None:
        """What the shown (or pending) preview was made for."""
        return self._key

    @property
    def sample_inputs(self) -> tuple[tuple[float, ...], ...]:
        return self.data.sample_inputs if self.data is not None else ()

    def refresh_view(self) -> None:
        if self.data is None:
            return
        width = max(20, self.size.width or 78)
        render = renderer(self.data.kind)
        if render is None:
            self.update(Text(f"no preview for the {self.data.kind} task", style="dim"))
            return
        self.update(render(self.data.preview, width))
