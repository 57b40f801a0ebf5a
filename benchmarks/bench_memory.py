"""Peak memory (ru_maxrss) of headless training runs, each in its own process.

`rnntui train PRESET --json` runs as a child; its peak resident set comes from the kernel when
the child is reaped (wait4, i.e. the child's own RUSAGE_CHILDREN figure). For scale, the first
row is a bare `import tensorflow`. Run folders go to a temporary directory.

    python -m benchmarks.bench_memory
"""

from __future__ import annotations

import argparse
import tempfile

from benchmarks._measure import machine, python, run_child

RUNS = [
    ("import tensorflow (for scale)", None, []),
    ("rnntui train echo-raw-5", "echo-raw-5", []),
    ("rnntui train echo-raw-5, XLA", "echo-raw-5", ["--set", "train.xla=true"]),
    ("rnntui train echo-lstm", "echo-lstm", []),
    ("rnntui train echo-raw-10 (5 epochs)", "echo-raw-10", []),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    print(f"Machine: {machine()}\n")
    print(f"  {'':<38} {'peak RSS MB':>11} {'wall s':>7}")
    with tempfile.TemporaryDirectory(prefix="rnntui-bench-") as runs_dir:
        for label, preset, extra in RUNS:
            if preset is None:
                command = [python(), "-c", "import tensorflow"]
            else:
                command = [python(), "-m", "rnntui", "train", preset, "--json"]
                command += ["--runs-dir", runs_dir, *extra]
            child = run_child(command)
            if child.returncode != 0:
                raise SystemExit(f"{label} failed:\n{child.stderr[-3000:]}")
            print(f"  {label:<38} {child.peak_rss_mb:>11.0f} {child.wall_s:>7.1f}")


if __name__ == "__main__":
    main()
