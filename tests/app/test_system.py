"""The System pane's figures: CPU, memory of the app and of each live run, disk free, and the
GPUs or one line saying why there are none (these machines have no GPU: the NVML path itself
is untested, the code around it is tested here with NVML absent)."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
import time

import pytest
from textual.app import App, ComposeResult

from rnntui.config import load_preset
from rnntui.runs.folder import RunFolder
from rnntui.runs.live import live_runs
from rnntui.runtime.system import Nvml, SystemSampler, describe
from rnntui.tui.app import RnnTuiApp
from rnntui.tui.widgets.system_pane import SystemPane


def locked_run(tmp_path):
    """A run folder whose lock this process holds: a live run as every reader sees one."""
    run = RunFolder.create(load_preset("echo-raw-5"), tmp_path / "runs")
    run.acquire()
    return run


def test_live_runs_are_the_locked_ones(tmp_path):
    run = locked_run(tmp_path)
    RunFolder.create(load_preset("echo-raw-5"), tmp_path / "runs")  # ended: nobody holds it
    try:
        assert live_runs(tmp_path / "runs") == {run.name: os.getpid()}
    finally:
        run.release()
    assert live_runs(tmp_path / "runs") == {}
    assert live_runs(tmp_path / "nowhere") == {}


def test_a_sample_has_each_process_and_says_why_no_gpu(tmp_path):
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        sampler = SystemSampler(tmp_path / "runs" / "not-yet")  # disk free of the nearest parent
        first = sampler.sample({"app": os.getpid(), "busy-run": busy.pid})
        deadline = time.monotonic() + 10  # a loaded box may give the loop little at first
        while True:
            time.sleep(0.5)
            sample = sampler.sample({"app": os.getpid(), "busy-run": busy.pid})
            busy_cpu = sample.processes[1].cpu_pct
            if (busy_cpu or 0) > 0 or time.monotonic() > deadline:
                break
    finally:
        busy.kill()
        busy.wait()
    assert first.processes[1].cpu_pct is None  # CPU use needs two readings
    app, run = sample.processes
    assert run.label == "busy-run" and run.cpu_pct is not None and run.cpu_pct > 0
    assert app.rss_mb is not None and app.rss_mb > 10
    assert 0 < sample.memory_used_mb < sample.memory_total_mb
    assert sample.disk_free_gb is not None and sample.disk_free_gb > 0
    assert sample.gpus == () and sample.gpu_note.startswith("GPUs: ")
    assert "NVML" in sample.gpu_note or "nvidia-ml-py" in sample.gpu_note
    lines = describe(sample)
    assert lines[0].startswith("CPU ") and " cores · memory " in lines[0]
    assert lines[1] == f"disk free {sample.disk_free_gb:,.1f} GB in {tmp_path / 'runs' / 'not-yet'}"
    assert any(line.startswith("busy-run  cpu") and f"pid {busy.pid}" in line for line in lines)
    assert lines[-1] == sample.gpu_note
    gone = sampler.sample({"busy-run": busy.pid})
    assert gone.processes[0].rss_mb is None and "gone" in describe(gone)[2]
    sampler.close()


def test_nvml_absent_is_one_line_and_reads_nothing():
    nvml = Nvml()
    assert nvml.read({1: "run"}) == ()
    assert "\n" not in nvml.note and nvml.note.startswith("GPUs: ")
    nvml.close()


def test_runs_watch_prints_each_live_run_until_ctrl_c(tmp_path):
    run = locked_run(tmp_path)
    watch = subprocess.Popen(
        [sys.executable, "-m", "rnntui", "runs", "--watch", "--runs-dir", str(tmp_path / "runs")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    heads: list[float] = []  # when each refresh's first line arrived
    try:
        deadline = time.monotonic() + 60  # starting may take seconds on a busy box
        while len(heads) < 3 and time.monotonic() < deadline:
            if select.select([watch.stdout], [], [], 1.0)[0]:
                line = watch.stdout.readline()
                if not line:
                    break
                seen.append(line)
                if " training in " in line:
                    heads.append(time.monotonic())
        watch.send_signal(signal.SIGINT)  # Ctrl+C ends it quietly
        out, err = watch.stdout.read(), watch.stderr.read()  # (readline buffered some of it)
        watch.wait(timeout=20)
    finally:
        run.release()
        if watch.poll() is None:
            watch.kill()
    assert watch.returncode == 0 and "Traceback" not in err, err
    assert len(heads) == 3 and heads[2] - heads[0] >= 1.5  # about once a second
    blocks = [block for block in ("".join(seen) + out).split("\n\n") if block.strip()]
    assert len(blocks) >= 3
    last = blocks[-1].splitlines()
    assert "1 run(s) training in" in last[0]
    assert last[1].startswith("CPU ")
    assert any(
        line.startswith(f"{run.name}  cpu") and f"pid {os.getpid()}" in line for line in last
    )
    assert last[-1].startswith("GPUs: ")


class PaneApp(App[None]):
    def __init__(self, runs_dir) -> None:
        super().__init__()
        self.runs_dir = runs_dir

    def compose(self) -> ComposeResult:
        yield SystemPane(self.runs_dir, processes=lambda: {"unsaved-run": os.getppid()})


def test_the_pane_samples_on_a_worker_about_once_a_second(tmp_path):
    run = locked_run(tmp_path)

    async def main() -> None:
        app = PaneApp(tmp_path / "runs")
        async with app.run_test(size=(100, 12)) as pilot:
            pane = app.query_one(SystemPane)
            started = time.monotonic()
            while pane.samples < 3 and time.monotonic() - started < 20:
                await pilot.pause(0.05)
            elapsed = time.monotonic() - started
            assert pane.samples >= 3 and elapsed >= 1.9  # at most once a second
            text = str(pane.render())
            assert text.startswith("CPU ")
            assert "app  " in text and run.name in text and "unsaved-run" in text
            assert "GPUs: " in text and ("rnntui[cuda]" in text or "NVML" in text)
            assert [w.group for w in app.workers if w.is_running] == ["system-pane"]

    try:
        asyncio.run(main())
    finally:
        run.release()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_y_shows_the_system_pane_in_the_app(tmp_path, size):
    """A 7th tab on a small terminal, the inspector's cell on a large one; it samples only once
    shown, and i brings the inspector back."""
    run = locked_run(tmp_path)

    async def main() -> None:
        app = RnnTuiApp(
            load_preset("echo-raw-5"), preset_name="echo-raw-5", runs_dir=run.path.parent
        )
        async with app.run_test(size=size) as pilot:
            pane = app.query_one("#system", SystemPane)
            await pilot.pause(0.3)
            assert not pane.display or pane.region.area == 0
            assert pane.samples == 0 and "system-pane" not in [w.group for w in app.workers]
            await pilot.press("y")
            started = time.monotonic()
            while pane.samples < 1 and time.monotonic() - started < 20:
                await pilot.pause(0.05)
            assert pane.display and pane.region.area > 0
            assert pane.border_title == "System"
            text = str(pane.render())
            assert text.startswith("CPU ") and f"{run.name}  cpu" in text and "app  " in text
            cells = ("settings", "chart", "data", "inspector", "generate", "probe", "system")
            shown = [name for name in cells if app.query_one(f"#{name}").region.area > 0]
            if size == (80, 24):
                assert shown == ["system"]
                assert app.query_one("#tabs").active == "tab-system"
                await pilot.press("1")
                await pilot.pause()
                await pilot.press("7")  # the tab's own key
                await pilot.pause()
                assert app.query_one("#tabs").active == "tab-system" and pane.region.area > 0
            else:
                assert shown == ["settings", "chart", "data", "system"]
                await pilot.press("i")
                await pilot.pause()
                shown = [name for name in cells if app.query_one(f"#{name}").region.area > 0]
                assert shown == ["settings", "chart", "data", "inspector"]

    try:
        asyncio.run(main())
    finally:
        run.release()
