"""The series task: which CSV reader, and how fast it trains against a plain Keras `fit`.

Reading: a generated CSV of N rows x 4 columns (an ISO time stamp and three numbers, one of them
with 0.1 % empty cells), loaded into NumPy float64 columns (the time as datetime64) by each
candidate, each in a fresh child process: `import s` is the library's import, `load s` the read
and conversion (median of --repeat, warm page cache), `peak RSS` the child's whole peak (Python
and NumPy included: `idle` is a child that loads nothing). Candidates that are not installed in
this Python are listed as such. Then the series task's own loader (`rnntui.util.table`), which
also checks every cell, on the same file.

Training: `series-lstm`'s model and windows (the shipped Mauna Loa CO2 series) for `--epochs`
epochs through rnntui's trainer, against a Keras user's version of the same: the same LSTM and
Dense head, MSE, Adam, `fit` on the same windows in the same order with the same batch size,
from the same initial weights. Each in a fresh child; windows per second over the whole run.

    python -m benchmarks.bench_series                  # 1M and 10M rows, then training
    python -m benchmarks.bench_series --rows 1000000 --no-train
    python -m benchmarks.bench_series --train-only --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._measure import machine, python, run_child

READERS = (
    "pyarrow.csv",
    "pandas (engine=pyarrow)",
    "pandas (engine=c)",
    "polars",
    "numpy.loadtxt",
    "numpy.genfromtxt",
    "rnntui series loader",
)
SLOW = {"numpy.genfromtxt": 2_000_000}  # rows above which a reader is not tried (minutes)
PACKAGES = {  # what each reader adds to an environment that has NumPy
    "pyarrow.csv": ("pyarrow",),
    "pandas (engine=pyarrow)": ("pandas", "pyarrow"),
    "pandas (engine=c)": ("pandas",),
    "polars": ("polars",),
    "numpy.loadtxt": (),
    "numpy.genfromtxt": (),
    "rnntui series loader": (),
}


def make_csv(path: Path, rows: int, seed: int = 0) -> None:
    """time,load,temp,price: hourly stamps and three float columns; 0.1 % of `temp` empty."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2000-01-01T00:00:00")
    with open(path, "w") as handle:
        handle.write("time,load,temp,price\n")
        for begin in range(0, rows, 500_000):
            n = min(500_000, rows - begin)
            stamps = (start + np.arange(begin, begin + n).astype("m8[h]")).astype(str)
            load = np.round(100 + 10 * rng.standard_normal(n), 3).astype(str)
            temp = np.round(15 + 5 * rng.standard_normal(n), 2).astype(str)
            temp[rng.random(n) < 0.001] = ""
            price = np.round(50 * rng.random(n), 4).astype(str)
            lines = np.char.add(np.char.add(np.char.add(stamps, ","), load), ",")
            lines = np.char.add(np.char.add(np.char.add(lines, temp), ","), price)
            handle.write("\n".join(lines.tolist()) + "\n")


def read_with(reader: str, path: str) -> tuple[float, float, dict]:
    """(import seconds, load seconds, facts) for one reader on `path`."""
    started = time.perf_counter()
    if reader == "pyarrow.csv":
        import pyarrow.csv as pacsv
    elif reader.startswith("pandas"):
        import pandas as pd

        if "pyarrow" in reader:
            import pyarrow  # noqa: F401 (the engine's import, counted here)
    elif reader == "polars":
        import polars as pl
    elif reader == "rnntui series loader":
        from rnntui.util.table import read_table
    imported = time.perf_counter() - started
    started = time.perf_counter()
    if reader == "pyarrow.csv":
        table = pacsv.read_csv(path)
        columns = {
            name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names
        }
    elif reader.startswith("pandas"):
        engine = "pyarrow" if "pyarrow" in reader else "c"
        frame = pd.read_csv(path, engine=engine, parse_dates=["time"])
        columns = {name: frame[name].to_numpy() for name in frame.columns}
    elif reader == "polars":
        frame = pl.read_csv(path, try_parse_dates=True)
        columns = {name: frame[name].to_numpy() for name in frame.columns}
    elif reader == "numpy.loadtxt":
        # loadtxt refuses empty cells: a converter per column stands in for missing values
        def number(text: str) -> float:
            return float(text) if text else np.nan

        dtype = [("time", "M8[s]"), ("load", "f8"), ("temp", "f8"), ("price", "f8")]
        data = np.loadtxt(
            path, delimiter=",", skiprows=1, dtype=dtype, converters={2: number}, encoding="ascii"
        )
        columns = {name: data[name] for name in data.dtype.names}
    elif reader == "numpy.genfromtxt":
        dtype = [("time", "M8[s]"), ("load", "f8"), ("temp", "f8"), ("price", "f8")]
        data = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=dtype, encoding="ascii")
        columns = {name: data[name] for name in data.dtype.names}
    elif reader == "rnntui series loader":
        loaded = read_table(path, missing_ok=True)
        columns = dict(loaded.columns)
    else:
        raise SystemExit(f"unknown reader {reader}")
    loaded_s = time.perf_counter() - started
    temp = np.asarray(columns["temp"], np.float64)
    facts = {"rows": int(len(temp)), "temp_missing": int(np.isnan(temp).sum())}
    return imported, loaded_s, facts


def installed_mb(packages: tuple[str, ...]) -> str:
    """The installed size of `packages` and what they pull in beyond NumPy, in this Python."""
    if not packages:
        return "0 (NumPy only)"
    import importlib.metadata as md

    seen: set[str] = set()
    queue = list(packages)
    total = 0
    while queue:
        name = queue.pop().lower().replace("_", "-")
        if name in seen or name == "numpy":
            continue
        seen.add(name)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            return "not installed"
        for file in dist.files or []:
            try:
                total += os.path.getsize(dist.locate_file(file))
            except OSError:
                pass
        for requirement in dist.requires or []:
            if "extra ==" in requirement:
                continue
            bare = requirement.split(";")[0].strip()
            for stop in "<>=!~[ (":
                bare = bare.split(stop)[0]
            queue.append(bare)
    return f"{total / 1e6:.0f} ({', '.join(sorted(seen))})"


def available(reader: str) -> bool:
    import importlib.util

    return all(importlib.util.find_spec(p) is not None for p in PACKAGES[reader])


def reading(rows_list: list[int], repeat: int) -> None:
    print(f"  {'reader':<24} {'rows':>11} {'import s':>8} {'load s':>7} {'peak RSS MB':>11} "
          f"{'others':>6}")  # fmt: skip
    idle = run_child([python(), "-m", "benchmarks.bench_series", "--worker", "idle", ""])
    print(f"  {'idle child (NumPy)':<24} {'':>11} {'':>8} {'':>7} {idle.peak_rss_mb:>11.0f}")
    with tempfile.TemporaryDirectory(prefix="rnntui-bench-series-") as folder:
        for rows in rows_list:
            path = Path(folder) / f"series-{rows}.csv"
            # made by a child: a parent grown by it would pass its peak RSS on to every child
            made = run_child([python(), "-m", "benchmarks.bench_series", "--make", str(rows),
                              str(path)])  # fmt: skip
            if made.returncode != 0:
                raise SystemExit(made.stderr[-2000:])
            with open(path, "rb") as handle:  # warm the page cache, in pieces (RSS, as above)
                while handle.read(1 << 24):
                    pass
            for reader in READERS:
                if not available(reader):
                    print(f"  {reader:<24} {rows:>11,} {'not installed in this Python':>30}")
                    continue
                if rows > SLOW.get(reader, rows):
                    print(f"  {reader:<24} {rows:>11,} {'not tried (minutes)':>30}")
                    continue
                results = []
                for _ in range(repeat):
                    command = [python(), "-m", "benchmarks.bench_series", "--worker", reader]
                    child = run_child([*command, str(path)], timeout=1200)
                    if child.returncode != 0:
                        error = (child.stderr.strip().splitlines() or ["?"])[-1][:60]
                        print(f"  {reader:<24} {rows:>11,} failed: {error}")
                        break
                    results.append((child.last_json(), child))
                if not results:
                    continue
                results.sort(key=lambda pair: pair[0]["load_s"])
                result, child = results[len(results) // 2]
                assert result["rows"] == rows, result
                print(
                    f"  {reader:<24} {rows:>11,} {result['import_s']:>8.2f} "
                    f"{result['load_s']:>7.2f} {child.peak_rss_mb:>11.0f} "
                    f"{child.others_cores:>6.2f}"
                )
    print("\n  installed size, MB (what each reader adds to a Python with NumPy):")
    for reader in READERS:
        print(f"    {reader:<24} {installed_mb(PACKAGES[reader])}")


# --- training ------------------------------------------------------------------------------------


def train_worker(kind: str, epochs: int, preset: str = "series-lstm") -> dict:
    """One contender: rnntui's trainer or Keras `fit`, on series-lstm's windows."""
    from rnntui.config import apply_overrides, load_preset
    from rnntui.tasks.build import make_task

    # validation once, at the end (Keras `fit` validates nothing): training speed only
    config = apply_overrides(
        load_preset(preset),
        [f"train.epochs={epochs}", "train.patience=0", f"train.eval_every={epochs}"],
    )
    task = make_task(config.task, config.train.seed)
    train = config.train
    windows = task.steps_per_epoch(train.batch_size, train.num_steps) * train.batch_size * epochs
    from rnntui.runtime.tf_import import import_tf

    import_tf()  # both contenders start with TensorFlow loaded
    if kind == "rnntui":
        from rnntui.engine.trainer import Trainer

        started = time.perf_counter()
        summary = Trainer(config).run()
        wall = time.perf_counter() - started
        return {"windows": windows, "wall_s": wall, "valid_mse": summary.get("valid_mse")}
    from benchmarks.references import train_keras_series_fit

    return train_keras_series_fit(config, task, epochs)


def training(epochs: int, repeat: int, preset: str) -> None:
    print(
        f"\n  {preset}, {epochs} epochs (early stopping off), windows per second over the whole"
        " fit (tracing included, TensorFlow already imported), median of the repeats:"
    )
    rows = {}
    for kind in ("keras-fit", "rnntui"):
        walls, last = [], {}
        for _ in range(repeat):
            command = [python(), "-m", "benchmarks.bench_series", "--train-worker", kind]
            child = run_child([*command, f"{epochs}:{preset}"], timeout=1800)
            if child.returncode != 0:
                raise SystemExit(f"{kind} failed:\n{child.stderr[-3000:]}")
            last = child.last_json()
            walls.append((last["windows"] / last["wall_s"], child))
        walls.sort(key=lambda pair: pair[0])
        rate, child = walls[len(walls) // 2]
        rows[kind] = rate
        mse = last.get("valid_mse")  # the Keras contender validates nothing (speed only)
        quality = f"valid MSE {mse:.4f}" if mse is not None else "valid MSE    n/a"
        print(
            f"    {kind:<10} {rate:>9,.0f} windows/s   {quality}"
            f"   peak RSS {child.peak_rss_mb:.0f} MB   others {child.others_cores:.2f}"
        )
    print(f"    rnntui / Keras fit: {rows['rnntui'] / rows['keras-fit']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20, help="epochs of the training case")
    parser.add_argument("--no-train", action="store_true")
    parser.add_argument("--presets", nargs="*", default=["series-lstm", "series-gru"])
    parser.add_argument("--train-only", action="store_true")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--train-worker", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--make", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make_csv(Path(args.make[1]), int(args.make[0]))
        return
    if args.worker:
        reader, path = args.worker
        if reader == "idle":
            print(json.dumps({}))
            return
        imported, loaded, facts = read_with(reader, path)
        print(json.dumps({"import_s": imported, "load_s": loaded, **facts}))
        return
    if args.train_worker:
        kind, what = args.train_worker
        epochs, preset = what.split(":")
        print(json.dumps(train_worker(kind, int(epochs), preset)))
        return
    print(f"Machine: {machine()}, load {os.getloadavg()[0]:.2f}\n  ({sys.executable})\n")
    if not args.train_only:
        reading(args.rows, args.repeat)
    if not args.no_train:
        for preset in args.presets:
            training(args.epochs, args.repeat, preset)


if __name__ == "__main__":
    main()
