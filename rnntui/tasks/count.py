"""The "count" task of seed 004: how many ones are in a 10-bit string?

Every one of the 2**bits strings exists; a seeded shuffle puts `train_size` of them in the training
set and the rest in the test set. Trivial to program, but a network has to learn to count while
reading one bit at a time, so test error shows whether it generalizes rather than memorizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rnntui.tasks.base import Baseline, Evaluator, Metric, Segment, Setting, TaskDefaults
from rnntui.tasks.bits import BitCodec

if TYPE_CHECKING:
    from rnntui.config import Config, TaskConfig

PREVIEW_STRINGS = 12
EXCERPT_STRINGS = 6  # strings a hidden-unit view draws


@dataclass(frozen=True)
class CountPreview:
    strings: tuple[str, ...]  # the first training strings, most significant bit first
    counts: tuple[int, ...]
    train_size: int
    test_size: int


class CountTask(TaskDefaults):
    kind = "count"
    title = "count: seed 004"
    settings = (
        Setting("task.bits", "bits", "string length; 2**bits strings exist"),
        Setting("task.train_size", "train strings"),
        Setting("train.eval_every", "eval every", "epochs between tests"),
    )
    metrics = (Metric("test_error_pct", "test error", ".2f", " %"),)
    headline = "test_error_pct"
    truncated = False  # whole strings; train.num_steps does not apply
    one_hot = False
    many_to_many = False  # one label per string, read from the last step's output
    sum_loss = True  # the tutorial minimises the summed cross-entropy of a batch
    input_dim = 1

    def __init__(self, bits: int = 10, train_size: int = 500, seed: int = 0) -> None:
        if not 1 <= train_size < 2**bits:
            raise ValueError(f"train_size must be 1..{2**bits - 1}, got {train_size}")
        self.bits = int(bits)
        self.train_size = int(train_size)
        self.seed = int(seed)
        self.num_classes = self.bits + 1
        codes = np.random.default_rng(self.seed).permutation(2**self.bits)
        # '{0:010b}'.format(i): most significant bit first, as in the tutorial.
        bit_matrix = (codes[:, None] >> np.arange(self.bits - 1, -1, -1)) & 1
        self._x = bit_matrix.astype(np.float32)[:, :, None]
        self._y = bit_matrix.sum(axis=1).astype(np.int32)
        for a in (self._x, self._y):
            a.flags.writeable = False  # shared by every caller; nobody may edit it in place

    @classmethod
    def from_config(cls, task: TaskConfig, seed: int, state: dict | None = None) -> CountTask:
        return cls(task.bits, task.train_size, seed)

    @classmethod
    def codec_from_state(cls, task: TaskConfig, state: dict) -> BitCodec:
        return BitCodec(ids=False, num_classes=task.bits + 1, input_dim=1, many_to_many=False)

    def codec(self) -> BitCodec:
        return BitCodec(ids=False, num_classes=self.num_classes, input_dim=1, many_to_many=False)

    def excerpt(self) -> tuple[Segment, ...]:
        """The first training strings, each read from a zero state as in training."""
        codec = self.codec()
        return tuple(Segment(row, codec.labels(row)) for row in self._x[:EXCERPT_STRINGS])

    @classmethod
    def check_config(cls, config: Config) -> None:
        from rnntui.config import ConfigError

        task, train = config.task, config.train
        if task.train_size >= 2**task.bits:
            raise ConfigError(
                f"{task.train_size} leaves no test strings out of 2**{task.bits} = "
                f"{2**task.bits}; use at most {2**task.bits - 1}",
                "task.train_size",
            )
        if train.batch_size > task.train_size:
            raise ConfigError(
                f"{train.batch_size} is larger than task.train_size {task.train_size}; "
                f"use at most {task.train_size}",
                "train.batch_size",
            )

    def split(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """x_train, y_train, x_test, y_test; x float32 [N, bits, 1], y int32 [N] (count of ones)."""
        n = self.train_size
        return self._x[:n], self._y[:n], self._x[n:], self._y[n:]

    def test_set(self) -> tuple[np.ndarray, np.ndarray]:
        return self._x[self.train_size :], self._y[self.train_size :]

    def windows(self, epoch: int, batch_size: int, num_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Consecutive batches over the training set, same order every epoch (as the tutorial).

        x [W, batch, bits, 1], y [W, batch], W = train_size // batch_size; the remainder is
        dropped. Every epoch is the same and each string is one whole window, so `epoch` and
        `num_steps` do not change the result (`truncated` is False).
        """
        count = self.steps_per_epoch(batch_size, num_steps)
        used = count * batch_size
        x = self._x[:used].reshape(count, batch_size, self.bits, 1)
        return x, self._y[:used].reshape(count, batch_size)

    def steps_per_epoch(self, batch_size: int, num_steps: int) -> int:
        return self.train_size // batch_size

    def baselines(self) -> tuple[Baseline, ...]:
        return ()

    def evaluate(self, model: Evaluator) -> dict[str, float]:
        x, y = self.test_set()
        return {"test_error_pct": float(np.mean(model.predict(x) != y) * 100.0)}

    def sample_inputs(self, steps: int) -> list[list[float]]:
        return [[float(bit)] for bit in self._x[0, :steps, 0].tolist()]

    def preview(self, n: int = PREVIEW_STRINGS) -> CountPreview:
        strings = tuple("".join(str(int(b)) for b in row[:, 0]) for row in self._x[:n])
        return CountPreview(
            strings=strings,
            counts=tuple(self._y[:n].tolist()),
            train_size=self.train_size,
            test_size=2**self.bits - self.train_size,
        )

    def estimate_bytes(self, batch_size: int, num_steps: int) -> int:
        # All strings (float32 bits + int32 labels), twice for the trainer's tensor copies.
        return 2 * 2**self.bits * (4 * self.bits + 4)
