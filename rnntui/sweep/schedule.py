"""Which run a free worker takes next: the longest first, as estimated and then as measured.

Handed out in grid order, a sweep's long runs can pile up on one worker while another idles at the
end (measured: 8 runs of echo-raw-10, one worker ended 4.8 s after the other). Longest first
(LPT: each worker that frees up takes the longest run left) ends the workers close together.

A run's length is first estimated from its config: its steps x the time steps of a window x a
time step's cost. That cost is a fixed part per gate (the in-graph loop's ops: a GRU runs ~3x
the ops of a plain tanh cell, an LSTM ~4x) and a part that grows with batch x multiply-adds per
sample, much slower than linearly on a CPU (sqrt fits: 4x the state cost 1.5x the time, batch 20
cost 0.7x batch 200's). The constants are seconds on a quiet 2-core Xeon (echo-raw-10 at 40
epochs: 3.8 s with state 16, 2.5 s with state 4); only their ratios matter until runs finish.
Then the estimate is refined by what the runs took: a configuration with a finished seed is
estimated from it (another seed trains just as long), the others are scaled by the median ratio
of measured to estimated seconds (which also absorbs what the estimate leaves out: XLA, a slower
or busier machine).

The order never changes a run's numbers: each run depends only on its own config and seed.
With --prune, runs go round by round of seeds (longest first within a round), so that every
configuration reports an epoch early and the median rule has something to compare with.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass

from rnntui.config import Config
from rnntui.sweep.folder import Job

RUN_S = 0.5  # per run: its first call (tracing, an XLA compile or loading a kept one)
STEP_S = 9.5e-6  # per time step and gate, whatever the sizes (the in-graph loop's ops)
WORK_S = 0.0376e-6  # per time step, per sqrt(batch x multiply-adds of one sample's time step)
GATES = {"raw_rnn": 1, "rnn": 1, "gru": 3, "lstm": 4}
ORDERS = ("longest", "grid")


def cell_layers(config: Config) -> tuple[int, list[int]]:
    """(gates per layer, units of each layer) of the config's recurrent cells."""
    model = config.model
    if model.cell == "stacked":
        return GATES.get(model.stacked_cell, 4), list(model.layers)
    return GATES.get(model.cell, 4), [model.state_size]


def multiply_adds(config: Config, input_dim: int, num_classes: int, ids: bool) -> int:
    """Multiply-adds of one sample's time step, forward: the cells' and the output layer's."""
    gates, units = cell_layers(config)
    embedding = config.model.embedding
    width = embedding if ids and embedding > 0 else input_dim
    total = 0
    for size in units:
        total += gates * (width + size) * size
        width = size
    return total + width * num_classes


def estimate_seconds(config: Config, steps_done: int = 0) -> float:
    """About how long a run of `config` trains on one core (this module's reference machine),
    from step `steps_done` on. Only the ratios between runs matter to the schedule."""
    from rnntui.tasks.build import make_task, total_steps

    task = make_task(config.task, config.train.seed)  # echo and count: cheap; text: cached
    train = config.train
    steps = max(0, total_steps(config, task) - steps_done)
    # a window's time steps: num_steps of a stream, or a whole item (count's bit string)
    window = train.num_steps if task.truncated else int(getattr(task, "bits", train.num_steps))
    ids = bool(getattr(task, "one_hot", False))
    work = multiply_adds(config, task.input_dim, task.num_classes, ids)
    gates, units = cell_layers(config)
    per_time_step = STEP_S * gates * len(units) + WORK_S * math.sqrt(train.batch_size * work)
    return RUN_S + steps * window * per_time_step


@dataclass
class _Entry:
    job: Job
    index: int  # position in the sweep (grid order, seed-major)
    estimate: float  # seconds, as first estimated


class Schedule:
    """The runs not handed out yet. `take()` gives the next one; `finished()` refines the rest.

    `order` "longest" (the default) hands out the longest first, "grid" in the sweep's order
    (seed-major); `rounds` keeps seed rounds together (--prune). Ties keep the sweep's order.
    """

    def __init__(
        self,
        jobs: list[Job],
        estimates: dict[str, float] | None = None,
        *,
        order: str = "longest",
        rounds: bool = False,
    ) -> None:
        if order not in ORDERS:
            raise ValueError(f"unknown order {order!r}; use one of {', '.join(ORDERS)}")
        estimates = estimates or {}
        self.order = order
        self.rounds = rounds
        self._entries = {
            job.name: _Entry(job, i, max(1e-6, float(estimates.get(job.name, 1.0))))
            for i, job in enumerate(jobs)
        }
        self._waiting = [job.name for job in jobs]
        self._first: deque[Job] = deque()  # put back (a lost worker's run): goes before the rest
        self._ratio: dict[str, list[float]] = {}  # per configuration: measured / estimated

    def __len__(self) -> int:
        return len(self._first) + len(self._waiting)

    def estimate(self, name: str) -> float:
        """A run's estimated seconds, refined by the runs finished so far."""
        entry = self._entries[name]
        ratios = self._ratio.get(entry.job.label)
        if ratios:  # a seed of the same configuration finished: the best guess there is
            return entry.estimate * statistics.fmean(ratios)
        every = [r for values in self._ratio.values() for r in values]
        return entry.estimate * (statistics.median(every) if every else 1.0)

    def _key(self, name: str) -> tuple:
        entry = self._entries[name]
        if self.order == "grid":
            return (entry.index,)
        round_ = entry.job.seed if self.rounds else 0
        return (round_, -self.estimate(name), entry.index)

    def upcoming(self) -> list[str]:
        """The names in the order they would be handed out now."""
        return [job.name for job in self._first] + sorted(self._waiting, key=self._key)

    def take(self) -> Job | None:
        """The next run to hand out (None when none is left)."""
        if self._first:
            return self._first.popleft()
        if not self._waiting:
            return None
        name = min(self._waiting, key=self._key)
        self._waiting.remove(name)
        return self._entries[name].job

    def put_back(self, job: Job) -> None:
        """A run handed out that must run again (its worker died): it goes first."""
        self._first.append(job)
        if job.name in self._entries:
            self._entries[job.name].job = job

    def finished(self, name: str, seconds: float) -> None:
        """A run trained to its end in `seconds`: refine the estimates of the rest."""
        entry = self._entries.get(name)
        if entry is None or not (seconds > 0 and math.isfinite(seconds)):
            return
        self._ratio.setdefault(entry.job.label, []).append(seconds / entry.estimate)
