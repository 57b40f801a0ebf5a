"""`rnntui serve` against stock textual-serve: orphans and the first frame.

For each server (stock textual-serve 1.1 around `python -m rnntui`, as one would set it up by
hand, and `rnntui serve`) and each way a tab's life ends (the tab closes; the server gets
SIGTERM, SIGINT, SIGHUP or SIGKILL), it opens one tab over a real websocket, waits for the app's
first frame, ends it, and prints how long the server and the tab's app process took to go (or
that the app was still alive after --patience seconds: an orphan). Also the time from the
websocket's opening to the first screen bytes and to a whole first frame. With --training the
tab first starts a run (`s`) and waits for its first steps, and the last column says whether the
run was still training after the tab's end. Measures; asserts nothing.

    python -m benchmarks.bench_serve [--patience 15] [--repeat 1] [--training]
    python -m benchmarks.bench_serve --browser [--repeat 5]   # first frame in headless Chromium

--browser times, in a real headless Chromium (Debian's chromium and chromium-driver, driven by
selenium), from asking for the page of `rnntui serve` to the app's panes drawn on it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

FRAME_BYTES = 20_000  # about one whole first frame of the app at 120x40
# A run that trains for minutes (echo-raw-5 in small windows), so it is live when the tab ends.
LONG_RUN = "--set task.size=6000000 --set train.batch_size=20 --set train.chunk=20"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for child, its_parent in parents.items():
            if its_parent == parent:
                found.append(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def is_app(command: str) -> bool:
    """A tab's app (or the shell stock textual-serve wraps it in), not its trainer or helper."""
    return "-m rnntui" in command and " train " not in command and " serve" not in command


def start_server(kind: str, port: int, folder: Path) -> subprocess.Popen:
    """The runs go to folder/data/rnntui/runs (the default under XDG_DATA_HOME) either way."""
    env = {**os.environ, "XDG_DATA_HOME": str(folder / "data"), "XDG_STATE_HOME": str(folder)}
    if kind == "stock":
        app = f"{sys.executable} -m rnntui {LONG_RUN}"
        code = f"from textual_serve.server import Server; Server({app!r}, port={port}).serve()"
        argv = [sys.executable, "-c", code]
    else:
        argv = [sys.executable, "-m", "rnntui", "serve", "--port", str(port), *LONG_RUN.split()]
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


async def wait_for_page(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as client:
        while True:
            try:
                async with client.get(f"http://127.0.0.1:{port}/") as response:
                    await response.read()
                    return
            except aiohttp.ClientError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)


def live_runs(folder: Path) -> list[int]:
    from rnntui.runs.listing import list_runs

    return [row.live_pid for row in list_runs(folder / "data" / "rnntui" / "runs") if row.live_pid]


async def start_training(websocket: aiohttp.ClientWebSocketResponse, folder: Path) -> list[int]:
    """Press s in the tab; the training processes once their run has logged steps."""
    await websocket.send_json(["stdin", "s"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            await websocket.receive(timeout=0.2)  # keep the screen flowing
        except TimeoutError:
            pass
        runs = folder / "data" / "rnntui" / "runs"
        if any(path.stat().st_size > 0 for path in runs.glob("*/metrics/loss-000000.f32")):
            return live_runs(folder)
    raise TimeoutError("the run did not start within 120 s")


async def one(kind: str, ending: str, patience: float, training: bool) -> dict:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        server = start_server(kind, port, Path(folder))
        try:
            await wait_for_page(port)
            client = aiohttp.ClientSession()
            opened = time.monotonic()
            websocket = await client.ws_connect(f"http://127.0.0.1:{port}/ws?width=120&height=40")
            first = frame = 0.0
            received = 0
            while received < FRAME_BYTES:
                message = await websocket.receive(timeout=60)
                if message.type == aiohttp.WSMsgType.BINARY:
                    received += len(message.data)
                    first = first or time.monotonic() - opened
            frame = time.monotonic() - opened
            trainers = await start_training(websocket, Path(folder)) if training else []
            apps = [p for p in descendants(server.pid) if is_app(command_line(p))]
            ended = time.monotonic()
            if ending == "tab":
                await websocket.close()
            else:
                server.send_signal(getattr(signal, ending))
            server_gone = app_gone = None
            while time.monotonic() - ended < patience:
                if server_gone is None and ending != "tab" and server.poll() is not None:
                    server_gone = time.monotonic() - ended
                if app_gone is None and not any(alive(p) for p in apps):
                    app_gone = time.monotonic() - ended
                if app_gone is not None and (server_gone is not None or ending == "tab"):
                    break
                await asyncio.sleep(0.02)
            await client.close()
            run_on = bool(trainers) and all(alive(pid) for pid in trainers)
            return {
                "first": first, "frame": frame, "server": server_gone, "app": app_gone,
                "run_on": run_on, "training": bool(trainers),
            }  # fmt: skip
        finally:
            for pid in [server.pid, *descendants(server.pid), *live_runs(Path(folder))]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            server.wait()


# Keeps the page's xterm.js Terminal on window, to read what the page draws (as the tests do).
KEEP_TERMINAL = """
Object.defineProperty(Object.prototype, 'terminal', {configurable: true, set(value) {
  Object.defineProperty(this, 'terminal', {value, writable: true, configurable: true});
  if (value && value.buffer && value.write) { window.rnntuiTerminal = value; }
}});
"""
READ_SCREEN = """
const t = window.rnntuiTerminal; if (!t) { return ''; }
const rows = [];
for (let y = 0; y < t.rows; y++) { const l = t.buffer.active.getLine(y); rows.push(l ? l.translateToString(true) : ''); }
return rows.join('\\n');
"""  # noqa: E501


def browser_first_frames(repeat: int) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        server = start_server("rnntui", port, Path(folder))
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in (
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--window-size=1400,900", f"--user-data-dir={folder}/profile",
        ):  # fmt: skip
            options.add_argument(flag)
        started = time.monotonic()
        driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
        print(f"chromium up in {time.monotonic() - started:.2f} s")
        try:
            asyncio.run(wait_for_page(port))
            for _ in range(repeat):
                driver.execute_cdp_cmd(
                    "Page.addScriptToEvaluateOnNewDocument", {"source": KEEP_TERMINAL}
                )
                started = time.monotonic()
                driver.get(f"http://127.0.0.1:{port}/")
                while not ("Settings" in (screen := driver.execute_script(READ_SCREEN))
                           and "Loss" in screen):  # fmt: skip
                    if time.monotonic() - started > 120:
                        raise TimeoutError("no panes on the page after 120 s")
                    time.sleep(0.05)
                drawn = time.monotonic() - started
                loaded = driver.execute_script(
                    "return performance.getEntriesByType('navigation')[0].loadEventEnd / 1000"
                )
                print(
                    f"page asked for -> its load event {loaded:.2f} s -> the app's panes "
                    f"drawn {drawn:.2f} s"
                )
                driver.get("about:blank")  # the tab's app ends
                time.sleep(1.0)
        finally:
            driver.quit()
            os.killpg(server.pid, signal.SIGTERM)
            server.wait()


def seconds(value: float | None, patience: float) -> str:
    return f"{value:6.2f}" if value is not None else f">{patience:.0f} (!)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patience", type=float, default=15.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", choices=["stock", "rnntui"])
    parser.add_argument("--training", action="store_true", help="start a run in the tab first")
    parser.add_argument("--browser", action="store_true", help="first frames in Chromium")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.browser:
        browser_first_frames(args.repeat)
        print(f"load average {os.getloadavg()[0]:.1f}")
        return
    print(f"{'server':<7} {'ending':<8} {'1st byte s':>10} {'frame s':>8} "
          f"{'server gone s':>14} {'app gone s':>12}"
          f"{'  run goes on' if args.training else ''}")  # fmt: skip
    for kind in [args.only] if args.only else ["stock", "rnntui"]:
        for ending in ("tab", "SIGTERM", "SIGINT", "SIGHUP", "SIGKILL"):
            for _ in range(args.repeat):
                row = asyncio.run(one(kind, ending, args.patience, args.training))
                server = "-" if ending == "tab" else seconds(row["server"], args.patience)
                print(
                    f"{kind:<7} {ending:<8} {row['first']:>10.2f} {row['frame']:>8.2f} "
                    f"{server:>14} {seconds(row['app'], args.patience):>12}"
                    + (f"  {'yes' if row['run_on'] else 'no'}" if row["training"] else ""),
                    flush=True,
                )
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
