"""Training speed with the probe running beside it, against the same run without it.

The real app (`RnnTuiApp`, Textual's pilot, 160x48) trains a preset twice per round, in fresh
processes: once with the probe pane open (the trainer probes lag effects and gradient reach
between chunks, a few times a second at most, within its 2 % budget) and once without. The speed
is the run's own `steps_per_s` (windows over the whole training wall time, so the probe's
background tracing and every measurement count). The order alternates between rounds, and
`others` says how busy the rest of the machine was: on a shared box, rerun when it is not ~0.
`steps/cpu-s` divides the windows by the CPU time the app and its run's process used while
training (the UI, the chart, the pane, the trainer and the probe included): it is what the
probe costs in work, and other processes move it far less than the wall-clock speed.

    python -m benchmarks.bench_probe [--repeat 3] [--preset echo-raw-5] [--epochs 20]
"""

from __future__ import annotations

import asyncio
import json
import resource
import tempfile
import time
from pathlib import Path

from benchmarks._measure import (
    bench_parser,
    machine,
    median,
    python,
    run_json_child,
    wait_for_tensorflow,
    with_sets,
)
from rnntui.config import apply_overrides, load_preset


async def scenario(config, name: str, runs_dir: Path, probe: bool) -> dict:
    from rnntui.engine.events import ProbeResult
    from rnntui.tui.app import RnnTuiApp

    app = RnnTuiApp(config, preset_name=name, runs_dir=runs_dir)
    app.exit_watchdog = False
    async with app.run_test(size=(160, 48)) as pilot:
        started = time.perf_counter()
        await wait_for_tensorflow(app, pilot)
        if probe:
            await pilot.press("v")
        cpu = _cpu()
        await pilot.press("s")
        session = app.desk.session
        probes: list[ProbeResult] = []
        # the run trains in a child process; its events reach the session on a reader thread
        session.on_event = _tap(session.on_event, probes, ProbeResult)
        while app.state not in ("finished", "failed", "stopped"):
            await pilot.pause(0.05)
            if time.perf_counter() - started > 900:
                raise SystemExit("training did not finish within 900 s")
        deadline = time.perf_counter() + 10
        while not session.done.is_set() and time.perf_counter() < deadline:  # the child reaped
            await pilot.pause(0.05)
        cpu = _cpu() - cpu
        summary = session.run_folder.read_summary()
        shown = app.probe.updates
        await app.action_quit()
    costs = sorted(p.cost_s for p in probes)
    return {
        "state": summary.get("stopped", "?"),
        "steps": summary["steps"],
        "wall_s": summary["wall_s"],
        "steps_per_s": summary["steps_per_s"],
        "steps_per_cpu_s": summary["steps"] / cpu,
        "final_loss": summary["final_loss"],
        "probes": len(probes),
        "probe_ms": 1e3 * costs[len(costs) // 2] if costs else 0.0,
        "probe_total_s": sum(costs),
        "shown": shown,
    }


def _cpu() -> float:
    """CPU seconds of this process (the UI, the chart, the pane) and its reaped children (the
    run's own process once it has ended; the TensorFlow helper lives on until the app quits)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _tap(on_event, into: list, kind: type):
    """The trainer's callback, also keeping the events of `kind` (the trainer thread calls it)."""

    def tapped(event) -> None:
        if isinstance(event, kind):
            into.append(event)
        on_event(event)

    return tapped


def worker(preset: str, epochs: int, overrides: list[str], probe: bool) -> dict:
    config = apply_overrides(load_preset(preset), [f"train.epochs={epochs}", *overrides])
    with tempfile.TemporaryDirectory(prefix="rnntui-bench-") as folder:
        return asyncio.run(scenario(config, preset, Path(folder), probe))


def main() -> None:
    parser = bench_parser(__doc__, repeat=3, repeat_help="rounds of both contenders")
    parser.add_argument("--preset", default="echo-raw-5")
    parser.add_argument("--epochs", type=int, default=20, help="long enough to measure (~6 s)")
    args = parser.parse_args()
    if args.worker:
        result = worker(args.preset, args.epochs, args.overrides, args.worker == "probe")
        print(json.dumps(result))
        return

    runs: dict[str, list[dict]] = {"plain": [], "probe": []}
    for round_ in range(args.repeat):
        order = ("plain", "probe") if round_ % 2 == 0 else ("probe", "plain")
        for kind in order:
            command = [python(), "-m", "benchmarks.bench_probe", "--worker", kind]
            command += ["--preset", args.preset, "--epochs", str(args.epochs)]
            run, child = run_json_child(with_sets(command, args.overrides), "the app run")
            run["others"] = child.others_cores
            runs[kind].append(run)

    print(f"Machine: {machine()}")
    settings = (" " + " ".join(args.overrides)) if args.overrides else ""
    steps = runs["plain"][0]["steps"]
    print(
        f"App at 160x48: preset {args.preset}, {args.epochs} epochs ({steps:,} windows)"
        f"{settings}; {args.repeat} round(s), medians\n"
    )
    print(
        f"  {'probe pane':<11} {'steps/s':>8} {'per run':<26} {'steps/cpu-s':>11} {'probes':>6} "
        f"{'ms each':>8} {'probe s':>8} {'others':>7} {'final loss':>10}"
    )
    speeds, work = {}, {}
    for kind, label in (("plain", "closed"), ("probe", "open")):
        rows = runs[kind]
        speeds[kind] = median([r["steps_per_s"] for r in rows])
        work[kind] = median([r["steps_per_cpu_s"] for r in rows])
        per_run = ", ".join(f"{r['steps_per_s']:,.0f}" for r in rows)
        print(
            f"  {label:<11} {speeds[kind]:>8,.0f} {per_run:<26} {work[kind]:>11,.0f} "
            f"{median([r['probes'] for r in rows]):>6.0f} "
            f"{median([r['probe_ms'] for r in rows]):>8.1f} "
            f"{median([r['probe_total_s'] for r in rows]):>8.2f} "
            f"{median([r['others'] for r in rows]):>7.2f} "
            f"{median([r['final_loss'] for r in rows]):>10.4f}"
        )
    for kind, label in (("plain", "closed"), ("probe", "open")):
        per_run = ", ".join(f"{r['steps_per_cpu_s']:,.0f}" for r in runs[kind])
        print(f"  steps/cpu-s per run, pane {label}: {per_run}")
    ratio = speeds["probe"] / speeds["plain"] if speeds["plain"] else float("nan")
    cpu_ratio = work["probe"] / work["plain"] if work["plain"] else float("nan")
    print(
        f"\n  with the probe pane open: {ratio:.1%} of the speed without it "
        f"({cpu_ratio:.1%} of the windows per CPU second)"
    )


if __name__ == "__main__":
    main()
