"""`--prune`: the median stopping rule, applied to configurations at epoch boundaries.

A configuration is stopped when, at the end of an epoch that is not its last, the mean of its
metric over the seeds that got there is worse than the median of the other configurations' means
at the same epoch by more than `margin` (2 % of the median, so that noise between close
configurations is not "clearly worse"), once at least `min_configs` other configurations have
reported that epoch. It is the asynchronous median rule of Google Vizier and Ray Tune's
`MedianStoppingRule`, judged per configuration rather than per run, because a sweep compares
configurations: its running seeds stop with a checkpoint, its queued seeds never start. One rule
for the local pool and Ray, decided on the launching machine.
"""

from __future__ import annotations

import statistics
from typing import Any

MARGIN = 0.02
MIN_CONFIGS = 2


class MedianRule:
    def __init__(self, margin: float = MARGIN, min_configs: int = MIN_CONFIGS) -> None:
        self.margin = margin
        self.min_configs = min_configs
        self._values: dict[int, dict[str, dict[str, float]]] = {}  # epoch -> config -> run -> value
        self.pruned: dict[str, dict[str, Any]] = {}

    def report(
        self, config: str, run: str, epoch: int, value: float | None, last: bool
    ) -> dict[str, Any] | None:
        """Record a run's metric at the end of `epoch` (0-based); the decision if it prunes."""
        if value is None or config in self.pruned:
            return None
        at = self._values.setdefault(epoch, {})
        at.setdefault(config, {})[run] = value
        if last:  # the last epoch: stopping now saves nothing
            return None
        others = [statistics.fmean(runs.values()) for name, runs in at.items() if name != config]
        if len(others) < self.min_configs:
            return None
        mine = statistics.fmean(at[config].values())
        median = statistics.median(others)
        if mine <= median + self.margin * abs(median):
            return None
        decision = {
            "epoch": epoch + 1,  # epochs done when it was stopped
            "value": round(mine, 4),
            "median": round(median, 4),
            "seeds": len(at[config]),
        }
        self.pruned[config] = decision
        return decision
