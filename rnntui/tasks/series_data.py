"""A series' data: the columns of its file (read by `util/table.py`), checked and with missing
cells dealt with (cached: the config check and the task read the same file), and `SeriesCodec`,
the scale a run is trained with, made from its checkpointed state alone.

Part of the series task (`tasks/series.py`), split off to keep modules short.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rnntui.config import ConfigError
from rnntui.util.table import Table, TableError, describe_missing, expand, read_table

if TYPE_CHECKING:
    from rnntui.config import TaskConfig

CACHE_SIZE = 2
# a TableError's `about` -> the setting to change
TABLE_KEYS = {"path": "task.path", "time": "task.time", "column": "task.target",
              "missing": "task.missing"}  # fmt: skip


@dataclass(frozen=True)
class SeriesCodec:
    """How a series run's inputs are written and scaled: the task's `Codec`, made from its
    `state()` alone. Text input (the inspector) is rows of numbers: "1.5, 2; 1.7, 2.1"."""

    inputs: tuple[str, ...]
    targets: tuple[str, ...]
    mean: tuple[float, ...]  # per input column, training rows
    std: tuple[float, ...]
    center: tuple[float, ...]  # per target: what the network's output is added to ...
    scale: tuple[float, ...]  # ... after scaling by this
    residual: bool  # the output is the change from each target's last input value
    horizon: int
    time: str = ""
    # the spread of each target's row-to-row change over the training rows: residual runs also
    # read each target's change from the row before, divided by this (0 at a window's first row)
    changes: tuple[float, ...] = ()
    ids = False
    many_to_many = False

    @property
    def num_classes(self) -> int:
        return len(self.targets)

    @property
    def input_dim(self) -> int:
        return len(self.inputs) + len(self.changes)

    @property
    def target_inputs(self) -> tuple[int, ...]:
        """Each target's position among the inputs (residual runs have them all)."""
        return tuple(self.inputs.index(t) for t in self.targets if t in self.inputs)

    def state(self) -> dict[str, Any]:
        return {
            "inputs": list(self.inputs),
            "targets": list(self.targets),
            "mean": list(self.mean),
            "std": list(self.std),
            "center": list(self.center),
            "scale": list(self.scale),
            "residual": self.residual,
            "horizon": self.horizon,
            "time": self.time,
            "changes": list(self.changes),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SeriesCodec:
        try:
            codec = cls(
                tuple(state["inputs"]),
                tuple(state["targets"]),
                tuple(float(v) for v in state["mean"]),
                tuple(float(v) for v in state["std"]),
                tuple(float(v) for v in state["center"]),
                tuple(float(v) for v in state["scale"]),
                bool(state["residual"]),
                int(state["horizon"]),
                str(state.get("time", "")),
                tuple(float(v) for v in state.get("changes", ())),
            )
        except (KeyError, TypeError, ValueError):
            raise ValueError("the checkpoint holds no series scale (is it a series run?)") from None
        sizes = {len(codec.mean), len(codec.std), len(codec.inputs)}
        if len(sizes) != 1 or len(codec.center) != len(codec.targets) != len(codec.scale):
            raise ValueError("the checkpoint's series scale is damaged")
        if codec.changes and len(codec.changes) != len(codec.target_inputs):
            raise ValueError("the checkpoint's series scale is damaged")
        if not all(s > 0 and math.isfinite(s) for s in (*codec.std, *codec.scale, *codec.changes)):
            raise ValueError("the checkpoint's series scale is damaged")
        return codec

    # --- scaling (NumPy) -------------------------------------------------------------------------

    def normalize(self, raw: np.ndarray) -> np.ndarray:
        """Raw input rows [..., inputs] -> the standardised levels (float32)."""
        return ((raw - np.asarray(self.mean)) / np.asarray(self.std)).astype(np.float32)

    def change_features(self, raw: np.ndarray) -> np.ndarray:
        """Windows of raw rows [..., steps, inputs] -> each target's scaled change from the row
        before [..., steps, changes] (0 at the first row: a window stands on its own)."""
        picked = raw[..., list(self.target_inputs)]
        out = np.zeros(picked.shape, np.float32)
        out[..., 1:, :] = (picked[..., 1:, :] - picked[..., :-1, :]) / np.asarray(self.changes)
        return out

    def features(self, raw: np.ndarray) -> np.ndarray:
        """Windows of raw rows [..., steps, inputs] -> what the network reads."""
        levels = self.normalize(raw)
        if not self.changes:
            return levels
        return np.concatenate([levels, self.change_features(raw)], axis=-1)

    def base(self, last_raw: np.ndarray) -> np.ndarray:
        """What each forecast adds the scaled output to: the last raw inputs [..., inputs] ->
        [..., targets] (the targets' last values, or 0)."""
        if not self.residual:
            return np.zeros((*last_raw.shape[:-1], len(self.targets)))
        return last_raw[..., list(self.target_inputs)]

    def to_units(self, outputs: np.ndarray, last_raw: np.ndarray) -> np.ndarray:
        """Network outputs [..., targets] -> forecasts in the targets' units."""
        outputs = np.asarray(outputs, np.float64)
        return self.base(last_raw) + np.asarray(self.center) + np.asarray(self.scale) * outputs

    def to_outputs(self, truth: np.ndarray, last_raw: np.ndarray) -> np.ndarray:
        """The inverse: what the network should output for targets `truth` (training labels)."""
        scaled = (truth - self.base(last_raw) - np.asarray(self.center)) / np.asarray(self.scale)
        return scaled.astype(np.float32)

    # --- the same in Keras ops (an exported model takes and gives raw units) ---------------------

    def keras_features(self, raw: Any) -> Any:
        """`features` for a Keras tensor of raw windows [batch, time, inputs]."""
        import keras

        ops = keras.ops
        levels = (raw - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        if not self.changes:
            return levels
        picked = ops.take(raw, list(self.target_inputs), axis=2)
        steps = (picked[:, 1:, :] - picked[:, :-1, :]) / np.asarray(self.changes, np.float32)
        first = ops.zeros_like(picked[:, :1, :])
        return ops.concatenate([levels, ops.concatenate([first, steps], axis=1)], axis=2)

    def keras_units(self, outputs: Any, raw: Any) -> Any:
        """`to_units` for Keras tensors: outputs [batch, targets], raw windows as above."""
        import keras

        units = outputs * np.asarray(self.scale, np.float32) + np.asarray(self.center, np.float32)
        if self.residual:
            units = units + keras.ops.take(raw[:, -1, :], list(self.target_inputs), axis=1)
        return units

    # --- Codec -----------------------------------------------------------------------------------

    def encode(self, text: str) -> np.ndarray:
        rows = [row for row in text.replace("\n", ";").split(";") if row.strip()]
        if not rows:
            raise ValueError(f"no input: give rows of {len(self.inputs)} numbers, like 1.5; 1.7")
        values = []
        for row in rows:
            cells = [cell for cell in row.replace(",", " ").split() if cell]
            if len(cells) != len(self.inputs):
                raise ValueError(
                    f"each row needs {len(self.inputs)} numbers ({', '.join(self.inputs)}), "
                    f"got '{row.strip()[:40]}'"
                )
            try:
                values.append([float(cell) for cell in cells])
            except ValueError:
                raise ValueError(f"'{row.strip()[:40]}' is not a row of numbers") from None
        return self.features(np.asarray(values, np.float64))

    def decode(self, ids: Any) -> str:
        return " ".join(f"{v:.4g}" for v in np.asarray(ids, np.float64).reshape(-1))

    def labels(self, inputs: np.ndarray) -> tuple[str, ...]:
        first = np.asarray(inputs, np.float64).reshape(len(inputs), -1)[:, 0]
        raw = first * self.std[0] + self.mean[0]
        return tuple(f"{v:.3g}" for v in raw)


@dataclass
class SeriesData:
    """A file's columns after the missing cells are dealt with."""

    table: Table
    raw: np.ndarray  # [rows, inputs] float64
    targets: np.ndarray  # [rows, targets] float64
    time: np.ndarray | None
    missing: dict[str, int]
    dropped: int


_cache: OrderedDict[tuple, SeriesData] = OrderedDict()
_cache_lock = threading.Lock()


def _file_key(path_text: str) -> tuple:
    try:
        info = expand(path_text).stat()
        return (path_text, info.st_size, info.st_mtime_ns)
    except OSError:
        return (path_text, None, None)


def read_columns(task: TaskConfig) -> Table:
    """Every numeric column of task.path (the defaults need to know them all) and its time
    column, missing cells as NaN; a problem is a ConfigError naming the setting to change."""
    try:
        return read_table(task.path, None, task.time, missing_ok=True)
    except TableError as error:
        message = str(error)
        if error.about == "time" and "has no column" in message:
            # a series preset's time column (date) carried over to a user's file
            message = message.replace("; its columns", " for the time axis; its columns")
            message += '; name yours, or set task.time = "" for none'
            done = {"interpolate": "interpolated", "drop": "dropped"}.get(task.missing)
            if done:  # carried over with it: say so before it applies to the user's file
                message += f' (and missing cells are {done}: task.missing = "{task.missing}")'
        raise ConfigError(message, TABLE_KEYS.get(error.about, "task.path")) from None


def choose_columns(task: TaskConfig, table: Table) -> tuple[list[str], list[str]]:
    """The input and target columns `task` asks for, checked against the file (ConfigError)."""
    where = f"'{table.path}'"
    numeric = [name for name in table.numeric if name != task.time]
    targets = list(task.target)
    if not targets:
        if len(numeric) != 1:
            raise ConfigError(
                f"name the column(s) to forecast; {where} has the numeric columns "
                f"{', '.join(numeric) or '(none)'}",
                "task.target",
            )
        targets = numeric
    inputs = list(task.inputs) or list(numeric)
    for key, names in (("task.target", targets), ("task.inputs", inputs)):
        for name in names:
            if name not in table.names:
                raise ConfigError(
                    f"{where} has no column '{name}'; its columns are {', '.join(table.names)}",
                    key,
                )
            if name == task.time:
                raise ConfigError(f"'{name}' is the time column (task.time); pick another", key)
            if name not in table.numeric:
                raise ConfigError(
                    f"{where}: column '{name}' holds text, not numbers; its numeric columns are "
                    f"{', '.join(numeric) or '(none)'}",
                    key,
                )
    return inputs, targets


def load_series(task: TaskConfig) -> SeriesData:
    """The columns `task` names, read, checked and with missing cells handled; cached."""
    key = (
        _file_key(task.path),
        tuple(task.target),
        tuple(task.inputs),
        task.time,
        task.missing,
    )
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        series = _load(task)
        _cache[key] = series
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return series


def _load(task: TaskConfig) -> SeriesData:
    where = f"'{task.path}'"
    # every numeric column is read (the defaults need to know them all); text ones are not
    table = read_columns(task)
    inputs, targets = choose_columns(task, table)
    table.columns = {n: table.columns[n] for n in dict.fromkeys([*inputs, *targets])}
    table.first_missing = {n: v for n, v in table.first_missing.items() if n in table.columns}
    used = list(table.columns)
    missing = {name: int(np.isnan(table.columns[name]).sum()) for name in used}
    if task.missing == "error" and table.first_missing:
        name, (row, cell) = min(table.first_missing.items(), key=lambda item: item[1][0])
        what = "a missing value" if table.parquet else describe_missing(cell)
        raise ConfigError(
            f"{where} {table.place(row)}, column '{name}': {what}; fix it, or set "
            'task.missing = "interpolate" or "drop"',
            "task.missing",
        )
    time = table.time
    if time is not None:
        order = time.astype(np.float64) if time.dtype.kind == "f" else time.astype(np.int64)
        back = np.flatnonzero(np.diff(order) < 0)
        if len(back):
            row = int(back[0]) + 1
            raise ConfigError(
                f"{where} {table.place(row)}: the time column '{task.time}' goes backwards "
                f"({time_text(time[row - 1])} then {time_text(time[row])}); sort the file by "
                "time",
                "task.time",
            )
    matrix = np.column_stack([table.columns[name] for name in used])
    dropped = 0
    if any(missing.values()):
        if task.missing == "drop":
            keep = ~np.isnan(matrix).any(axis=1)
            dropped = int((~keep).sum())
            matrix = matrix[keep]
            time = time[keep] if time is not None else None
        else:  # interpolate: linearly between the neighbours (over time when there is one)
            axis = np.arange(len(matrix), dtype=np.float64)
            if time is not None:
                axis = time.astype(np.float64) if time.dtype.kind == "f" else time.astype(np.int64)
                axis = axis.astype(np.float64)
            for j in range(matrix.shape[1]):
                column = matrix[:, j]
                bad = np.isnan(column)
                if bad.all():
                    raise ConfigError(
                        f"{where}: column '{used[j]}' has no numbers at all; pick another",
                        "task.inputs",
                    )
                if bad.any():
                    column[bad] = np.interp(axis[bad], axis[~bad], column[~bad])
    index = {name: j for j, name in enumerate(used)}
    raw = matrix[:, [index[name] for name in inputs]]
    target_values = matrix[:, [index[name] for name in targets]]
    table.columns = {name: matrix[:, index[name]] for name in used}
    return SeriesData(table, raw, target_values, time, missing, dropped)


def check_not_constant(task: TaskConfig, targets: list[str], train_truth: np.ndarray) -> None:
    for j, name in enumerate(targets):
        column = train_truth[:, j]
        if len(column) and np.ptp(column) == 0:
            raise ConfigError(
                f"'{task.path}': the target '{name}' is constant ({column[0]:g}) in the training "
                "rows; there is nothing to forecast",
                "task.target",
            )


def time_text(value: Any) -> str:
    if isinstance(value, np.datetime64):
        text = str(value.astype("M8[s]"))
        return text.removesuffix("T00:00:00")
    return f"{float(value):g}"


def split_row(rows: int, valid_fraction: float) -> int:
    """The first validation row."""
    return rows - int(rows * valid_fraction)
