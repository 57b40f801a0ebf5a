"""The codec of the binary tasks (echo, count): inputs written as strings of 0 and 1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class BitCodec:
    """Bits as text. `ids`: fed as class ids 0/1 (echo), else as one float feature (count)."""

    ids: bool
    num_classes: int
    input_dim: int
    many_to_many: bool

    def encode(self, text: str) -> np.ndarray:
        bad = sorted({c for c in text if c not in "01"})
        if bad:
            shown = " ".join(repr(c) for c in bad[:10])
            raise ValueError(f"only 0 and 1 are inputs of this task, got {shown}")
        if not text:
            raise ValueError("no input: give at least one bit, like 0110")
        bits = np.frombuffer(text.encode("ascii"), np.uint8) - ord("0")
        return bits.astype(np.int32) if self.ids else bits.astype(np.float32)[:, None]

    def decode(self, ids: Any) -> str:
        values = np.asarray(ids).reshape(-1).tolist()
        if self.num_classes == 2:
            return "".join(str(int(v)) for v in values)
        return " ".join(str(int(v)) for v in values)

    def labels(self, inputs: np.ndarray) -> tuple[str, ...]:
        return tuple(str(int(v)) for v in np.asarray(inputs).reshape(len(inputs), -1)[:, 0])
