"""How the machine is doing: CPU, memory of the app and of each run's process, disk free where
the runs live, and each GPU (utilisation, memory, temperature, which run holds it).

Plain Python (psutil, and NVML through nvidia-ml-py where it is installed; no Textual, no
TensorFlow): the app's System pane samples it on a worker thread at most once a second, and
`rnntui runs --watch` prints it. A sample costs well under a millisecond per process on CPU.

The GPU part follows NVML's documented calls (nvmlInit, nvmlDeviceGetCount,
nvmlDeviceGetHandleByIndex, nvmlDeviceGetUtilizationRates, nvmlDeviceGetMemoryInfo,
nvmlDeviceGetTemperature, nvmlDeviceGetComputeRunningProcesses) and has not run on a GPU:
the machines rnntui is developed on have none. Where NVML cannot be used, one line says why.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MB = 2**20
GB = 2**30


@dataclass(frozen=True)
class ProcessUse:
    """One process: the app's own, or a run's trainer."""

    label: str  # "app" or the run's name
    pid: int
    cpu_pct: float | None  # of one core (a busy trainer on 2 cores shows up to 200 %)
    rss_mb: float | None  # None: the process is gone (or not ours to read)


@dataclass(frozen=True)
class GpuUse:
    index: int
    name: str
    util_pct: int | None
    memory_used_mb: float | None
    memory_total_mb: float | None
    temperature_c: int | None
    runs: tuple[str, ...] = ()  # the runs (labels) whose processes hold this GPU


@dataclass(frozen=True)
class SystemSample:
    cpu_pct: float  # the whole machine, of all cores
    cores: int
    memory_used_mb: float
    memory_total_mb: float
    disk_path: str
    disk_free_gb: float | None
    processes: tuple[ProcessUse, ...] = ()
    gpus: tuple[GpuUse, ...] = ()
    gpu_note: str = ""  # why there are no GPU figures ("" when NVML answered)
    time: float = field(default_factory=time.time)


class Nvml:
    """NVML, initialised once; `note` says why it cannot be used ("" when it can)."""

    def __init__(self) -> None:
        self.nvml: Any = None
        self.note = ""
        try:
            import pynvml
        except ImportError:
            self.note = (
                "GPUs: not watched (nvidia-ml-py is not installed: pip install 'rnntui[cuda]')"
            )
            return
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as error:
            self.note = f"GPUs: none seen (NVML: {error})"
            return
        self.nvml = pynvml

    def read(self, holders: Mapping[int, str]) -> tuple[GpuUse, ...]:
        """Every GPU's figures; `holders` maps pids to run labels. A failed read is a note."""
        nvml = self.nvml
        if nvml is None:
            return ()
        gpus = []
        try:
            for index in range(nvml.nvmlDeviceGetCount()):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                gpus.append(self._device(nvml, index, handle, holders))
        except nvml.NVMLError as error:
            self.note = f"GPUs: NVML could not be read ({error})"
            return tuple(gpus)
        self.note = "" if gpus else "GPUs: NVML sees none"
        return tuple(gpus)

    @staticmethod
    def _device(nvml: Any, index: int, handle: Any, holders: Mapping[int, str]) -> GpuUse:
        def value(read: Any) -> Any:  # a GPU that does not report one figure still has others
            try:
                return read()
            except nvml.NVMLError:
                return None

        name = value(lambda: nvml.nvmlDeviceGetName(handle)) or f"GPU {index}"
        rates = value(lambda: nvml.nvmlDeviceGetUtilizationRates(handle))
        memory = value(lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
        temperature = value(
            lambda: nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)
        )
        processes = value(lambda: nvml.nvmlDeviceGetComputeRunningProcesses(handle)) or []
        runs = tuple(sorted({holders[p.pid] for p in processes if p.pid in holders}))
        return GpuUse(
            index=index,
            name=name.decode() if isinstance(name, bytes) else str(name),
            util_pct=rates.gpu if rates is not None else None,
            memory_used_mb=memory.used / MB if memory is not None else None,
            memory_total_mb=memory.total / MB if memory is not None else None,
            temperature_c=temperature,
            runs=runs,
        )

    def close(self) -> None:
        if self.nvml is not None:
            try:
                self.nvml.nvmlShutdown()
            except self.nvml.NVMLError:
                pass
            self.nvml = None


class SystemSampler:
    """Samples the machine; keep one for the figures of a process over time (CPU use is
    measured between two samples, so a process's first sample has none)."""

    def __init__(self, disk_path: Path, nvml: Nvml | None = None) -> None:
        import psutil

        self.psutil = psutil
        self.disk_path = Path(disk_path).expanduser()
        self.nvml = nvml if nvml is not None else Nvml()
        self._processes: dict[int, Any] = {}
        psutil.cpu_percent(None)  # the first reading counts from here

    def sample(self, processes: Mapping[str, int]) -> SystemSample:
        """Figures now; `processes` maps labels ("app", run names) to pids."""
        psutil = self.psutil
        memory = psutil.virtual_memory()
        uses = tuple(self._process(label, pid) for label, pid in processes.items())
        holders = {pid: label for label, pid in processes.items() if label != "app"}
        gpus = self.nvml.read(holders)
        return SystemSample(
            cpu_pct=psutil.cpu_percent(None),
            cores=psutil.cpu_count() or 1,
            memory_used_mb=(memory.total - memory.available) / MB,
            memory_total_mb=memory.total / MB,
            disk_path=str(self.disk_path),
            disk_free_gb=self._disk_free(),
            processes=uses,
            gpus=gpus,
            gpu_note=self.nvml.note,
        )

    def _process(self, label: str, pid: int) -> ProcessUse:
        psutil = self.psutil
        process = self._processes.get(pid)
        try:
            if process is None:
                process = self._processes[pid] = psutil.Process(pid)
                process.cpu_percent(None)  # counts from here: no figure yet
                cpu = None
            else:
                cpu = process.cpu_percent(None)
            rss = process.memory_info().rss / MB
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            self._processes.pop(pid, None)
            return ProcessUse(label, pid, None, None)
        return ProcessUse(label, pid, cpu, rss)

    def _disk_free(self) -> float | None:
        path = self.disk_path
        while not path.exists() and path != path.parent:  # the runs folder may not exist yet
            path = path.parent
        try:
            return self.psutil.disk_usage(str(path)).free / GB
        except OSError:
            return None

    def forget_others(self, pids: set[int]) -> None:
        """Drop the processes not in `pids` (runs that ended)."""
        for pid in set(self._processes) - pids:
            del self._processes[pid]

    def close(self) -> None:
        self.nvml.close()


def describe(sample: SystemSample) -> list[str]:
    """The sample as lines: the machine, each process, each GPU (or why there are none)."""
    disk = f"{sample.disk_free_gb:,.1f} GB" if sample.disk_free_gb is not None else "?"
    lines = [
        f"CPU {sample.cpu_pct:.0f} % of {sample.cores} cores · memory "
        f"{sample.memory_used_mb / 1024:.1f} / {sample.memory_total_mb / 1024:.1f} GB",
        f"disk free {disk} in {sample.disk_path}",
    ]
    width = max((len(p.label) for p in sample.processes), default=0)
    for use in sample.processes:
        if use.rss_mb is None:
            lines.append(f"{use.label:<{width}}  pid {use.pid}: gone")
            continue
        cpu = f"{use.cpu_pct:3.0f} %" if use.cpu_pct is not None else "  - %"
        lines.append(f"{use.label:<{width}}  cpu {cpu}  mem {use.rss_mb:5,.0f} MB  pid {use.pid}")
    for gpu in sample.gpus:
        util = f"{gpu.util_pct} %" if gpu.util_pct is not None else "? %"
        memory = (
            f"{gpu.memory_used_mb / 1024:.1f} / {gpu.memory_total_mb / 1024:.1f} GB"
            if gpu.memory_used_mb is not None and gpu.memory_total_mb is not None
            else "? GB"
        )
        heat = f"{gpu.temperature_c} °C" if gpu.temperature_c is not None else "? °C"
        held = f" · {', '.join(gpu.runs)}" if gpu.runs else ""
        lines.append(f"GPU {gpu.index} {gpu.name}: {util} · {memory} · {heat}{held}")
    if sample.gpu_note:
        lines.append(sample.gpu_note)
    return lines
