"""Which device trains, and how much of its memory is in use.

`train.device` is "auto" (the first GPU if TensorFlow sees one, else the CPU), "cpu", "gpu" (the
first GPU) or "gpu:N". On a shared GPU box TensorFlow would by default reserve all of every GPU's
memory at start; `train.gpu_memory_growth` (on by default) makes it take only what the run needs,
so several runs (or several people) share one GPU.

The choice itself (`device_setting.choose_gpus`) is plain Python over device names, so the rules
are tested on any machine; only `apply_device_settings` and `device_memory_mb` call TensorFlow's
GPU API, and they are small. Verified on CPU-only boxes; the GPU calls follow TensorFlow's
documented API (tf.config.set_visible_devices, experimental.set_memory_growth,
experimental.get_memory_info).
"""

from __future__ import annotations

import os

from rnntui.runtime.device_setting import choose_gpus


def apply_device_settings(device: str, memory_growth: bool) -> None:
    """Once per process, before the first op: the visible GPUs and their memory policy."""
    from rnntui.runtime.tf_import import import_tf

    tf = import_tf()
    gpus = tf.config.list_physical_devices("GPU")
    chosen = choose_gpus(device, gpus)
    if not gpus:
        return
    try:
        tf.config.set_visible_devices(chosen, "GPU")
        for gpu in chosen:
            tf.config.experimental.set_memory_growth(gpu, memory_growth)
    except RuntimeError:  # the runtime already started in this process: keep its settings
        pass


def device_name() -> str:
    """ "CPU", or the name of the GPU this process trains on."""
    from rnntui.runtime.tf_import import import_tf

    tf = import_tf()
    try:
        gpus = tf.config.get_visible_devices("GPU")
    except RuntimeError:
        gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    try:
        details = tf.config.experimental.get_device_details(gpus[0])
    except (RuntimeError, ValueError):
        details = {}
    return str(details.get("device_name") or gpus[0].name)


def device_memory_mb(on_gpu: bool) -> float:
    """Memory in use: the GPU's (TensorFlow's allocator) when training there, else this
    process's resident memory."""
    if on_gpu:
        from rnntui.runtime.tf_import import import_tf

        try:
            info = import_tf().config.experimental.get_memory_info("GPU:0")
            return info["current"] / 2**20
        except (RuntimeError, ValueError, KeyError):
            return 0.0
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            resident_pages = int(handle.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def preload_tensorflow() -> str:
    """Import TensorFlow (slow, ~4 s) and return the device training will use."""
    return device_name()
