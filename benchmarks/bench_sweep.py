"""Sweep throughput: six `echo-raw-5` runs with one worker, then with two, and the ratio.

Each sweep is the real command (`python -m rnntui sweep echo-raw-5 --seeds 6 --workers N --json`)
in a fresh process with a fresh sweep folder, so every measurement pays the workers' start-up
(spawning them and importing TensorFlow, once per worker) as a user would. Printed per worker
count (medians over --repeat):

  wall s     the whole command, start to exit
  sweep s    the pool's part: from starting the workers to the last run's end (`wall_s` of the JSON)
  start s    of which the workers' start-up: until the first run began (importing TensorFlow)
  runs s     the rest: from the first run's start to the last run's end
  work s     the runs' own training time, summed over the six runs (their summaries' wall_s)
  busy       work s / runs s: how many runs trained at once, on average
  others     CPU cores other processes used meanwhile (a busy box spoils figures; rerun then)

On a shared box a measurement taken while other processes used more than --max-others cores
is thrown away and taken again once the box is quiet.

    python -m benchmarks.bench_sweep [--repeat 3] [--runs 6] [--max-others 0.3] [--set K=V ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._measure import busy_seconds, machine, median, run_child


def wait_until_quiet(max_cores: float, timeout: float = 600) -> None:
    """Until the whole box used less than `max_cores` over two seconds (or `timeout` passed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = busy_seconds()
        time.sleep(2)
        if (busy_seconds() - before) / 2 < max_cores:
            return


def quiet_sweep(workers: int, runs: int, overrides: list[str], max_others: float) -> dict:
    for _ in range(20):
        wait_until_quiet(max_others)
        result = sweep_once(workers, runs, overrides)
        if result["others"] <= max_others:
            return result
        print(f"  (thrown away: others used {result['others']:.2f} cores)", flush=True)
    raise SystemExit("the box never stayed quiet; rerun later or raise --max-others")


def sweep_once(workers: int, runs: int, overrides: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        sets = [arg for text in overrides for arg in ("--set", text)]
        child = run_child(
            [sys.executable, "-m", "rnntui", "sweep", "echo-raw-5", *sets, "--seeds", str(runs),
             "--workers", str(workers), "--runs-dir", tmp, "--json"]
        )  # fmt: skip
        if child.returncode != 0:
            raise SystemExit(f"sweep failed ({child.returncode}): {child.stderr[-2000:]}")
        table = child.last_json()
        status = json.loads((Path(table["folder"]) / "status.json").read_text())
        first = min(run["started_s"] for run in status["runs"].values())
        last = max(run["ended_s"] for run in status["runs"].values())
        work = 0.0
        for summary in Path(table["folder"]).glob("runs/*/summary.json"):
            work += json.loads(summary.read_text())["wall_s"]
        (row,) = table["rows"]
        return {
            "wall_s": child.wall_s,
            "sweep_s": table["wall_s"],
            "start_s": first,
            "runs_s": last - first,
            "work_s": work,
            "others": child.others_cores,
            "mean": row["mean"],
            "seeds": row["seeds"],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--max-others", type=float, default=0.3)
    args = parser.parse_args()
    print(machine())
    config = "echo-raw-5" + "".join(f" --set {text}" for text in args.overrides)
    print(f"{args.runs} runs of {config}, medians of {args.repeat}\n")
    results: dict[int, list[dict]] = {1: [], 2: []}
    for _ in range(args.repeat):  # interleaved, so a burst of load hits both alike
        for workers in (1, 2):
            results[workers].append(
                quiet_sweep(workers, args.runs, args.overrides, args.max_others)
            )
    print(
        f"{'workers':>7} {'wall s':>7} {'sweep s':>8} {'start s':>8} {'runs s':>7} {'work s':>7} "
        f"{'busy':>5} {'others':>6}"
    )
    medians = {}
    for workers, rows in results.items():
        m = {key: median([row[key] for row in rows]) for key in rows[0]}
        medians[workers] = m
        assert all(row["seeds"] == args.runs for row in rows)
        print(
            f"{workers:>7} {m['wall_s']:>7.2f} {m['sweep_s']:>8.2f} {m['start_s']:>8.2f} "
            f"{m['runs_s']:>7.2f} {m['work_s']:>7.2f} {m['work_s'] / m['runs_s']:>5.2f} "
            f"{m['others']:>6.2f}"
        )
    same = "identical" if medians[1]["mean"] == medians[2]["mean"] else "DIFFERENT"
    print(f"\nmean final loss {medians[2]['mean']:.4f} with either ({same})")
    print(
        f"speed-up with 2 workers: {medians[1]['wall_s'] / medians[2]['wall_s']:.2f}x "
        f"end to end, {medians[1]['runs_s'] / medians[2]['runs_s']:.2f}x once the workers run"
    )


if __name__ == "__main__":
    main()
