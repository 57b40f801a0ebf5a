"""Early stopping that keeps the best weights (`train.patience`), for any task with metrics.

After each evaluation the trainer tells `BestWeights` what the task's headline metric came to
(lower is better: a loss, an error, a validation MSE). A better value keeps a copy of the
weights, the metrics and the task's evaluation view (a `ViewTask`'s drawing) as of then; after
`patience` evaluations without one, `stop` asks the trainer to end the run. At the end of a run
that ended by itself (not stopped by the user), `restore` puts the best weights back, so the
final checkpoint, the summary and the saved view are the best epoch's.

The best so far is kept in the checkpoint's metrics (`best_value`, `best_epoch`, `best_waited`),
so a resumed run goes on counting; its weights are not in the checkpoint, so only an epoch
evaluated after the resume can be restored.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rnntui.tasks.base import evaluation_view

if TYPE_CHECKING:
    from rnntui.tasks.base import Task


class BestWeights:
    """The best evaluation so far and its weights; `stop` once patience has run out."""

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.value: float | None = None
        self.epoch = 0  # 1-based: the epoch whose end was best
        self.waited = 0  # evaluations since
        self.weights: list[Any] | None = None
        self.metrics: dict[str, float] = {}
        self.view: dict[str, Any] = {}
        self.stop = False

    def resume(self, metrics: dict[str, float]) -> None:
        """Go on from a checkpoint's record of the best (its weights are not there)."""
        if self.patience and "best_value" in metrics:
            self.value = float(metrics["best_value"])
            self.epoch = int(metrics.get("best_epoch", 0))
            self.waited = int(metrics.get("best_waited", 0))

    def note(self, task: Task, model: Any, epoch: int, measured: dict[str, float]) -> dict:
        """An evaluation at the end of `epoch` (0-based): the metrics to record with it."""
        value = measured.get(task.headline)
        if not self.patience or value is None or not math.isfinite(value):
            return {}
        if self.value is None or value < self.value:
            self.value, self.epoch, self.waited = float(value), epoch + 1, 0
            self.weights = model.get_weights()
            self.metrics = dict(measured)
            self.view = evaluation_view(task)
        else:
            self.waited += 1
        self.stop = self.waited >= self.patience
        return {"best_value": self.value, "best_epoch": self.epoch, "best_waited": self.waited}

    def restore(self, model: Any) -> dict[str, float] | None:
        """Put the best weights back when later ones were worse; the metrics they scored
        (None: the last weights are the best there are, or none were kept)."""
        if self.weights is None or self.waited == 0:
            return None
        model.set_weights(self.weights)
        return {**self.metrics, "best_waited": 0}

    def summary(self) -> dict[str, Any]:
        """What the run summary says: the best epoch and whether patience ended the run."""
        if self.value is None:
            return {}
        return {"best_epoch": self.epoch, "stopped_early": self.stop}
