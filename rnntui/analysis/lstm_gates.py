"""The LSTM equations in NumPy, the inspector's input format and its result records.

No TensorFlow here: the app's own process parses what the user types into the inspector and
draws the results; the cell itself is stepped by `lstm_step.py` in the TensorFlow helper process.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Matrix = tuple[tuple[float, ...], ...]

# Seed 003's batch for the stacked LSTM: 2 sequences, 3 timesteps, 6 features.
STACKED_SAMPLE = (
    ((1, 2, 3, 4, 3, 2), (1, 2, 1, 1, 1, 2), (1, 2, 2, 2, 2, 2)),
    ((1, 2, 3, 4, 3, 2), (3, 2, 2, 1, 1, 2), (0, 0, 0, 0, 3, 2)),
)
STACKED_UNITS = (4, 5)
MAX_STEPS = 1000
FLOAT32_MAX = float(np.finfo(np.float32).max)  # the cell computes in float32


@dataclass(frozen=True)
class LSTMStep:
    """One timestep: the input, the gates and the new state (from TF), and NumPy's c and h."""

    x: tuple[float, ...]
    i: tuple[float, ...]  # input gate
    f: tuple[float, ...]  # forget gate
    g: tuple[float, ...]  # candidate cell values
    o: tuple[float, ...]  # output gate
    c: tuple[float, ...]  # cell state
    h: tuple[float, ...]  # output / hidden state
    c_numpy: tuple[float, ...]
    h_numpy: tuple[float, ...]
    max_abs_diff: float  # largest |TF - NumPy| over i, f, g, o, c, h at this step


@dataclass(frozen=True)
class Inspection:
    steps: tuple[LSTMStep, ...]
    units: int
    kernel: Matrix  # [input_dim, 4 * units], columns in gate order i, f, g, o
    recurrent_kernel: Matrix  # [units, 4 * units]
    bias: tuple[float, ...]  # [4 * units]
    max_abs_diff: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (tuples become lists when dumped)."""
        return dataclasses.asdict(self)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-z) overflowing to inf is the right limit: 0
        return 1.0 / (1.0 + np.exp(-z))


def lstm_step_numpy(
    x: Any, h: Any, c: Any, kernel: Any, recurrent_kernel: Any, bias: Any
) -> dict[str, np.ndarray]:
    """The LSTM equations in float64, weights in Keras layout (gate blocks i, f, g, o).

    Returns the gates and the new state: {"i", "f", "g", "o", "c", "h"}.
    """
    x, h, c = (np.asarray(a, np.float64) for a in (x, h, c))
    z = x @ np.asarray(kernel, np.float64) + h @ np.asarray(recurrent_kernel, np.float64)
    z = z + np.asarray(bias, np.float64)
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=-1)
    i, f, g, o = _sigmoid(z_i), _sigmoid(z_f), np.tanh(z_g), _sigmoid(z_o)
    c = f * c + i * g
    h = o * np.tanh(c)
    return {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}


def floats(array: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(array).reshape(-1))


def matrix(array: np.ndarray) -> Matrix:
    return tuple(floats(row) for row in array)


def check_sequence(inputs: Sequence[Sequence[float]]) -> np.ndarray:
    if len(inputs) == 0:
        raise ValueError("no input: give at least one timestep")
    widths = {len(row) for row in inputs}
    if len(widths) != 1:
        raise ValueError(f"every timestep needs the same number of values, got {sorted(widths)}")
    array = np.asarray(inputs, np.float64)
    if array.shape[1] == 0:
        raise ValueError("a timestep needs at least one value")
    if not np.all(np.isfinite(array)):
        raise ValueError("inputs must be finite numbers")
    if np.any(np.abs(array) > FLOAT32_MAX):
        raise ValueError(f"inputs must fit the cell's float32 (at most {FLOAT32_MAX:.3g})")
    return array


def check_weights(weights: Sequence[Any], input_dim: int) -> tuple[np.ndarray, ...]:
    if len(weights) != 3:
        raise ValueError("weights must be (kernel, recurrent_kernel, bias)")
    kernel, recurrent, bias = (np.asarray(w, np.float32) for w in weights)
    units = recurrent.shape[0] if recurrent.ndim == 2 else 0
    expected = ((input_dim, 4 * units), (units, 4 * units), (4 * units,))
    if units < 1 or (kernel.shape, recurrent.shape, bias.shape) != expected:
        if kernel.ndim == 2 and kernel.shape[0] != input_dim:
            raise ValueError(
                f"this LSTM takes {kernel.shape[0]} values per timestep, got {input_dim}"
            )
        raise ValueError(
            f"weights have shapes {kernel.shape}, {recurrent.shape}, {bias.shape}; "
            "expected (input_dim, 4*units), (units, 4*units), (4*units,)"
        )
    return kernel, recurrent, bias


_STEP_SEPARATOR = re.compile(r"[;\n]")
_VALUE_SEPARATOR = re.compile(r"\s*,\s*|\s+")


def parse_inputs(text: str) -> list[list[float]]:
    """ "3,2,2,3,2,2" -> one timestep; "1,0; 0,1; 1,1" -> three. Raises ValueError (one line)."""
    rows = [part.strip() for part in _STEP_SEPARATOR.split(text)]
    rows = [row for row in rows if row]
    if not rows:
        raise ValueError("no input: type numbers like 3,2,2 (use ; between timesteps)")
    parsed: list[list[float]] = []
    for number, row in enumerate(rows, start=1):
        values = []
        for token in _VALUE_SEPARATOR.split(row):
            if not token:
                raise ValueError(f"timestep {number} has an empty value (two commas in a row?)")
            try:
                value = float(token)
            except ValueError:
                raise ValueError(f"timestep {number}: '{token}' is not a number") from None
            if not math.isfinite(value):
                raise ValueError(f"timestep {number}: '{token}' is not a finite number")
            if abs(value) > FLOAT32_MAX:
                raise ValueError(
                    f"timestep {number}: '{token}' does not fit the cell's float32 "
                    f"(at most {FLOAT32_MAX:.3g} in size)"
                )
            values.append(value)
        if not values:
            raise ValueError(f"timestep {number} is empty")
        if parsed and len(values) != len(parsed[0]):
            raise ValueError(
                f"timestep {number} has {len(values)} values but timestep 1 has "
                f"{len(parsed[0])}; every timestep needs the same number"
            )
        parsed.append(values)
    if len(parsed) > MAX_STEPS:
        raise ValueError(f"at most {MAX_STEPS} timesteps, got {len(parsed)}")
    return parsed
