"""The "count" task of seed 004: how many ones are in a 10-bit string?

Every one of the 2**bits strings exists; a seeded shuffle puts `train_size` of them in the training
set and the rest in the test set. Trivial to program, but a network has to learn to count while
reading one bit at a time, so test error shows whether it generalizes rather than memorizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnntui.engine.events import Baseline


@dataclass(frozen=True)
class CountPreview:
    strings: tuple[str, ...]  # the first training strings, most significant bit first
    counts: tuple[int, ...]
    train_size: int
    test_size: int


class CountTask:
    kind = "count"
    one_hot = False
    many_to_many = False  # one label per string, read from the last step's output
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

    def split(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """x_train, y_train, x_test, y_test; x float32 [N, bits, 1], y int32 [N] (count of ones)."""
        n = self.train_size
        return self._x[:n], self._y[:n], self._x[n:], self._y[n:]

    def test_set(self) -> tuple[np.ndarray, np.ndarray]:
        return self._x[self.train_size :], self._y[self.train_size :]

    def windows(
        self, epoch: int, batch_size: int, num_steps: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Consecutive batches over the training set, same order every epoch (as the tutorial).

        x [W, batch, bits, 1], y [W, batch], W = train_size // batch_size; the remainder is
        dropped. `epoch` and `num_steps` are accepted for a common interface and ignored.
        """
        count = self.steps_per_epoch(batch_size)
        used = count * batch_size
        x = self._x[:used].reshape(count, batch_size, self.bits, 1)
        return x, self._y[:used].reshape(count, batch_size)

    def steps_per_epoch(self, batch_size: int, num_steps: int | None = None) -> int:
        return self.train_size // batch_size

    def baselines(self) -> tuple[Baseline, ...]:
        return ()

    def preview(self, n: int = 8) -> CountPreview:
        strings = tuple("".join(str(int(b)) for b in row[:, 0]) for row in self._x[:n])
        return CountPreview(
            strings=strings,
            counts=tuple(self._y[:n].tolist()),
            train_size=self.train_size,
            test_size=2**self.bits - self.train_size,
        )

    def estimate_bytes(self, batch_size: int, num_steps: int | None = None) -> int:
        # All strings (float32 bits + int32 labels), twice for the trainer's tensor copies.
        return 2 * 2**self.bits * (4 * self.bits + 4)
