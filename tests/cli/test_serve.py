"""`rnntui serve`: the real server (`python -m rnntui serve`), real app processes, real HTTP and
websocket clients, and a real headless Chromium for what a user sees.

The browser tests read the page's terminal from xterm.js's own buffer (what the page draws): a
script injected before the page loads keeps a reference to the page's `Terminal` object. They
are marked slow (about a minute together on a 2-core box); `-m "not slow"` leaves them out.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from rnntui.runs.listing import list_runs
from tests.helpers import run_cli

pytest.importorskip("textual_serve", reason="needs the serve extra: pip install 'rnntui[serve]'")
aiohttp = pytest.importorskip("aiohttp")

from rnntui.serve.access import Access, check_token  # noqa: E402 - needs the extra
from rnntui.serve.server import Listening, banner  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(
    os.environ.get("RNNTUI_TEST_ARTIFACTS", Path(tempfile.gettempdir()) / "rnntui-test-artifacts")
)
# ~300,000 steps of echo-raw-5 in small windows: it trains for minutes; the test stops it.
LONG_RUN = [
    "--set", "task.size=6000000", "--set", "train.batch_size=20", "--set", "train.chunk=20",
    "--set", "train.epochs=5",
]  # fmt: skip
STEP = re.compile(r"step ([\d,]+)/[\d,]+")


# --- the server -----------------------------------------------------------------------------------


class Served:
    """`rnntui serve --port 0 ARGS` in its own session; its banner, log and children."""

    def __init__(self, folder: Path, *args: str) -> None:
        self.out, self.err = folder / "serve.out", folder / "serve.err"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "rnntui", "serve", "--port", "0", *args],
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        try:
            self.banner = wait_until(
                lambda: "stop with Ctrl+C" in self.out.read_text() and self.out.read_text(),
                60,
                "the server's banner",
                lambda: self.err.read_text(),
            )
            self.url = re.search(r"rnntui serve: (\S+)", self.banner).group(1)
            listening = re.search(r"\(listening on \S+:(\d+)\)", self.banner)
            self.port = int((listening or re.search(r":(\d+)/", self.url)).group(1))
        except BaseException:
            self.close()  # a server that did not come up as expected is not left behind
            raise

    def log(self) -> str:
        return self.err.read_text()

    def apps(self) -> list[int]:
        """The tabs' app processes (the server's children)."""
        return children(self.process.pid)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> float:
        """Signal the server; seconds until it exited."""
        started = time.monotonic()
        self.process.send_signal(signum)
        self.process.wait(timeout)
        return time.monotonic() - started

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and alive(int(entry)):
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(
    condition: Callable[[], object],
    timeout: float,
    what: str,
    shown: Callable[[], str] = lambda: "",
) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{shown()}")
        time.sleep(0.1)


def live_run(runs: Path) -> tuple[str, int] | None:
    rows = [row for row in list_runs(runs) if row.live_pid]
    return (rows[0].name, rows[0].live_pid) if rows else None


def stop_runs(runs: Path) -> None:
    """Stop what trains in `runs` (the test's leftovers) and wait for the checkpoints."""
    for row in list_runs(runs):
        if row.live_pid:
            os.kill(row.live_pid, signal.SIGTERM)
            wait_until(lambda pid=row.live_pid: not alive(pid), 30, f"run {row.name} to stop")


def get(url: str, **headers: str) -> tuple[int, str, dict]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


class Forwarder:
    """What `ssh -L LOCAL:127.0.0.1:PORT` does, on this machine: a TCP relay from a port of its
    own (so the browser's address has a different port than the server's)."""

    def __init__(self, target_port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target = ("127.0.0.1", target_port)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(self.target)
            except OSError:
                return
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


# --- plain rules, the command line, processes ----------------------------------------------------


def test_access_rules_token_host_and_origin():
    loopback = Access()
    assert loopback.refusal("/", "127.0.0.1:8000", None, None, None) == ""
    assert loopback.refusal("/", "localhost:9000", None, None, None) == ""  # a tunnel's port
    assert loopback.refusal("/ws", "[::1]:8000", "http://[::1]:8000", None, None) == ""
    assert "not a loopback name" in loopback.refusal("/", "evil.example:8000", None, None, None)
    assert "another origin" in loopback.refusal(
        "/ws", "localhost:8000", "http://evil.example", None, None
    )
    proxied = Access(public_host="rnntui.example.org")
    assert proxied.refusal("/", "rnntui.example.org", None, None, None) == ""

    tokened = Access(token="s3cret-token", cookie="c")
    assert tokened.refusal("/", "gpubox:8000", None, None, None) == "no token"
    assert tokened.refusal("/", "gpubox:8000", None, "s3cret-tokeX", None) == "wrong token"
    assert tokened.refusal("/", "gpubox:8000", None, "s3cret-token", None) == ""
    assert tokened.refusal("/static/js/textual.js", "gpubox:8000", None, None, "s3cret-token") == ""
    assert tokened.sets_cookie("s3cret-token") and not tokened.sets_cookie("wrong")
    assert check_token("short") and check_token("has space 123") and not check_token("a" * 8)


def test_banner_gives_the_url_and_the_ssh_line_for_a_laptop():
    lines = banner(Listening("127.0.0.1", 8000, True, "127.0.0.1"), "", None)
    assert lines[0] == "rnntui serve: http://127.0.0.1:8000/"
    assert "ssh -N -L 8000:127.0.0.1:8000 " in lines[2] and "http://localhost:8000/" in lines[2]
    tunnelled = banner(Listening("127.0.0.1", 8000, True, "127.0.0.1"), "", "http://localhost:9000")
    assert "ssh -N -L 9000:127.0.0.1:8000 " in tunnelled[2]
    assert "http://localhost:9000/" in tunnelled[2]
    anywhere = banner(Listening("gpubox", 8000, False, "127.0.0.1"), "tok-123456", None)
    assert anywhere[0] == "rnntui serve: http://gpubox:8000/?token=tok-123456"
    assert "http://localhost:8000/?token=tok-123456" in anywhere[2]


def test_bad_host_or_a_port_in_use_is_one_line_and_exit_2():
    result = run_cli("serve", "--host", "no-such-host.invalid")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--host no-such-host.invalid" in result.stderr
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and f"--port {port}: already in use" in result.stderr


def test_public_url_fixes_the_page_addresses(tmp_path):
    served = Served(tmp_path, "--public-url", "https://rnntui.example.org/boxes/7/")
    try:
        status, page, _ = get(f"http://127.0.0.1:{served.port}/")
        assert status == 200
        assert 'data-session-websocket-url="wss://rnntui.example.org/boxes/7/ws"' in page
        assert 'href="https://rnntui.example.org/boxes/7/static/css/xterm.css"' in page
        assert "googleapis" not in page and "/boxes/7/static/fonts/RobotoMono" in page  # offline
        assert served.banner.startswith("rnntui serve: https://rnntui.example.org/boxes/7/ ")
        # On loopback, a Host that is neither a loopback name nor the public URL's is refused.
        assert get(f"http://127.0.0.1:{served.port}/", Host="rebound.example")[0] == 403
    finally:
        served.close()


async def _open_tab(port: int) -> tuple[object, object]:
    """A websocket tab, once the app's first screen bytes have arrived."""
    client = aiohttp.ClientSession()
    websocket = await client.ws_connect(f"http://127.0.0.1:{port}/ws?width=100&height=30")
    while (await websocket.receive(timeout=60)).type != aiohttp.WSMsgType.BINARY:
        pass
    return client, websocket


def test_a_killed_server_takes_its_apps_along(tmp_path):
    """kill -9 of the server: no stopping, no message; the apps end by the parent-death signal
    (stock textual-serve left them running for good)."""
    served = Served(tmp_path, "--runs-dir", str(tmp_path / "runs"), "--max-tabs", "2")
    try:

        async def scenario() -> list[int]:
            tabs = [await _open_tab(served.port) for _ in range(2)]
            apps = served.apps()
            assert len(apps) == 2
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:  # --max-tabs 2
                await _open_tab(served.port)
            assert refused.value.status == 503
            served.stop(signal.SIGKILL)
            for client, _ in tabs:
                await client.close()
            return apps

        apps = asyncio.run(scenario())
        started = time.monotonic()
        wait_until(lambda: not any(alive(pid) for pid in apps), 10, "the apps to end")
        assert time.monotonic() - started < 10
    finally:
        served.close()


def test_an_app_whose_server_input_closes_exits(tmp_path):
    """The other lifeline: the app's stdin (from the server) at end of file ends the app."""
    environment = {
        **os.environ,
        "TEXTUAL_DRIVER": "rnntui.serve.driver:ServedDriver",
        "RNNTUI_SERVE_PARENT": str(os.getpid()),
    }
    app = subprocess.Popen(
        [sys.executable, "-m", "rnntui", "--detach-runs", "--runs-dir", str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=environment,
    )
    try:
        assert app.stdout.readline() == b"__GANGLION__\n"  # the driver's hello to a server
        threading.Thread(target=app.stdout.read, daemon=True).start()  # drain the screen
        app.stdin.close()
        # 130: the app's own SIGTERM handling; 0: the driver's, when it came before the app's.
        # (The app may still be starting: on a loaded 2-core box that alone took 13-18 s.)
        assert app.wait(60) in (0, 130)
    finally:
        if app.poll() is None:
            app.kill()


# --- a real browser -----------------------------------------------------------------------------

# Keeps the page's xterm.js Terminal (made as `this.terminal = new Terminal(...)`) on window.
KEEP_TERMINAL = """
Object.defineProperty(Object.prototype, 'terminal', {
  configurable: true,
  set(value) {
    Object.defineProperty(this, 'terminal', {value, writable: true, configurable: true});
    if (value && value.buffer && value.write) { window.rnntuiTerminal = value; }
  },
});
"""
READ_SCREEN = """
const terminal = window.rnntuiTerminal;
if (!terminal) { return null; }
const rows = [];
for (let y = 0; y < terminal.rows; y++) {
  const line = terminal.buffer.active.getLine(y);
  rows.push(line ? line.translateToString(true) : '');
}
return rows.join('\\n');
"""


class Browser:
    """Headless Chromium through chromedriver, one tab at a time."""

    def __init__(self, profile: Path) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--window-size=1400,900", f"--user-data-dir={profile}",
        ):  # fmt: skip
            options.add_argument(flag)
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))

    def open(self, url: str, new_tab: bool = False) -> None:
        if new_tab:
            self.driver.switch_to.new_window("tab")
        self.driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": KEEP_TERMINAL}
        )
        self.driver.get(url)

    def screen(self) -> str:
        return self.driver.execute_script(READ_SCREEN) or ""

    def wait_for(self, condition: Callable[[str], bool], timeout: float, what: str) -> str:
        return wait_until(
            lambda: (screen := self.screen()) and condition(screen) and screen,
            timeout,
            what,
            lambda: f"the page shows:\n{self.screen() or self.driver.page_source[:2000]}",
        )

    def press(self, *keys: str) -> None:
        from selenium.webdriver.common.by import By

        box = self.driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")
        for key in keys:
            box.send_keys(key)
            time.sleep(0.15)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.driver.save_screenshot(str(path))
        return path

    def close(self) -> None:
        self.driver.quit()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    pytest.importorskip("selenium", reason="pip install 'rnntui[test]'")
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs chromium and chromedriver (apt-get install chromium chromium-driver)")
    chromium = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield chromium
    chromium.close()


def step_of(screen: str) -> int:
    """The step count in the status bar (the line with the state's ●), -1 when none shows."""
    status = next((line for line in screen.splitlines() if line.startswith(" ● ")), "")
    match = STEP.search(status)
    return int(match.group(1).replace(",", "")) if match else -1


@pytest.mark.slow
def test_browser_trains_and_the_run_outlives_its_tab(tmp_path, browser, record_property):
    runs = tmp_path / "runs"
    relay = None
    served = Served(tmp_path, "--runs-dir", str(runs), *LONG_RUN)
    try:
        # Through a tunnel whose local port is not the server's, as a laptop reaches it.
        relay = Forwarder(served.port)
        local = f"http://localhost:{relay.port}/"
        opened = time.monotonic()
        browser.open(local)
        browser.wait_for(lambda s: "Settings" in s and "Loss" in s, 60, "the app's panes")
        first_frame = time.monotonic() - opened
        record_property("first_frame_s", round(first_frame, 2))
        print(f"first frame in the browser after {first_frame:.2f} s")
        (tab_app,) = served.apps()

        browser.press("s")  # (the trainer loads TensorFlow on its own: no need to wait for idle)
        screen = browser.wait_for(lambda s: "● training" in s and step_of(s) > 0, 120, "training")
        seen = step_of(screen)
        screen = browser.wait_for(
            lambda s: step_of(s) > seen and "run 1: raw_rnn" in s, 30, "the steps and the curve"
        )
        shot = browser.screenshot("serve-training.png")
        record_property("screenshot", str(shot))
        print(f"screenshot: {shot}")
        name, trainer = live_run(runs)

        # Close the tab (a blank one keeps the browser open): its app ends, the run goes on.
        first_tab = browser.driver.current_window_handle
        browser.driver.switch_to.new_window("tab")
        blank = browser.driver.current_window_handle
        browser.driver.switch_to.window(first_tab)
        browser.driver.close()
        browser.driver.switch_to.window(blank)
        wait_until(lambda: not alive(tab_app), 15, "the closed tab's app to end", served.log)
        assert live_run(runs) == (name, trainer) and alive(trainer)
        left_at = step_of(screen)

        # A new tab offers the live run; enter follows it, and its steps go on from there.
        browser.open(local)
        browser.wait_for(lambda s: name in s and "Follow a run" in s, 60, "the live runs")
        browser.press("\ue007")  # Enter
        browser.wait_for(
            lambda s: f"run 1: {name}" in s and "● training" in s and step_of(s) > left_at,
            60,
            "the attached run's steps",
        )

        # Stopping the server ends every app at once; the run still trains.
        apps = served.apps()
        assert served.stop(signal.SIGTERM) < 10
        assert not any(alive(pid) for pid in apps)
        assert alive(trainer) and live_run(runs) == (name, trainer)
        assert "tab 1 closed" in served.log() and "tab 2 closed" in served.log()
    finally:
        if relay is not None:
            relay.close()
        served.close()
        stop_runs(runs)


@pytest.mark.slow
def test_browser_needs_the_token_off_loopback(tmp_path, browser):
    served = Served(tmp_path, "--host", "0.0.0.0", "--runs-dir", str(tmp_path / "runs"))
    try:
        token = re.search(r"\?token=(\S+)", served.banner).group(1)
        base = f"http://127.0.0.1:{served.port}"
        upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}  # fmt: skip
        assert get(f"{base}/")[0] == 403
        assert get(f"{base}/static/js/textual.js")[0] == 403
        assert get(f"{base}/ws", **upgrade)[0] == 403
        assert get(f"{base}/?token=not-{token}")[0] == 403
        status, page, headers = get(f"{base}/?token={token}")
        assert status == 200 and f"ws://127.0.0.1:{served.port}/ws" in page
        cookie = headers["Set-Cookie"].split(";")[0]
        assert get(f"{base}/static/js/textual.js", Cookie=cookie)[0] == 200
        assert "refused GET / from 127.0.0.1: no token" in served.log()
        assert "refused GET /ws from 127.0.0.1: no token" in served.log()
        assert "wrong token" in served.log()

        browser.open(f"{base}/")
        assert "403" in browser.driver.find_element("tag name", "body").text
        browser.open(f"{base}/?token={token}")  # then the cookie carries it to the websocket
        browser.wait_for(lambda s: "Settings" in s and "Loss" in s, 60, "the app's panes")
    finally:
        served.close()
