"""A run's alerts as it sent them: `alerts.jsonl` in its folder, kept apart from the metrics.

One line per alert (`{"alert": n, "kind", "title", "message", "step", "loss", "time", ...}`) and
one per delivery outcome (`{"delivered": n, "ok", "detail", "time"}`): appended, never rewritten,
so the trainer and the crash watcher may both add to it. Plain standard library.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from rnntui.runs.files import LOG_FILE

ALERTS_FILE = "alerts.jsonl"
MAX_ALERTS_BYTES = 1 << 20  # a run sends a handful


def append_alert(run_path: Path, record: dict[str, Any]) -> None:
    """Append one record (best effort: a full disk loses the record, never the run)."""
    line = json.dumps(record, allow_nan=False, default=str) + "\n"
    try:
        fd = os.open(run_path / ALERTS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError:
        return
    try:
        os.write(fd, line.encode("utf-8"))  # one write: lines of two writers never mix
    except OSError:
        pass
    finally:
        os.close(fd)


def log_line(run_path: Path, text: str) -> None:
    """Add a dated line to the run's log (best effort)."""
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    try:
        with open(run_path / LOG_FILE, "a", encoding="utf-8") as log:
            log.write(f"{stamp} rnntui: {text}\n")
    except OSError:
        pass


def read_alerts(run_path: Path) -> list[dict[str, Any]]:
    """Every alert recorded, oldest first, each with its delivery outcome merged in (`ok`,
    `detail`; absent while it is being sent). Torn or foreign lines are skipped."""
    path = run_path / ALERTS_FILE
    try:
        if not os.path.isfile(path) or os.path.getsize(path) > MAX_ALERTS_BYTES:
            return []
        raw = path.read_bytes()
    except OSError:
        return []
    alerts: dict[int, dict[str, Any]] = {}
    for line in raw.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if not isinstance(row, dict):
            continue
        if isinstance(row.get("alert"), int) and isinstance(row.get("kind"), str):
            alerts[row["alert"]] = row
        elif isinstance(row.get("delivered"), int) and row["delivered"] in alerts:
            alerts[row["delivered"]].update(ok=bool(row.get("ok")), detail=str(row.get("detail")))
    return list(alerts.values())


def last_alert(run_path: Path) -> dict[str, Any] | None:
    alerts = read_alerts(run_path)
    return alerts[-1] if alerts else None


def describe_alert(alert: dict[str, Any], now: float | None = None) -> str:
    """`⚑ plateau at step 4,200, 12 min ago: sent` — a listing's few words on an alert."""
    step = alert.get("step")
    at = f" at step {step:,}" if isinstance(step, int) and not isinstance(step, bool) else ""
    when = ""
    stamp = alert.get("time")
    if isinstance(stamp, int | float):
        when = f", {_ago((now or time.time()) - stamp)}"
    if "ok" not in alert:
        outcome = "sending"
    elif alert["ok"]:
        outcome = "sent"
    else:
        outcome = f"not sent ({alert.get('detail', '')})"
    return f"⚑ {alert['kind']}{at}{when}: {outcome}"


def _ago(seconds: float) -> str:
    if seconds < 90:
        return "just now"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"
