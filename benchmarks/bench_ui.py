"""UI responsiveness: how late a 50 ms timer fires in the app from its first frame on.

The real app (`RnnTuiApp`) runs under Textual's pilot (headless, 160x48: every frame is still
composed, only not written to a terminal). Two 50 ms clocks tick meanwhile:
  timer    a Textual `set_interval` timer: its ticks travel through the app's message queue, as
           key presses and redraws do, so a busy queue shows here
  asyncio  a bare asyncio sleeper: shows the event loop itself being blocked (e.g. by the GIL)
A tick's lateness is how much later than 50 ms after the previous tick it ran. Phases:
  first 10 s  from the first frame: TensorFlow loading, and a run started 1 s in (the worst
              case: a user pressing s at once), whatever the app does with them
  training    the rest of the run, until it has finished (the chart redrawing throughout)
  idle        a second after the run

Each run is a fresh process; with --repeat the ticks of all runs are pooled, and the spread of
the per-run p99 is shown too (a shared box makes single runs noisy). It drives the app only
through `action_start`, `state` and `tf_ready`, so it measures older versions of the app too.

    python -m benchmarks.bench_ui [--repeat 3] [--preset echo-raw-5] [--epochs 40] [--set k=v]
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._measure import bench_parser, machine, python, run_json_child, with_sets
from rnntui.config import apply_overrides, load_preset

INTERVAL = 0.05


class Clocks:
    def __init__(self) -> None:
        self.phase = "before"
        self.late: dict[tuple[str, str], list[float]] = {}
        self.last: dict[str, float] = {}

    def tick(self, clock: str) -> None:
        now = time.perf_counter()
        before = self.last.get(clock)
        self.last[clock] = now
        if before is not None:
            self.late.setdefault((clock, self.phase), []).append(max(0.0, now - before - INTERVAL))

    def reset(self, phase: str) -> None:
        self.phase = phase
        self.last.clear()  # a phase's first tick has no predecessor in that phase

    async def asyncio_clock(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL)
            self.tick("asyncio")


async def scenario(config, name: str, runs_dir: Path) -> tuple[Clocks, dict]:
    from rnntui.tui.app import RnnTuiApp

    app = RnnTuiApp(config, preset_name=name, runs_dir=runs_dir)
    app.exit_watchdog = False
    clocks = Clocks()
    info: dict = {}
    async with app.run_test(size=(160, 48)):
        app.set_interval(INTERVAL, lambda: clocks.tick("timer"))
        sleeper = asyncio.create_task(clocks.asyncio_clock())
        clocks.reset("first 10 s")
        first_frame = time.perf_counter()
        # Plain sleeps, not `pilot.pause`: a pause posts a callback to every widget and forces a
        # full screen update, 20 times a second here, which a real terminal never does (it took
        # a third of the UI thread and was most of the lateness measured before).
        await asyncio.sleep(1.0)
        app.action_start()
        while str(app.state) not in ("finished", "failed", "stopped"):
            await asyncio.sleep(0.05)
            now = time.perf_counter()
            if clocks.phase == "first 10 s" and now - first_frame >= 10.0:
                clocks.reset("training")
            if app.tf_ready and "tensorflow_s" not in info:
                info["tensorflow_s"] = now - first_frame
            if now - first_frame > 600:
                raise SystemExit("training did not finish within 600 s")
        info["training_s"] = time.perf_counter() - first_frame - 1.0
        info["state"] = str(app.state)
        info["steps"] = len(app.chart.losses)
        clocks.reset("idle")
        await asyncio.sleep(1.0)
        clocks.reset("done")
        info.setdefault("tensorflow_s", float("nan"))
        sleeper.cancel()
        await app.action_quit()
    return clocks, info


def worker(preset: str, epochs: int, overrides: list[str]) -> dict:
    config = apply_overrides(load_preset(preset), [f"train.epochs={epochs}", *overrides])
    with tempfile.TemporaryDirectory(prefix="rnntui-bench-") as folder:
        clocks, info = asyncio.run(scenario(config, preset, Path(folder)))
    info["late"] = {f"{clock} {phase}": ticks for (clock, phase), ticks in clocks.late.items()}
    return info


def main() -> None:
    parser = bench_parser(__doc__, repeat=3, repeat_help="fresh app processes")
    parser.add_argument("--preset", default="echo-raw-5")
    parser.add_argument("--epochs", type=int, default=40, help="long enough to outlast 10 s")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.preset, args.epochs, args.overrides)))
        return

    runs = []
    for _ in range(args.repeat):
        command = [python(), "-m", "benchmarks.bench_ui", "--worker", "--preset", args.preset]
        command += ["--epochs", str(args.epochs)]
        run, child = run_json_child(with_sets(command, args.overrides), "the app run")
        run["others"] = child.others_cores
        runs.append(run)

    print(f"Machine: {machine()}")
    settings = (" " + " ".join(args.overrides)) if args.overrides else ""
    print(
        f"App: preset {args.preset}, {args.epochs} epochs{settings}; {len(runs)} run(s). "
        f"TensorFlow ready {_spread([r['tensorflow_s'] for r in runs], 's')} after the first "
        f"frame; training ({runs[0]['steps']:,} windows) took "
        f"{_spread([r['training_s'] for r in runs], 's')}; "
        f"other processes used {_spread([r['others'] for r in runs], ' cores')}\n"
    )
    print(
        f"  {'phase':<11} {'clock':<8} {'ticks':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"
        f"   {'p99 per run, ms':<20}"
    )
    for phase in ("first 10 s", "training", "idle"):
        for clock in ("timer", "asyncio"):
            per_run = [np.array(r["late"].get(f"{clock} {phase}", [0.0])) * 1e3 for r in runs]
            late = np.concatenate(per_run)
            p99s = ", ".join(f"{np.percentile(x, 99):.0f}" for x in per_run)
            print(
                f"  {phase:<11} {clock:<8} {len(late):>6} {np.percentile(late, 50):>7.1f} "
                f"{np.percentile(late, 99):>7.1f} {late.max():>7.1f}   {p99s}"
            )


def _spread(values: list[float], unit: str) -> str:
    low, high = min(values), max(values)
    return f"{low:.1f}{unit}" if high - low < 0.05 else f"{low:.1f}-{high:.1f}{unit}"


if __name__ == "__main__":
    main()
