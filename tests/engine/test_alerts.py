"""Alerts: a run tells an HTTP server (a real one, on 127.0.0.1, started here) that it finished,
stopped, hit a NaN, crashed or stopped improving; a hanging or refusing server costs the run
nothing; `rnntui runs` shows the last alert."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rnntui.config import Config, apply_overrides, load_preset
from rnntui.engine.events import Alerted, Failed, Finished, Progress
from rnntui.engine.notify import Alert, deliver, url_problem
from rnntui.engine.trainer import Trainer
from rnntui.runs.alerts import read_alerts
from rnntui.runs.folder import RunFolder
from rnntui.util.extras import missing_extra
from tests.helpers import run_cli


class AlertServer:
    """Records every POST (path, headers, body); with `hang`, answers none until `release`."""

    def __init__(self, hang: bool = False) -> None:
        self.posts: list[tuple[str, dict[str, str], str]] = []
        self.release = threading.Event()
        if not hang:
            self.release.set()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.posts.append((self.path, dict(self.headers), body.decode("utf-8")))
                server.release.wait(60)
                try:
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/rnntui-topic"

    def titles(self) -> list[str]:
        return [headers["Title"] for _, headers, _ in self.posts]

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.posts) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.posts) >= count, self.titles()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    server = AlertServer()
    yield server
    server.close()


def refused_url() -> str:
    """A local port nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/topic"


def tiny_echo(*overrides: str) -> Config:
    return apply_overrides(
        Config(),
        [
            "task.size=20000",
            "train.batch_size=20",
            "train.num_steps=5",
            "train.chunk=16",
            *overrides,
        ],
    )


def flat_count(*overrides: str) -> Config:
    """Count with a learning rate too small to move the loss: a plateau from the first epochs."""
    return apply_overrides(
        load_preset("count-lstm"),
        ["train.epochs=8", "train.learning_rate=1e-6", "alerts.patience=3", *overrides],
    )


def train_in(tmp_path: Path, config: Config, on_event=None) -> tuple[Trainer, list, RunFolder]:
    events: list = []
    run = RunFolder.create(config, tmp_path / "runs")

    def record(event):
        events.append(event)
        if on_event is not None:
            on_event(trainer, event)

    trainer = Trainer(config, record, run=run)
    trainer.run()
    return trainer, events, run


def wait_delivered(run: RunFolder, count: int, timeout: float = 30.0) -> list[dict]:
    """The run's alerts once `count` have a delivery outcome (the watcher may still be at it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alerts = read_alerts(run.path)
        if len([a for a in alerts if "ok" in a]) >= count:
            return alerts
        time.sleep(0.1)
    raise AssertionError(f"not delivered: {read_alerts(run.path)}")


# --- one of each event ------------------------------------------------------------------------


def test_a_finished_run_alerts_from_the_cli_and_runs_shows_it(server, tmp_path):
    runs = tmp_path / "runs"
    result = run_cli(
        "train", "echo-raw-5", "--set", "task.size=20000", "--set", "train.batch_size=20",
        "--notify", server.url, "--runs-dir", str(runs),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    server.wait_for(1)
    path, headers, body = server.posts[0]
    (run,) = [p.name for p in runs.iterdir()]
    assert path == "/rnntui-topic"
    assert headers["Title"] == f"rnntui: {run} finished"
    assert headers["Priority"] == "3" and headers["Tags"] == "white_check_mark"
    assert f"{run} (echo-raw-5) on {socket.gethostname()} finished: 200 steps" in body
    assert "loss 0." in body
    assert f"rnntui train --resume {run} --runs-dir {runs} --epochs 2" in body
    listing = run_cli("runs", "--runs-dir", str(runs))
    assert "⚑ finished at step 200, just now: sent" in listing.stdout


def test_a_nan_alerts_with_the_step_and_how_to_resume(server, tmp_path):
    def poison(trainer, event):
        if isinstance(event, Progress) and event.step < 40:
            weights = trainer.compiled.variables[0]
            weights.assign(weights * float("nan"))

    trainer, events, run = train_in(
        tmp_path, tiny_echo("train.chunk=8", f"alerts.url={server.url}"), poison
    )
    server.wait_for(1)
    _, headers, body = server.posts[0]
    assert headers["Title"] == f"rnntui: {run.name} loss became NaN"
    assert headers["Priority"] == "4" and headers["Tags"] == "warning"
    assert "stopped at step 8: FloatingPointError: loss became nan at step 9" in body
    assert "Last finite loss 0." in body
    assert f"rnntui train --resume {run.name}" in body and "train.learning_rate" in body
    assert isinstance(events[-1], Failed)  # the last event: the app hears the NaN there
    assert not [e for e in events if isinstance(e, Alerted)]
    (alert,) = wait_delivered(run, 1)
    assert alert["kind"] == "nan" and alert["step"] == 8 and alert["ok"] is True


def test_a_plateau_alerts_once_and_training_goes_on(server, tmp_path, isolated_user_dirs):
    """The URL comes from the user's config file here; the run keeps training after it."""
    user_config = isolated_user_dirs / "config" / "rnntui" / "config.toml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text(f'[alerts]\nurl = "{server.url}"\n')
    trainer, events, run = train_in(tmp_path, flat_count())
    assert isinstance(events[-1], Finished) and not events[-1].stopped
    assert [e.kind for e in events if isinstance(e, Alerted)] == ["plateau"]
    server.wait_for(2)
    _, headers, body = server.posts[0]
    assert headers["Title"] == f"rnntui: {run.name} stopped improving"
    assert "has gone 3 evaluations without a better tail_loss: best " in body
    assert "at step 5, now" in body  # the first epoch (5 steps) was the best
    assert f"Watch it: rnntui --attach {run.name} --runs-dir {run.path.parent}" in body
    assert f"kill {os.getpid()}" in body
    assert [a["kind"] for a in wait_delivered(run, 2)] == ["plateau", "finished"]


def test_a_stopped_run_alerts_at_low_priority(server, tmp_path):
    def stop_soon(trainer, event):
        if isinstance(event, Progress) and event.step >= 16:
            trainer.stop()

    trainer, events, run = train_in(tmp_path, tiny_echo(f"alerts.url={server.url}"), stop_soon)
    server.wait_for(1)
    _, headers, body = server.posts[0]
    assert headers["Priority"] == "2" and headers["Title"].endswith(" stopped")
    assert "was stopped at step 16 (epoch 0 of 1) with a checkpoint" in body
    assert f"Continue: rnntui train --resume {run.name}" in body


def test_a_trainer_killed_hard_is_reported_by_its_watcher(server, tmp_path):
    """SIGKILL leaves the trainer no word to say: the watcher it started says it."""
    runs = tmp_path / "runs"
    result = run_cli(
        "train", "echo-raw-5", "--epochs", "1000", "--set", "alerts.patience=0",
        "--notify", server.url, "--runs-dir", str(runs), "--detach",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (run_path,) = runs.iterdir()
    run = RunFolder(run_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        metrics = run.path / "metrics" / "loss-000000.f32"
        if metrics.exists() and metrics.stat().st_size and run.live_owner():
            break
        time.sleep(0.2)
    time.sleep(2.5)  # the watcher hears the step every 2 s
    pid = run.live_owner()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    server.wait_for(1, timeout=30)
    _, headers, body = server.posts[0]
    assert headers["Title"] == f"rnntui: {run.name} crashed"
    assert headers["Priority"] == "5"
    assert f"the trainer (pid {pid}) died at about step " in body
    assert "died at about step 0 " not in body and "last loss 0." in body
    assert f"rnntui train --resume {run.name}" in body
    (alert,) = wait_delivered(run, 1)
    assert alert["kind"] == "crashed" and alert["ok"] is True
    listing = run_cli("runs", "--runs-dir", str(runs))
    assert "⚑ crashed at step" in listing.stdout and ": sent" in listing.stdout


# --- servers that hang or refuse ----------------------------------------------------------------


def test_a_hanging_server_never_holds_up_training(tmp_path):
    """The plateau alert hangs mid-run and the finish alert at the end: the trainer finishes
    (no later than its exit wait) while the server still hangs; the watcher delivers the finish
    alert once the server answers."""
    from rnntui.engine.alerts import EXIT_WAIT_S

    server = AlertServer(hang=True)
    try:
        started = time.perf_counter()
        trainer, events, run = train_in(tmp_path, flat_count(f"alerts.url={server.url}"))
        elapsed = time.perf_counter() - started
        finished = next(e for e in events if isinstance(e, Finished))
        assert not server.release.is_set()  # still hanging
        assert server.titles()[0].endswith("stopped improving")  # sent mid-run, never answered
        # training took its own time; the exit waited at most EXIT_WAIT_S for the finish alert
        assert elapsed < finished.summary["wall_s"] + EXIT_WAIT_S + 8
        assert "finished" not in [a["kind"] for a in read_alerts(run.path) if "ok" in a]
        server.release.set()  # the server answers: the watcher finishes what was handed to it
        alerts = wait_delivered(run, 2, timeout=40)
        assert {a["kind"]: a["ok"] for a in alerts} == {"plateau": True, "finished": True}
    finally:
        server.close()


def test_a_refusing_server_is_logged_and_shown_once(tmp_path):
    url = refused_url()
    trainer, events, run = train_in(tmp_path, flat_count(f"alerts.url={url}"))
    assert "failed" not in trainer.summary and trainer.summary["epochs"] == 8
    notices = [e for e in events if isinstance(e, Alerted) and e.kind == "undelivered"]
    assert len(notices) == 1
    assert notices[0].message.startswith("alert 'plateau' not sent to http://127.0.0.1:")
    assert "connection refused (after 3 tries)" in notices[0].message
    assert "/topic" not in notices[0].message  # a topic is as good as a password
    alerts = wait_delivered(run, 2)
    assert [(a["kind"], a["ok"]) for a in alerts] == [("plateau", False), ("finished", False)]
    log = (run.path / "train.log").read_text()
    assert log.count("not sent to http://127.0.0.1:") == 2


def test_the_cli_shows_a_failed_delivery_once_and_succeeds(tmp_path):
    result = run_cli(
        "train", "echo-raw-5", "--set", "task.size=20000", "--set", "train.batch_size=20",
        "--notify", refused_url(), "--runs-dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0
    lines = [line for line in result.stderr.splitlines() if "not sent" in line]
    assert len(lines) == 1
    assert "alert 'finished' not sent to http://127.0.0.1:" in lines[0]
    assert "train.log" in lines[0]


# --- URLs ---------------------------------------------------------------------------------------


def test_bad_alert_urls_are_one_line_before_anything_starts(tmp_path, isolated_user_dirs):
    result = run_cli("train", "echo-raw-5", "--notify", "not a url", "--check")
    assert result.returncode == 2
    assert result.stderr.startswith("rnntui: --notify: 'not a url' is not a URL; use an ntfy")
    result = run_cli("train", "echo-raw-5", "--notify", "nosuchservice://x/y", "--check")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    if missing_extra("apprise"):
        assert "needs the apprise package: pip install 'rnntui[apprise]'" in result.stderr
    else:
        assert "apprise does not know the URL nosuchservice://x..." in result.stderr
    user_config = isolated_user_dirs / "config" / "rnntui" / "config.toml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text('[alerts]\nurl = "https://ntfy.sh/x"\nbell = true\n')
    result = run_cli("train", "echo-raw-5", "--check")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f'rnntui: {user_config}: bell: unknown key; this file holds [alerts] url = "..."'
    )


@pytest.mark.skipif(bool(missing_extra("apprise")), reason="the apprise extra is not installed")
def test_an_apprise_url_reaches_its_service(server):
    """apprise's own json:// service, pointed at the local server."""
    port = server.httpd.server_port
    alert = Alert("finished", "run-1", "rnntui: run-1 finished", "done at step 5", step=5)
    assert url_problem(f"json://127.0.0.1:{port}/hook") == ""
    assert deliver(f"json://127.0.0.1:{port}/hook", alert) == "sent by apprise"
    path, _, body = server.posts[0]
    data = json.loads(body)
    assert path == "/hook" and data["title"] == "rnntui: run-1 finished"
    assert data["message"] == "done at step 5"


def test_non_ascii_titles_travel_as_rfc2047(server):
    alert = Alert("finished", "läuft", "rnntui: läuft finished", "ünïcode body")
    assert deliver(server.url, alert) == "HTTP 200"
    _, headers, body = server.posts[0]
    assert headers["Title"].startswith("=?UTF-8?B?") and body == "ünïcode body"


def test_a_sweep_alerts_for_each_run(server, tmp_path):
    result = run_cli(
        "sweep", "echo-raw-5", "--set", "task.size=20000", "--set", "train.batch_size=20",
        "--seeds", "2", "--workers", "1", "--notify", server.url, "--runs-dir", str(tmp_path),
        "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    server.wait_for(2)
    assert sorted(t.rsplit(" ", 1)[1] for t in server.titles()) == ["finished", "finished"]
    assert all("seed" in t for t in server.titles())


def test_the_watcher_starts_light():
    """The watcher imports no NumPy or TensorFlow: it waits for pennies."""
    code = (
        "import sys, rnntui.engine.alert_watch as w; "
        "print(sorted(m for m in ('numpy', 'tensorflow', 'textual') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


async def wait_for(pilot, condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


def test_the_app_sends_its_runs_alerts_to_notify(server, tmp_path):
    """`rnntui --notify URL`: a run started in the app (its own trainer process) alerts there."""
    import asyncio

    from rnntui.tui.app import RnnTuiApp

    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: app.state == "finished", 120, "the finish")

    app = RnnTuiApp(
        tiny_echo("alerts.patience=0", "train.chunk=20"),
        preset_name="echo-raw-5",
        runs_dir=tmp_path,
        notify=server.url,
    )
    asyncio.run(main())
    server.wait_for(1)
    (run_path,) = tmp_path.iterdir()
    assert server.titles() == [f"rnntui: {run_path.name} finished"]
    assert "(echo-raw-5)" in server.posts[0][2]
