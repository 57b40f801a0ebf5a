"""The crash watcher: `python -m rnntui.engine.alert_watch`, started by a run that sends alerts.

Its stdin is a pipe from the trainer (see engine/alerts.py): a `setup` line (the URL, the run,
the trainer's pid, the resume command), `progress` lines (step and loss, every few seconds),
`deliver` lines (alerts the trainer could not finish sending before it exited) and, at a normal
end, `done`. The pipe's end without `done` means the trainer died without a word (SIGKILL, the
OOM killer, a segfault, a second Ctrl+C): the watcher sends the "crashed" alert, with retries,
records it in the run's alerts.jsonl and exits. Standard library only: it starts in ~30 ms and
holds ~10 MB while it waits.

What it cannot see: the machine itself going down (power, kernel panic, a reboot), or a kill of
the watcher too (a cgroup or container stopped whole, `kill -9` of its session).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from rnntui.engine.notify import Alert, deliver_with_retries, where
from rnntui.runs.alerts import append_alert, log_line, read_alerts

BUDGET_S = 60.0  # the longest a watcher goes on sending after its trainer ended


def main() -> None:
    for name in ("SIGINT", "SIGHUP", "SIGPIPE"):  # the trainer's terminal is not ours to obey
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    setup: dict[str, Any] = {}
    progress: dict[str, Any] = {}
    handed: list[tuple[int, dict[str, Any]]] = []
    done = False
    for line in sys.stdin.buffer:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if not isinstance(message, dict):
            continue
        if isinstance(message.get("setup"), dict):
            setup = message["setup"]
        elif isinstance(message.get("progress"), dict):
            progress = message["progress"]
        elif isinstance(message.get("alert"), dict) and isinstance(message.get("deliver"), int):
            handed.append((message["deliver"], message["alert"]))
        elif message.get("done"):
            done = True
    if not setup.get("url") or not setup.get("run_path"):
        return
    run_path = Path(setup["run_path"])
    recorded = read_alerts(run_path)
    number = max((a["alert"] for a in recorded), default=0)
    work = [(n, alert_from(a)) for n, a in handed]
    if not done:
        for lost in (a for a in recorded if "ok" not in a):  # in flight when the trainer died
            detail = "the trainer died while sending it"
            append_alert(run_path, {"delivered": lost["alert"], "ok": False, "detail": detail})
        number += 1
        alert = crash_alert(setup, progress)
        append_alert(run_path, {"alert": number, **alert.to_dict()})
        work.append((number, alert))
    deadline = time.monotonic() + BUDGET_S
    for n, alert in sorted(work, key=lambda item: item[1].kind != "crashed"):  # the crash first
        if time.monotonic() > deadline:
            ok, detail = False, f"given up {BUDGET_S:.0f} s after the run ended"
        else:
            ok, detail = deliver_with_retries(setup["url"], alert)
        append_alert(run_path, {"delivered": n, "ok": ok, "detail": detail, "time": time.time()})
        if not ok:
            log_line(run_path, f"alert '{alert.kind}' not sent to {where(setup['url'])}: {detail}")


def crash_alert(setup: dict[str, Any], progress: dict[str, Any]) -> Alert:
    step = int(progress.get("step") or 0)
    loss = progress.get("loss")
    loss_text = f"last loss {loss:.4f}" if isinstance(loss, int | float) else "no loss yet"
    who = setup.get("who") or f"{setup.get('run')} on {socket.gethostname()}"
    return Alert(
        kind="crashed",
        run=str(setup.get("run")),
        title=f"rnntui: {setup.get('run')} crashed",
        message=(
            f"{who}: the trainer (pid {setup.get('pid')}) died at about step {step:,} without "
            f"a word (killed, out of memory, or a crash in native code); {loss_text}.\n"
            f"Continue from the last checkpoint: {setup.get('resume')}"
        ),
        step=step,
        loss=loss if isinstance(loss, int | float) else None,
        priority=5,
        tags=("rotating_light",),
    )


def alert_from(data: dict[str, Any]) -> Alert:
    fields = {k: v for k, v in data.items() if k in Alert.__dataclass_fields__}
    fields["tags"] = tuple(fields.get("tags") or ())
    return Alert(**fields)


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # noqa: BLE001 - nobody reads our stderr
        print(f"alert watcher: {error}", file=sys.stderr)
    os._exit(0)
