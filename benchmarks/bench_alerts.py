"""What alerts cost a run: count-lstm trained headless with no alerts, with alerts to a local
server that answers at once, and to one that never answers (alerts.patience = 1, so plateau
alerts are sent all through training). Prints each contender's steps/s (training only) and the
process's wall time (with TensorFlow's import and the exit's wait for alerts in flight), the
medians of interleaved repeats, and the crash watcher's start time and memory.

    python -m benchmarks.bench_alerts [--repeat 3] [--epochs 600]
"""

from __future__ import annotations

import argparse
import http.server
import statistics
import subprocess
import sys
import threading
import time

from benchmarks._measure import run_child


def serve(hang: threading.Event | None) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if hang is not None:
                hang.wait(600)
            try:
                self.send_response(200)
                self.end_headers()
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def watcher_cost() -> tuple[float, float]:
    """(seconds to start, peak RSS in MB) of `python -m rnntui.engine.alert_watch`."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "rnntui.engine.alert_watch"], stdin=subprocess.PIPE
    )
    child.stdin.write(b'{"setup": {}}\n')
    child.stdin.close()
    _, status, usage = __import__("os").wait4(child.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=600)
    args = parser.parse_args()
    hang = threading.Event()
    quick, hanging = serve(None), serve(hang)
    contenders = {
        "no alerts": [],
        "answering server": ["--notify", f"http://127.0.0.1:{quick.server_port}/t"],
        "hanging server": ["--notify", f"http://127.0.0.1:{hanging.server_port}/t"],
    }
    base = [sys.executable, "-m", "rnntui", "train", "count-lstm", "--json",
            "--epochs", str(args.epochs), "--set", "alerts.patience=1"]  # fmt: skip
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    for _ in range(args.repeat):
        for name, extra in contenders.items():
            child = run_child([*base, *extra])
            summary = child.last_json()
            results[name].append((summary["steps_per_s"], child.wall_s))
    hang.set()
    print(f"count-lstm, {args.epochs} epochs, alerts.patience=1, median of {args.repeat}:")
    for name, rows in results.items():
        rate = statistics.median(r for r, _ in rows)
        wall = statistics.median(w for _, w in rows)
        print(f"  {name:<17} {rate:8.0f} steps/s   process wall {wall:5.2f} s")
    start, rss = watcher_cost()
    print(f"crash watcher: starts and exits in {start * 1000:.0f} ms, peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
