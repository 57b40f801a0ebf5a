"""What the lag probe asks of a task: the true effect of each lag, and whether there is one.

Plain Python (the app shows the truth before TensorFlow is in); the probe itself, which measures
what a network learned, is `engine/probes.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from rnntui.tasks.base import Task


@runtime_checkable
class LagTask(Protocol):
    """Optional, for many-to-many tasks whose output depends on inputs a few steps back (echo).

    The lag probe (`engine/probes.py`) measures how much the model's P(Y_t = 1) moves when the
    input X[t-k] is 1 rather than 0; this says what it should move, so any `task.lags` can be
    checked. A task without lags simply does not implement it (the probe then says so).
    """

    def true_lag_effects(self, max_lag: int | None = None) -> dict[int, float]:
        """For every lag 1..max_lag (default: the task's largest lag), the true mean change in
        P(Y_t = 1) when X[t-lag] is 1 rather than 0 (0.0 for lags the output ignores)."""
        ...


@runtime_checkable
class MeasuredLagTask(Protocol):
    """Optional, for regression tasks (a series): the lag probe measures how much the forecast
    moves per unit of the target's own value `lag` steps back (the task does the measuring, in
    its units, with the model's outputs), beside a reference model's coefficients. Such a task
    also names them, as plain attributes (a protocol with data members cannot be checked with
    issubclass): `reference` ("linear AR"), and `measured_input` / `measured_output`, the
    column whose lags are moved and the one whose forecast is read."""

    def lag_effects(self, outputs: Any, num_steps: int) -> dict[int, float]:
        """lag -> effect, with `outputs(x)` the model's outputs for windows of features x."""
        ...

    def true_lag_effects(self, max_lag: int | None = None) -> dict[int, float]:
        """lag -> the reference model's coefficient (1..max_lag)."""
        ...


class ProbeError(ValueError):
    """A task or run the probe cannot measure; `str()` is one line naming what to change."""


def check_probeable(task: Task) -> LagTask:
    """The task, if it has lags to probe; else a ProbeError saying why not."""
    if isinstance(task, MeasuredLagTask):
        return task
    if not task.many_to_many or not isinstance(task, LagTask):
        from rnntui.tasks.registry import TASK_KINDS, task_class

        kinds = " or ".join(
            f'"{k}"'
            for k in TASK_KINDS
            if issubclass(task_class(k), LagTask) or issubclass(task_class(k), MeasuredLagTask)
        )
        raise ProbeError(
            f"task '{task.kind}' has no lags to probe: the probe needs a task with a prediction "
            f"at every step, or a forecast, that depends on earlier inputs (task.kind = {kinds})"
        )
    return task


def probe_max_lag(task: Task, num_steps: int) -> int:
    """K: at least twice the task's largest lag and twice the truncation window (a regression
    reads whole windows: every lag in one)."""
    if isinstance(task, MeasuredLagTask):
        return num_steps
    largest = max(check_probeable(task).true_lag_effects(None), default=0)
    return max(2 * largest, 2 * num_steps, 1)
