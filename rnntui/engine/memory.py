"""Will a run's data fit? Checked before anything is allocated (a config asking for more data
than free memory is refused in one line, naming the key to lower)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rnntui.config import Config, ConfigError
from rnntui.tasks.build import make_task

if TYPE_CHECKING:
    from rnntui.tasks.base import Task

MEMORY_SHARE = 0.8  # of the free memory, what a run's data may take (one epoch, or two made ahead)


def available_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits_in_memory(config: Config, task: Task | None = None) -> None:
    """Refuse, before allocating, a config whose data would not fit in free memory."""
    task = task or make_task(config.task, config.train.seed)
    need = task.estimate_bytes(config.train.batch_size, config.train.num_steps)
    free = available_memory_bytes()
    if free is not None and need > MEMORY_SHARE * free:
        raise ConfigError(
            f"one epoch of data needs about {need / 2**30:.1f} GiB, more than the "
            f"{free / 2**30:.1f} GiB of free memory allows; lower task.size",
            "task.size",
        )
