"""Which devices a run asks for: the choice rules, on the GPU names TensorFlow would list."""

from __future__ import annotations

import pytest

from rnntui.runtime.device_setting import DeviceError, choose_gpus


def test_device_choice_rules():
    gpus = ["GPU:0", "GPU:1"]  # what TensorFlow lists on a two-GPU box (names only matter)
    assert choose_gpus("auto", gpus) == ["GPU:0"]
    assert choose_gpus("auto", []) == []
    assert choose_gpus("cpu", gpus) == []
    assert choose_gpus("gpu", gpus) == ["GPU:0"]
    assert choose_gpus("gpu:1", gpus) == ["GPU:1"]
    with pytest.raises(DeviceError, match="this machine has 2 GPU"):
        choose_gpus("gpu:2", gpus)
    with pytest.raises(DeviceError, match="sees no GPU"):
        choose_gpus("gpu", [])
    with pytest.raises(DeviceError, match="is not a device"):
        choose_gpus("cuda", gpus)
