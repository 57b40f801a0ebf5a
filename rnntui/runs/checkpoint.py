"""Checkpoints: where training stands, as an npz archive, checked for damage and for fit.

Everything a resume needs is checked before anything is written: a damaged archive or one that
does not fit the run's config is a `CheckpointError` (one line), never NumPy's own message.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnntui.runs.files import CHECKPOINT_FILE, CONFIG_FILE, RunFolderError
from rnntui.util.numbers import is_number, short_repr

CHECKPOINT_GROUPS = ("weights", "optimizer", "state", "best")
CHECKPOINT_META = {
    "epoch": int,
    "window": int,
    "step": int,
    "wall_s": float,
    "epoch_losses": list,
    "metrics": dict,
}


class CheckpointError(RunFolderError):
    """A checkpoint that is damaged or does not fit the run's config."""


@dataclass
class Checkpoint:
    """Where training stands: enough to continue as if it had never stopped."""

    epoch: int  # the epoch in progress (or the next one, when `window` is 0)
    window: int  # the next window of that epoch to train on
    step: int  # steps done in total
    wall_s: float  # training time so far
    weights: list[np.ndarray]
    optimizer: list[np.ndarray]
    state: list[np.ndarray]  # the carried RNN state
    epoch_losses: list[float]  # losses of the epoch in progress (for its evaluation)
    metrics: dict[str, float]
    task_state: dict[str, Any] = field(default_factory=dict)  # e.g. a vocabulary (Task.state)
    # the best evaluated weights (train.patience) when they are not `weights`, so a resumed run
    # can still end on them; none in checkpoints from before they were kept
    best: list[np.ndarray] = field(default_factory=list)


def encode_checkpoint(checkpoint: Checkpoint) -> bytes:
    """The npz archive of a checkpoint: its arrays by group and index, and a JSON meta record."""
    arrays: dict[str, np.ndarray] = {}
    for group in CHECKPOINT_GROUPS:
        for i, value in enumerate(getattr(checkpoint, group)):
            arrays[f"{group}_{i:04d}"] = np.asarray(value)
    meta = {
        "epoch": checkpoint.epoch,
        "window": checkpoint.window,
        "step": checkpoint.step,
        "wall_s": checkpoint.wall_s,
        "epoch_losses": checkpoint.epoch_losses,
        "metrics": checkpoint.metrics,
        "task_state": checkpoint.task_state,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def parse_checkpoint(data: bytes) -> Checkpoint:
    """A checkpoint from the bytes of a `checkpoint.npz`; CheckpointError for anything torn,
    garbled or of the wrong kinds (never NumPy's own messages, such as its allow_pickle hint)."""

    def damaged(why: str) -> CheckpointError:
        return CheckpointError(
            f"{CHECKPOINT_FILE} is damaged ({why}); the run cannot be resumed from it"
        )

    if not data:
        raise damaged("an empty file")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise damaged("truncated zip" if data.startswith(b"PK") else "not an npz archive")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as error:  # noqa: BLE001 - an untrusted archive fails in many ways
        text = str(error)
        if "pickle" in text or "Object arrays" in text:
            raise damaged("it holds Python objects, not arrays") from None
        if isinstance(error, EOFError) or "truncated" in text.lower():
            raise damaged("truncated data") from None
        if "CRC" in text:
            raise damaged("corrupt data: bad CRC") from None
        raise damaged(f"unreadable: {type(error).__name__}") from None

    raw = arrays.pop("meta", None)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise damaged("no meta record")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except ValueError:
        raise damaged("its meta record is not JSON") from None
    if isinstance(meta, dict):  # checkpoints from before tasks kept state have none
        meta.setdefault("task_state", {})
    if not isinstance(meta, dict) or set(meta) != {*CHECKPOINT_META, "task_state"}:
        raise damaged("its meta record has the wrong fields")
    if not isinstance(meta["task_state"], dict):  # the task checks what it holds
        raise damaged(f"meta 'task_state' is {short_repr(meta['task_state'])}")
    for key, kind in CHECKPOINT_META.items():
        value = meta[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = meta[key] = float(value)
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if kind is int:
            ok = ok and value >= 0
        elif kind is float:
            ok = ok and math.isfinite(value) and value >= 0
        elif kind is list:
            ok = ok and all(is_number(v) and math.isfinite(v) for v in value)
        else:
            ok = ok and all(
                isinstance(k, str) and (v is None or is_number(v)) for k, v in value.items()
            )
        if not ok:
            raise damaged(f"meta '{key}' is {short_repr(value)}")

    groups: dict[str, list[np.ndarray]] = {group: [] for group in CHECKPOINT_GROUPS}
    for key in sorted(arrays):
        match = re.fullmatch(r"(weights|optimizer|state|best)_(\d{4})", key)
        if match is None:
            raise damaged(f"an unexpected array '{short_repr(key)}'")
        group, index = match[1], int(match[2])
        if index != len(groups[group]):
            raise damaged(f"{group} array {len(groups[group])} is missing")
        array = arrays[key]
        if array.dtype.kind not in "fiu":
            raise damaged(f"{key} holds {array.dtype} values, not numbers")
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise damaged(f"{key} holds NaN or infinite values")
        groups[group].append(array)
    return Checkpoint(**meta, **groups)


def check_checkpoint_fits(
    checkpoint: Checkpoint,
    expected: dict[str, list[tuple[tuple[int, ...], np.dtype]]],
    steps_per_epoch: int,
) -> None:
    """CheckpointError unless the checkpoint's arrays have the count, shapes and dtypes of
    `expected` (per group: what the config's model, optimizer and state hold) and its position
    is one the data has. Touches nothing: a resume calls this before it writes anything."""

    def misfit(why: str) -> CheckpointError:
        return CheckpointError(
            f"{CHECKPOINT_FILE} does not fit the run's config ({why}); "
            "the run cannot be resumed from it"
        )

    if checkpoint.window >= steps_per_epoch:
        raise misfit(f"window {checkpoint.window} of an epoch of {steps_per_epoch}")
    if checkpoint.step != checkpoint.epoch * steps_per_epoch + checkpoint.window:
        raise misfit(
            f"step {checkpoint.step} is not epoch {checkpoint.epoch}, window {checkpoint.window}"
        )
    for group in CHECKPOINT_GROUPS:
        if group == "state" and checkpoint.window == 0:
            continue  # a new epoch starts from a zero state: whatever was saved is not used
        if group == "best" and not checkpoint.best:
            continue  # the weights are the best there are (or the run keeps no best)
        want = expected["weights" if group == "best" else group]
        problem = fit_problem(group, getattr(checkpoint, group), want)
        if problem:
            raise misfit(problem)


def fit_problem(
    group: str, have: list[np.ndarray], want: list[tuple[tuple[int, ...], np.dtype]]
) -> str:
    """How arrays of a checkpoint `group` differ from what the model holds ("" when they fit)."""
    if len(have) != len(want):
        return f"{len(have)} {group} arrays, the model has {len(want)}"
    for i, (array, (shape, dtype)) in enumerate(zip(have, want, strict=True)):
        if tuple(array.shape) != tuple(shape):
            return f"{group} {i} has shape {tuple(array.shape)}, the model {tuple(shape)}"
        if np.dtype(array.dtype) != np.dtype(dtype):
            return f"{group} {i} holds {array.dtype}, the model {np.dtype(dtype)}"
    return ""


def check_weights_fit(run_name: str, weights: list[np.ndarray], model_weights: list[Any]) -> None:
    """CheckpointError (one line) unless a checkpoint's weights fit the model its run's config
    and vocabulary build: what generate, inspect, export and probe check before loading them
    (a resume checks the whole checkpoint with `check_checkpoint_fits`)."""
    want = [(tuple(w.shape), np.dtype(w.dtype)) for w in model_weights]
    problem = fit_problem("weights", weights, want)
    if problem:
        raise CheckpointError(
            f"run '{run_name}': {CHECKPOINT_FILE} does not fit the run's {CONFIG_FILE} and "
            f"vocabulary ({problem}); was {CONFIG_FILE} edited? put it back as it was"
        )
