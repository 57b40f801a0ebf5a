"""Runs of hours and days (issue 28): the metrics store against the old metrics.jsonl.

For each size (steps) a synthetic run is written with the store's own writer (MetricsWriter, a
chunk per second of a 4,000 steps/s run, so it makes the marks a live run makes, plus a knob
change every million steps and an evaluation every 100,000), and then each of these is measured
in a fresh process (its peak RSS, VmHWM; "base" is the same process after its imports, before
it opened anything, so the difference is what reading the run cost; ru_maxrss would not do: Linux
carries the parent's over exec):

- disk: bytes of the store (of metrics.jsonl for the old format)
- open: what loading a run into the app's chart does first: open, the bins of a 160-column chart
  (300 points, as LossChart draws), the exact latest 600 steps and the knob changes; then the
  1,000-point comparison curve `l` keeps (the past-run loader)
- attach: a follower to its first progress: where the run stands (a stat), then the first read
  of the latest steps (at most FOLLOW_CHUNK, from FOLLOW_HISTORY back)
- csv: every stored point written as CSV (streaming)

The old format is measured the way today's code reads it (read_metrics, smooth, comparison_curve;
the follower's whole-file parse; the chart's CSV of the live run per step and its smoothed line),
up to --legacy-max steps (its readers need gigabytes beyond 10^6-10^7). "convert" is the one-time
conversion of such a file into a store (the first open after an upgrade).

    python -m benchmarks.bench_long_runs [--sizes 1e4,1e5,1e6,1e7,1e8] [--legacy-max 1e6]
    python -m benchmarks.bench_long_runs --study [RUN_FOLDER]

`--study` prints the figures the store's shape was chosen by: bytes per step of each way to keep
the losses (of RUN_FOLDER's real losses, else synthetic ones), what a day at 4,000 steps/s comes
to with blocks of each size, and what logging a step costs the trainer (today's JSON line against
the store's append, at two chunk sizes) and what a flush (with its fsyncs) costs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._measure import machine, run_child

STEPS_PER_S = 4000


def synthetic(first: int, count: int) -> np.ndarray:
    """A loss curve: a decay with per-step noise (deterministic, float32)."""
    s = np.arange(first + 1, first + count + 1, dtype=np.float64)
    noise = (s * 2654435761 % 10007) / 10007.0
    return (0.3 + 2.0 / np.sqrt(1.0 + s / 5e4) + 0.2 * noise).astype(np.float32)


def write_store(run: Path, steps: int) -> float:
    from rnntui.runs.store.format import STORE_DIR
    from rnntui.runs.store.writer import MetricsWriter

    started = time.perf_counter()
    writer = MetricsWriter(run / STORE_DIR, flush_interval=float("inf"))
    for first in range(0, steps, STEPS_PER_S):
        count = min(STEPS_PER_S, steps - first)
        writer.append_steps(first, synthetic(first, count), first // 100_000, first / STEPS_PER_S)
        if (first + count) % 100_000 < STEPS_PER_S:
            step = first + count
            writer.append_epoch(step, step // 100_000, {"tail_loss": 0.5, "test_error_pct": 1.0})
        if (first + count) % 1_000_000 < STEPS_PER_S:
            writer.append_knob(first + count, "learning_rate", 1e-3 / (1 + first // 1_000_000))
        if first % (STEPS_PER_S * 64) == 0:
            writer.flush(sync=False)
    writer.close()
    return time.perf_counter() - started


def write_legacy(run: Path, steps: int) -> float:
    """metrics.jsonl as RunFolder.append_metrics wrote it (chunks of 100 steps)."""
    started = time.perf_counter()
    run.mkdir(parents=True, exist_ok=True)
    with open(run / "metrics.jsonl", "w") as out:
        for first in range(0, steps, 100_000):
            losses = synthetic(first, min(100_000, steps - first)).tolist()
            lines = []
            for i in range(0, len(losses), 100):
                step0 = first + i
                wall = round(step0 / STEPS_PER_S, 3)
                epoch = step0 // 100_000
                lines.append(
                    "\n".join(
                        f'{{"step": {step0 + j + 1}, "epoch": {epoch}, '
                        f'"loss": {loss!r}, "wall_s": {wall!r}}}'
                        for j, loss in enumerate(losses[i : i + 100])
                    )
                )
            out.write("\n".join(lines) + "\n")
    return time.perf_counter() - started


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --- what each child process measures -------------------------------------------------------------


def child(mode: str, run: Path) -> dict:
    """Runs in a fresh process: imports first (the app has them), then the measured work."""
    from rnntui.runs.curves import COMPARISON_POINTS, comparison_curve, knob_mark, smooth
    from rnntui.runs.files import METRICS_FILE
    from rnntui.runs.metrics import read_metrics
    from rnntui.runs.store.export import write_csv
    from rnntui.runs.store.follow import MetricsFollower
    from rnntui.runs.store.opening import open_metrics, stored_steps
    from rnntui.sessions.followed import FOLLOW_CHUNK, FOLLOW_HISTORY
    from rnntui.tui.curves_csv import curves_to_csv

    out: dict = {"base_mb": peak_rss_mb()}
    t0 = time.perf_counter()
    if mode == "open":
        with open_metrics(run) as reader:
            bins = reader.chart(2 * (160 - 10))
            steps, tail = reader.tail(600)
            knobs = reader.knobs()
            out["open_s"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            curve = reader.chart(COMPARISON_POINTS)
            out["curve_s"] = time.perf_counter() - t1
        out["points"] = [len(bins), len(tail), len(knobs), len(curve)]
    elif mode == "attach":
        steps = stored_steps(run) or 0
        follower = MetricsFollower(run, max(0, steps - FOLLOW_HISTORY))
        update = follower.poll(FOLLOW_CHUNK)
        out["attach_s"] = time.perf_counter() - t0
        out["points"] = [len(update.losses)]
    elif mode == "csv":
        with open_metrics(run) as reader, open(run / "export.csv", "w") as handle:
            out["rows"] = write_csv(reader, handle, "run")
        out["csv_s"] = time.perf_counter() - t0
        out["csv_bytes"] = (run / "export.csv").stat().st_size
        (run / "export.csv").unlink()
    elif mode == "legacy-open":  # tui/past_runs.load_past_run before the store
        rows = read_metrics(run / METRICS_FILE, knobs=True)
        losses = [float(row["loss"]) for row in rows if "knob" not in row]
        marks = [knob_mark(r["step"], r["knob"], r["value"]) for r in rows if "knob" in r]
        curve = comparison_curve("run", smooth(losses), marks)
        out["open_s"] = time.perf_counter() - t0
        out["points"] = [len(curve.steps)]
    elif mode == "legacy-attach":  # FollowedSession._read_new_steps: the whole file, one event
        data = (run / METRICS_FILE).read_bytes()
        rows = [json.loads(line) for line in data.split(b"\n")[:-1]]
        losses = tuple(float(row["loss"]) for row in rows if "loss" in row)
        out["attach_s"] = time.perf_counter() - t0
        out["points"] = [len(losses)]
    elif mode == "legacy-csv":  # the live run per step and its smoothed line (curves_csv)
        losses = [float(row["loss"]) for row in read_metrics(run / METRICS_FILE)]
        steps = tuple(float(s) for s in range(1, len(losses) + 1))
        text = curves_to_csv([("run", steps, losses), ("run (smoothed)", steps, smooth(losses))])
        (run / "export.csv").write_text(text)
        out["csv_s"] = time.perf_counter() - t0
        out["csv_bytes"] = (run / "export.csv").stat().st_size
        (run / "export.csv").unlink()
    elif mode == "convert":
        with open_metrics(run) as reader:
            out["points"] = [reader.steps]
        out["convert_s"] = time.perf_counter() - t0
    return out


def peak_rss_mb() -> float:
    """This process's peak RSS so far (VmHWM: of this program, not of the one before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(mode: str, run: Path) -> dict:
    result = run_child(
        [sys.executable, "-m", "benchmarks.bench_long_runs", "--child", mode, str(run)]
    )
    if result.returncode != 0:
        raise SystemExit(f"{mode} on {run} failed:\n{result.stderr[-3000:]}")
    out = result.last_json()
    out["others_cores"] = result.others_cores
    return out


def extra(result: dict) -> str:
    """The child's peak RSS beyond what it had before reading the run."""
    return f"+{result['peak_mb'] - result['base_mb']:.0f} MB"


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 1e5 else f"{n / 1e3:,.1f} kB"


def study(real: Path | None) -> None:
    import lzma
    import zlib

    from rnntui.runs.store.format import RECORD
    from rnntui.runs.store.opening import open_metrics
    from rnntui.runs.store.writer import MetricsWriter

    if real is not None:
        with open_metrics(real) as reader:
            losses = reader.losses(reader.raw_from, reader.steps)
        source = f"{len(losses):,} real losses of {real.name}"
    else:
        losses = synthetic(0, 1_000_000)
        source = "1,000,000 synthetic losses"
    losses = losses[np.isfinite(losses)].astype(np.float32)
    n = len(losses)
    print(f"\nbytes per step, {source}:")
    lines = legacy_text(losses)
    shuffled = losses.view(np.uint8).reshape(-1, 4).T.tobytes()  # byte planes: exponents apart
    ways = {
        "metrics.jsonl (a JSON line a step)": len(lines),
        "float32 column": losses.nbytes,
        "float16 column (lossy: 3 digits)": losses.astype(np.float16).nbytes,
        "float32, zlib -6": len(zlib.compress(losses.tobytes(), 6)),
        "float32 byte planes, zlib -6": len(zlib.compress(shuffled, 6)),
        "float32 byte planes, lzma": len(lzma.compress(shuffled)),
    }
    for name, size in ways.items():
        print(f"  {name:<38} {size / n:6.2f} B/step  -> a day {size / n * DAY / 1e6:9,.0f} MB")
    print(f"\na day at {STEPS_PER_S:,} steps/s ({DAY:,} steps) as {RECORD.itemsize}-byte blocks")
    print("  (plus the latest 8.4 M steps' own losses, 32-36 MiB, and marks, 2 MB):")
    for block in (64, 256, 512, 1024, 4096):
        size = DAY / block * RECORD.itemsize
        total = size / 1e6 + 37
        print(f"  blocks of {block:>5} steps: {size / 1e6:6.1f} MB; with the rest ~{total:.0f} MB")

    print("\nlogging a step (the trainer's side), per step:")
    for chunk in (20, 1000):
        values = [float(v) for v in losses[:chunk]]
        rounds = max(1, 200_000 // chunk)
        with tempfile.TemporaryDirectory() as tmp:
            with open(Path(tmp) / "m.jsonl", "a") as log:
                started = time.perf_counter()
                for r in range(rounds):
                    log.write(legacy_chunk(r * chunk, 0, values, r / 100))
                json_s = (time.perf_counter() - started) / (rounds * chunk)
            writer = MetricsWriter(Path(tmp) / "metrics", flush_interval=float("inf"))
            started = time.perf_counter()
            for r in range(rounds):
                writer.append_steps(r * chunk, values, 0, r / 100)
            store_s = (time.perf_counter() - started) / (rounds * chunk)
            flushes = []
            for r in range(rounds, rounds + 20):
                writer.append_steps(r * chunk, values, 0, r / 100)
                started = time.perf_counter()
                writer.flush()
                flushes.append(time.perf_counter() - started)
            writer.close()
        print(
            f"  chunks of {chunk:>4}: JSON line {json_s * 1e9:5.0f} ns, "
            f"store {store_s * 1e9:5.0f} ns; a flush with fsync {np.median(flushes) * 1e3:.1f} ms"
        )


DAY = 86_400 * STEPS_PER_S


def legacy_chunk(first: int, epoch: int, losses: list[float], wall_s: float) -> str:
    """What RunFolder.append_metrics wrote for a chunk before the store."""
    wall = round(float(wall_s), 3)
    return (
        "\n".join(
            f'{{"step": {first + i + 1}, "epoch": {int(epoch)}, '
            f'"loss": {float(loss)!r}, "wall_s": {wall!r}}}'
            for i, loss in enumerate(losses)
        )
        + "\n"
    )


def legacy_text(losses: np.ndarray) -> bytes:
    values = losses.tolist()
    parts = [
        legacy_chunk(i, i // 100_000, values[i : i + 100], i / 4000)
        for i in range(0, len(values), 100)
    ]
    return "".join(parts).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e4,1e5,1e6,1e7,1e8")
    parser.add_argument("--legacy-max", type=float, default=1e6)
    parser.add_argument("--dir", default=None, help="where to write the runs (a temporary folder)")
    parser.add_argument("--study", nargs="?", const="", metavar="RUN_FOLDER")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "RUN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.study is not None:
        print(machine())
        print(f"load average before: {os.getloadavg()}")
        study(Path(args.study) if args.study else None)
        return
    if args.child:
        out = child(args.child[0], Path(args.child[1]))
        print(json.dumps({**out, "peak_mb": peak_rss_mb()}))
        return

    sizes = [int(float(s)) for s in args.sizes.split(",")]
    root = Path(args.dir or tempfile.mkdtemp(prefix="rnntui-long-runs-"))
    print(machine())
    print(f"load average before: {os.getloadavg()}")
    day = 86_400 * STEPS_PER_S
    print(f"(a day at {STEPS_PER_S:,} steps/s is {day:,} steps)")
    try:
        for steps in sizes:
            run = root / f"run-{steps}"
            shutil.rmtree(run, ignore_errors=True)
            wrote = write_store(run, steps)
            disk = size_of(run / "metrics")
            opened, attached, exported = measure("open", run), measure("attach", run), None
            exported = measure("csv", run)
            print(
                f"\n{steps:>11,} steps  store {mb(disk):>10} ({disk / steps:.2f} B/step, written "
                f"in {wrote:.1f} s)"
            )
            print(
                f"   open + 160-col chart {opened['open_s'] * 1e3:7.1f} ms, 1000-pt curve "
                f"{opened['curve_s'] * 1e3:6.1f} ms; peak {opened['peak_mb']:.0f} MB "
                f"(+{opened['peak_mb'] - opened['base_mb']:.0f} over {opened['base_mb']:.0f})"
            )
            print(
                f"   attach to first progress {attached['attach_s'] * 1e3:7.1f} ms "
                f"({attached['points'][0]:,} steps), peak "
                f"{extra(attached)}"
            )
            print(
                f"   csv {exported['csv_s']:7.2f} s, {exported['rows']:,} rows, "
                f"{mb(exported['csv_bytes'])}, peak {extra(exported)}"
            )
            if steps <= args.legacy_max:
                old = root / f"legacy-{steps}"
                shutil.rmtree(old, ignore_errors=True)
                made = write_legacy(old, steps)
                disk_old = size_of(old / "metrics.jsonl")
                opened = measure("legacy-open", old)
                attached = measure("legacy-attach", old)
                exported = measure("legacy-csv", old)
                converted = measure("convert", old)
                print(
                    f"   old metrics.jsonl {mb(disk_old):>10} ({disk_old / steps:.1f} B/step, "
                    f"made in {made:.1f} s)"
                )
                print(
                    f"     open (load past run) {opened['open_s']:7.2f} s, peak "
                    f"{extra(opened)}; attach "
                    f"{attached['attach_s']:.2f} s, peak "
                    f"{extra(attached)}; csv "
                    f"{exported['csv_s']:.2f} s, peak {extra(exported)}"
                )
                print(
                    f"     one-time conversion to a store {converted['convert_s']:.2f} s, peak "
                    f"{extra(converted)}"
                )
                shutil.rmtree(old, ignore_errors=True)
            shutil.rmtree(run, ignore_errors=True)
            sys.stdout.flush()
    finally:
        if not args.dir:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
