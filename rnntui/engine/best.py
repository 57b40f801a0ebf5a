"""Early stopping that keeps the best weights (`train.patience`), for any task with metrics.

After each evaluation the trainer tells `BestWeights` what the task's headline metric came to
(lower is better: a loss, an error, a validation MSE). A better value keeps a copy of the
weights, the metrics and the task's evaluation view (a `ViewTask`'s drawing) as of then; after
`patience` evaluations without one, `stop` asks the trainer to end the run. At the end of a run
that ended by itself (not stopped by the user), `restore` puts the best weights back, so the
final checkpoint, the summary and the saved view are the best epoch's.

The best so far is kept in the checkpoint's metrics (`best_value`, `best_epoch`, `best_waited`),
so a resumed run goes on counting, and its weights in the checkpoint's `best` arrays whenever
they are not the checkpoint's own weights (a run stopped by the user after its best epoch): a
resumed run that never does better still ends on them. Their metrics and view are not kept:
they are measured again when such weights are restored.
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
        self.restored = False  # the model holds the best weights again (`restore`)

    def resume(self, metrics: dict[str, float], weights: list[Any]) -> None:
        """Go on from a checkpoint's record of the best, and its best weights when it kept them
        (their metrics and view are measured again if they are restored)."""
        if self.patience and "best_value" in metrics:
            self.value = float(metrics["best_value"])
            self.epoch = int(metrics.get("best_epoch", 0))
            self.waited = int(metrics.get("best_waited", 0))
            if weights and self.waited:
                self.weights = list(weights)

    def kept(self) -> list[Any]:
        """The best weights for a checkpoint to keep: when they are not the model's own."""
        if self.weights is None or not self.waited or self.restored:
            return []
        return self.weights

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

    def restore(self, compiled: Any, task: Task) -> dict[str, float] | None:
        """Put the best weights back into `compiled.model` when later ones were worse; the
        metrics they scored (None: the last weights are the best there are, or none were kept).
        Weights a checkpoint kept come without their figures: they are measured again."""
        if self.weights is None or self.waited == 0:
            return None
        compiled.model.set_weights(self.weights)
        self.restored = True
        if not self.metrics:
            self.metrics = dict(task.evaluate(compiled))
            self.view = evaluation_view(task)
        return {**self.metrics, "best_waited": 0}

    def summary(self) -> dict[str, Any]:
        """What the run summary says: the best epoch and whether patience ended the run."""
        if self.value is None:
            return {}
        return {"best_epoch": self.epoch, "stopped_early": self.stop}
