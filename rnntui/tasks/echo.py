"""The "echo" task of seeds 000-002: a binary stream whose output echoes the input a few steps back.

X_t ~ Bernoulli(.5) and P(Y_t=1) = clip(base + sum(effect * X_{t-lag}), 0, 1). A network can only
learn a dependency whose lag fits in what truncated backprop lets it see, so the loss settles on
one of a few analytic levels (`baselines`): that is what makes the task a good probe of memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rnntui.tasks.base import Baseline, Evaluator, Segment, Setting, TaskDefaults
from rnntui.tasks.bits import BitCodec

if TYPE_CHECKING:
    from rnntui.config import Config, TaskConfig

Lags = tuple[tuple[int, float], ...]
PREVIEW_LENGTH = 200  # samples in the preview; the pane shows as many as fit
EXCERPT_LENGTH = 120  # steps a hidden-unit view draws


@dataclass(frozen=True)
class LagStatistics:
    """P(Y_t=1) given X_{t-lag}, measured on generated data and from the formula."""

    lag: int
    effect: float
    p_given_1: float
    p_given_1_theory: float
    p_given_0: float
    p_given_0_theory: float


@dataclass(frozen=True)
class EchoStatistics:
    epoch: int
    p_y: float
    p_y_theory: float
    lags: tuple[LagStatistics, ...]


@dataclass(frozen=True)
class EchoPreview:
    """The first steps of epoch 0, for showing what the network sees, and how it was made."""

    x: tuple[int, ...]
    y: tuple[int, ...]
    lags: Lags
    statistics: EchoStatistics | None = None
    baselines: tuple[Baseline, ...] = ()


def _entropy(p: np.ndarray) -> np.ndarray:
    """Binary entropy in nats; 0 at p in {0, 1} (a certain outcome costs nothing)."""
    p = np.asarray(p, dtype=np.float64)
    out = np.zeros_like(p)
    inside = (p > 0) & (p < 1)
    q = p[inside]
    out[inside] = -(q * np.log(q) + (1 - q) * np.log(1 - q))
    return out


def _lag_label(lags: Sequence[int]) -> str:
    if not lags:
        return "nothing learned"
    return ("lag " if len(lags) == 1 else "lags ") + "+".join(str(lag) for lag in lags)


class EchoTask(TaskDefaults):
    kind = "echo"
    title = "echo: seeds 000-002"
    settings = (
        Setting("task.size", "samples", "length of the X/Y stream per epoch"),
        Setting("task.base", "P(Y=1) base"),
        Setting("task.lags", "lags", "lag:effect pairs, like 3:0.5, 8:-0.25"),
        Setting("train.num_steps", "num_steps", "truncated-backprop window"),
    )
    fresh_data = True  # a fresh million samples each epoch
    num_classes = 2
    input_dim = 2

    def __init__(
        self,
        size: int = 1_000_000,
        base: float = 0.5,
        lags: Sequence[Sequence[float]] = ((3, 0.5), (8, -0.25)),
        seed: int = 0,
    ) -> None:
        self.size = int(size)
        self.base = float(base)
        self.lags: Lags = tuple((int(lag), float(effect)) for lag, effect in lags)
        self.seed = int(seed)
        if self.size < 1:
            raise ValueError(f"size must be positive, got {self.size}")
        if any(lag < 1 for lag, _ in self.lags):
            raise ValueError(f"lags must be >= 1, got {self.lags}")
        # Every combination of the lagged inputs (row i: bit j = X_{t-lag_j}), each equally likely.
        # The low bits are the first lags, so grouping rows by known lags is a reshape.
        n = len(self.lags)
        self._combos = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
        effects = np.array([effect for _, effect in self.lags], dtype=np.float64)
        self._combo_p = np.clip(self.base + self._combos @ effects, 0.0, 1.0)

    @classmethod
    def from_config(cls, task: TaskConfig, seed: int, state: dict | None = None) -> EchoTask:
        return cls(task.size, task.base, task.lags, seed)

    @classmethod
    def codec_from_state(cls, task: TaskConfig, state: dict) -> BitCodec:
        return BitCodec(ids=True, num_classes=2, input_dim=2, many_to_many=True)

    def codec(self) -> BitCodec:
        return self.codec_from_state(None, {})

    def excerpt(self) -> tuple[Segment, ...]:
        x, _ = self.generate(0)
        bits = x[:EXCERPT_LENGTH]
        return (Segment(bits, self.codec().labels(bits)),)

    @classmethod
    def check_config(cls, config: Config) -> None:
        from rnntui.config import ConfigError

        train = config.train
        if train.batch_size * train.num_steps > config.task.size:
            raise ConfigError(
                f"batch_size {train.batch_size} x num_steps {train.num_steps} is more than the "
                f"{config.task.size} samples of task.size; lower it or raise task.size",
                "train.batch_size",
            )

    # --- data ----------------------------------------------------------------------------------

    def generate(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """X, Y (int32, length `size`); fresh per epoch, reproducible from (seed, epoch)."""
        rng = np.random.default_rng([self.seed, epoch])
        x = rng.integers(0, 2, size=self.size, dtype=np.int8)  # int8/float32 keep big sizes cheap
        p = np.full(self.size, self.base, dtype=np.float32)
        for lag, effect in self.lags:
            # np.roll reproduces the tutorial's X[i - lag], which wraps to the end for i < lag.
            p += np.float32(effect) * np.roll(x, lag)
        np.clip(p, 0.0, 1.0, out=p)
        y = (rng.random(self.size, dtype=np.float32) < p).astype(np.int32)
        return x.astype(np.int32), y

    def windows(self, epoch: int, batch_size: int, num_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """The tutorial's gen_batch: x, y of shape [num_windows, batch_size, num_steps].

        Stream b is samples [L*b, L*(b+1)), L = size // batch_size, and window w continues
        window w-1 in every stream, so carrying the final state into the next window is
        meaningful. Returned as (non-contiguous) views of the generated arrays.
        """
        length = self.size // batch_size
        count = length // num_steps
        x, y = self.generate(epoch)

        def cut(a: np.ndarray) -> np.ndarray:
            streams = a[: length * batch_size].reshape(batch_size, length)
            return (
                streams[:, : count * num_steps].reshape(batch_size, count, num_steps).swapaxes(0, 1)
            )

        return cut(x), cut(y)

    def steps_per_epoch(self, batch_size: int, num_steps: int) -> int:
        return (self.size // batch_size) // num_steps

    def estimate_bytes(self, batch_size: int, num_steps: int) -> int:
        """Rough peak while generating one epoch plus a contiguous copy of its windows.

        Generation peaks at about 14 bytes a sample (x int8, p and the uniforms float32, the
        comparison, the int32 output); a contiguous copy of the windows (the trainer's tensors)
        adds 8 bytes per sample used. Summed, so it errs on the safe side.
        """
        used = self.steps_per_epoch(batch_size, num_steps) * batch_size * num_steps
        return 14 * self.size + 8 * used

    # --- analysis ------------------------------------------------------------------------------

    def baselines(self) -> tuple[Baseline, ...]:
        """Expected cross-entropy (nats) of the best predictor knowing the first k lags, k = 0..L.

        Unknown lags are marginalized: P(Y=1 | known) is the mean of the clipped probability over
        the unknown lags' values; the loss is the mean binary entropy over the known values.
        """
        n = len(self.lags)
        out = []
        for known in range(n + 1):
            # rows: unknown (high) bits; columns: known (low) bits.
            p_known = self._combo_p.reshape(2 ** (n - known), 2**known).mean(axis=0)
            value = float(_entropy(p_known).mean())
            out.append(Baseline(_lag_label([lag for lag, _ in self.lags[:known]]), value))
        return tuple(out)

    def true_lag_effects(self, max_lag: int | None = None) -> dict[int, float]:
        """P(Y=1 | X[t-lag]=1) - P(Y=1 | X[t-lag]=0) for lags 1..max_lag (default: the largest
        configured), averaged over the other lags' inputs.

        That is the configured effect unless the probability is clipped at 0 or 1 (e.g. base 0.8
        with +0.5), where the true change is smaller than the configured one.
        """
        if max_lag is None:
            max_lag = max((lag for lag, _ in self.lags), default=0)
        effects = dict.fromkeys(range(1, max_lag + 1), 0.0)
        for j, (lag, _) in enumerate(self.lags):
            if lag <= max_lag:
                on = self._combos[:, j] == 1
                effects[lag] = float(self._combo_p[on].mean() - self._combo_p[~on].mean())
        return effects

    def evaluate(self, model: Evaluator) -> dict[str, float]:
        return {}  # the training loss against the baselines says it all

    def preview(self, length: int = PREVIEW_LENGTH) -> EchoPreview:
        x, y = self.generate(0)
        return EchoPreview(
            tuple(x[:length].tolist()),
            tuple(y[:length].tolist()),
            self.lags,
            self.statistics(0),
            self.baselines(),
        )

    def sample_inputs(self, steps: int) -> list[list[float]]:
        x, _ = self.generate(0)
        return [[0.0, 1.0] if bit else [1.0, 0.0] for bit in x[:steps].tolist()]

    def statistics(self, epoch: int = 0) -> EchoStatistics:
        """Measured vs theoretical P(Y=1), overall and given each lagged input."""
        x, y = self.generate(epoch)
        rows = []
        for j, (lag, effect) in enumerate(self.lags):
            shifted = np.roll(x, lag)
            theory = [float(self._combo_p[self._combos[:, j] == v].mean()) for v in (1, 0)]
            rows.append(
                LagStatistics(
                    lag=lag,
                    effect=effect,
                    p_given_1=float(y[shifted == 1].mean()) if (shifted == 1).any() else 0.0,
                    p_given_1_theory=theory[0],
                    p_given_0=float(y[shifted == 0].mean()) if (shifted == 0).any() else 0.0,
                    p_given_0_theory=theory[1],
                )
            )
        return EchoStatistics(
            epoch=epoch,
            p_y=float(y.mean()),
            p_y_theory=float(self._combo_p.mean()),
            lags=tuple(rows),
        )
