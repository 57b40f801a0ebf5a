"""Training speed in the app against the headless command, same preset, side by side.

Each contender runs in a fresh process:
  headless  `rnntui train PRESET --json`
  app       the real app under Textual's pilot (160x48, every frame composed): press start, wait
            for the run to finish, the chart and status bar updating throughout
The figure is the run's own steps/s from its summary.json (training time only: the same clock
for both), and the wall time from pressing start (or launching) to the finished summary.

    python -m benchmarks.bench_app_speed [--preset count-lstm] [--repeat 3] [--set k=v]
"""

from __future__ import annotations

import asyncio
import json
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

DEFAULT_PRESETS = ("echo-raw-10", "count-lstm")


async def app_scenario(preset: str, overrides: list[str], runs_dir: Path) -> dict:
    from rnntui.config import apply_overrides, load_preset
    from rnntui.tui.app import RnnTuiApp

    config = apply_overrides(load_preset(preset), overrides)
    app = RnnTuiApp(config, preset_name=preset, runs_dir=runs_dir)
    app.exit_watchdog = False
    info: dict = {}
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_tensorflow(app, pilot)
        await pilot.pause(0.5)
        started = time.perf_counter()
        app.action_start()
        while str(app.state) not in ("finished", "failed", "stopped"):
            await pilot.pause(0.05)
            if time.perf_counter() - started > 900:
                raise SystemExit("training did not finish within 900 s")
        info["wall_s"] = time.perf_counter() - started
        info["state"] = str(app.state)
        await app.action_quit()
    (run,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    summary = json.loads((run / "summary.json").read_text())
    info["steps_per_s"] = summary["steps_per_s"]
    info["steps"] = summary["steps"]
    return info


def worker(preset: str, overrides: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="rnntui-bench-") as folder:
        return asyncio.run(app_scenario(preset, overrides, Path(folder)))


def headless(preset: str, overrides: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="rnntui-bench-") as folder:
        command = [python(), "-m", "rnntui", "train", preset, "--json", "--runs-dir", folder]
        summary, child = run_json_child(with_sets(command, overrides), "headless run")
        return {
            "steps_per_s": summary["steps_per_s"],
            "wall_s": child.wall_s,
            "others": child.others_cores,
        }


def in_app(preset: str, overrides: list[str]) -> dict:
    command = [python(), "-m", "benchmarks.bench_app_speed", "--worker", "--preset", preset]
    run, child = run_json_child(with_sets(command, overrides), "the app run")
    run["others"] = child.others_cores
    return run


def main() -> None:
    parser = bench_parser(__doc__, repeat=3, repeat_help="runs per contender (medians)")
    parser.add_argument(
        "--preset", action="append", help="repeatable; default echo-raw-10, count-lstm"
    )
    args = parser.parse_args()
    presets = args.preset or list(DEFAULT_PRESETS)
    if args.worker:
        print(json.dumps(worker(presets[0], args.overrides)))
        return

    print(f"Machine: {machine()}")
    print(f"Medians of {args.repeat} (contenders interleaved); steps/s from each run's summary\n")
    print(
        f"  {'preset':<14} {'headless s/s':>13} {'app s/s':>9} {'app/headless':>13} "
        f"{'headless wall':>14} {'app wall':>9} {'others':>7}"
    )
    for preset in presets:
        results: dict[str, list[dict]] = {"headless": [], "app": []}
        for _ in range(args.repeat):
            results["headless"].append(headless(preset, args.overrides))
            results["app"].append(in_app(preset, args.overrides))
        h = median([r["steps_per_s"] for r in results["headless"]])
        a = median([r["steps_per_s"] for r in results["app"]])
        hw = median([r["wall_s"] for r in results["headless"]])
        aw = median([r["wall_s"] for r in results["app"]])
        others = max(r["others"] for rs in results.values() for r in rs)
        print(
            f"  {preset:<14} {h:>13,.0f} {a:>9,.0f} {a / h:>12.0%} {hw:>13.1f}s {aw:>8.1f}s "
            f"{others:>7.2f}"
        )


if __name__ == "__main__":
    main()
