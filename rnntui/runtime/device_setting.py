"""What `train.device` accepts, and which GPUs a setting picks: plain Python over device names
(no TensorFlow), so the config checks it and the rules are tested on any machine."""

from __future__ import annotations

import re
from typing import Any

DEVICE_PATTERN = re.compile(r"^(auto|cpu|gpu(:\d{1,2})?)$")
DEVICE_HELP = "auto, cpu, gpu or gpu:N (N counts from 0)"


class DeviceError(ValueError):
    """`train.device` names a device this machine does not have; `str()` is one line."""


def choose_gpus(setting: str, gpus: list[Any]) -> list[Any]:
    """The GPUs a run may see for `train.device = setting`, given the machine's `gpus`."""
    if not DEVICE_PATTERN.match(setting):
        raise DeviceError(f"train.device: {setting!r} is not a device; use {DEVICE_HELP}")
    if setting == "cpu":
        return []
    if setting == "auto":
        return gpus[:1]
    index = int(setting.partition(":")[2] or 0)
    if not gpus:
        raise DeviceError(
            f"train.device: {setting} asked for, but TensorFlow sees no GPU here "
            "(install 'rnntui[cuda]' on a GPU box); use cpu or auto"
        )
    if index >= len(gpus):
        raise DeviceError(
            f"train.device: {setting} asked for, but this machine has {len(gpus)} GPU(s): "
            f"use gpu:0 to gpu:{len(gpus) - 1}"
        )
    return [gpus[index]]
