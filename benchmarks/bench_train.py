"""Training speed: the tutorial's TF1 loop and Keras `fit` against rnntui's engine, side by side.

Echo task, batch 200, one epoch of 1M samples (the same windows for every contender), state 4:
the raw RNN at num_steps 5 and 10 (Adagrad 0.1, as the tutorial), GRU and LSTM at num_steps 5
(Adam 0.01, as their presets); then the raw RNN on 10M samples, a run long enough for XLA.
Every contender starts from rnntui's initial weights, so the final losses (mean of the last
10 % of windows) must agree: speed may not change the math.

Each contender runs in its own fresh process (its own tracing, compiling and settings), after
TensorFlow is imported. Columns:
  setup      building the graph / model, before the first window
  first      the first call: one window (TF1, Keras) or one chunk (rnntui), with tracing/compiling
  steady     windows per second after the first call
  epoch      setup + every call: the wall time of the whole epoch; e2e = windows / epoch
  others     CPU cores other processes used meanwhile (a busy box spoils figures; rerun then)

Then the text task as a Keras user would write char-rnn: `text-lstm`'s model (Embedding(32) +
LSTM(128) + Dense, Adam 0.005, batch 32, 50-step windows, the state carried) on the first
`--text-chars` characters of this Python's standard library, against Keras `fit` on the same
windows from the same initial weights; rates in characters per second.

    python -m benchmarks.bench_train            # the full table (~5 min on 2 cores)
    python -m benchmarks.bench_train --quick    # 200k samples, fewer contenders
    python -m benchmarks.bench_train --text     # only the text case
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import TYPE_CHECKING

import numpy as np

from benchmarks._measure import machine, median, python, run_child

if TYPE_CHECKING:
    from benchmarks.references import Timed

PRESETS = {"raw_rnn": "echo-raw-5", "gru": "echo-gru", "lstm": "echo-lstm"}
# (label, kind, options) per contender; kind picks the code path in `worker`
REFERENCE = [("TF1 loop (sess.run per window)", "tf1", {})]
KERAS = [("Keras fit", "keras", {})]
KERAS_BEST = [("Keras fit, XLA, 100 steps/exec", "keras", {"xla": True, "spe": 100})]
ENGINE = [
    ("rnntui", "engine", {"xla": False}),
    ("rnntui, XLA", "engine", {"xla": True}),
]


def tail(losses: list[float]) -> float:
    return float(np.mean(losses[-max(1, len(losses) // 10) :]))


def timed_result(timed: Timed, imported: float) -> dict:
    """What a reference contender's worker prints (`rest_cpu_s` only where it was measured)."""
    result = {
        "import_s": imported,
        "windows": len(timed.losses),
        "setup_s": timed.setup_s,
        "first_s": timed.first_s,
        "rest_s": timed.rest_s,
        "first_windows": timed.first_windows,
        "final_loss": tail(timed.losses),
    }
    if math.isfinite(timed.rest_cpu_s):
        result["rest_cpu_s"] = timed.rest_cpu_s
    return result


# --- one contender, in this (child) process ------------------------------------------------------


TEXT = [
    ("Keras fit (Embedding+LSTM+Dense)", "keras", {}),
    ("rnntui", "engine", {"xla": False}),
    ("rnntui, 2 TF threads", "engine", {"xla": False, "threads": 2}),
]


def text_config(size: int):
    from rnntui.config import apply_overrides, load_preset

    return apply_overrides(
        load_preset("text-lstm"), [f"task.max_chars={size}", "train.epochs=1", "train.seed=0"]
    )


def text_worker(kind: str, size: int, options: dict, imported: float) -> dict:
    """One epoch of text-lstm on `size` characters of the standard library."""
    from rnntui.models.build import build_model
    from rnntui.tasks.build import make_task

    config = text_config(size)
    if kind == "engine":
        return {"import_s": imported, **run_engine(config, options)}
    from benchmarks.references import train_keras_text_fit

    train = config.train
    task = make_task(config.task, train.seed)
    xs, ys = task.windows(0, train.batch_size, train.num_steps)
    weights = build_model(
        config.model, task.num_classes, task.input_dim, True, train.seed, ids=True
    ).get_weights()
    timed = train_keras_text_fit(
        np.ascontiguousarray(xs),
        np.ascontiguousarray(ys),
        task.num_classes,
        config.model.embedding,
        config.model.state_size,
        train.learning_rate,
        train.seed,
        weights=weights,
        jit_compile=True if options.get("xla") else "auto",
        steps_per_execution=options.get("spe", 1),
    )
    return timed_result(timed, imported)


def worker(kind: str, cell: str, num_steps: int, size: int, options: dict) -> dict:
    started = time.perf_counter()
    from rnntui.runtime.tf_import import import_tf

    import_tf()
    imported = time.perf_counter() - started
    if cell == "text":
        return text_worker(kind, size, options, imported)

    from rnntui.config import apply_overrides, load_preset
    from rnntui.models.build import build_model
    from rnntui.tasks.echo import EchoTask

    config = apply_overrides(
        load_preset(PRESETS[cell]),
        [f"task.size={size}", f"train.num_steps={num_steps}", "train.epochs=1"],
    )
    train = config.train
    if kind == "engine":
        return {"import_s": imported, **run_engine(config, options)}

    xs, ys = EchoTask(size, seed=train.seed).windows(0, train.batch_size, num_steps)
    xs, ys = np.ascontiguousarray(xs), np.ascontiguousarray(ys)
    # rnntui's initial weights (built in a throwaway graph-free call; TF is imported anyway)
    weights = build_model(config.model, 2, 2, True, train.seed).get_weights()
    if kind == "tf1":
        from benchmarks.references import train_tf1_loop

        timed = train_tf1_loop(
            xs, ys, config.model.state_size, train.learning_rate, train.seed, weights
        )
    else:
        from benchmarks.references import train_keras_fit

        if cell == "raw_rnn":  # the raw cell is SimpleRNN's math with W = [kernel; recurrent]
            w, b, w_out, b_out = weights
            weights = [w[:2], w[2:], b, w_out, b_out]
        timed = train_keras_fit(
            xs,
            ys,
            "rnn" if cell == "raw_rnn" else cell,
            config.model.state_size,
            train.learning_rate,
            train.seed,
            optimizer=train.optimizer,
            weights=weights,
            jit_compile=True if options.get("xla") else "auto",
            steps_per_execution=options.get("spe", 1),
        )
    return timed_result(timed, imported)


def run_engine(config, options: dict) -> dict:
    """The product path: `Trainer.run()`, with each compiled call timed from outside."""
    from rnntui.engine import compiled
    from rnntui.engine.trainer import Trainer

    config.train.xla = "on" if options["xla"] else "off"
    if options.get("threads", 1) > 1:
        compiled.SMALL_MODEL = 0  # TensorFlow's own thread pools, whatever the model's size
    calls: list[tuple[float, float, int]] = []
    train_chunk = compiled.CompiledSteps.train_chunk

    def timed_chunk(self, xs, ys, state):
        begin = time.perf_counter()
        result = train_chunk(self, xs, ys, state)
        calls.append((begin, time.perf_counter(), len(xs), time.process_time()))
        return result

    compiled.CompiledSteps.train_chunk = timed_chunk
    trainer = Trainer(config)
    started = time.perf_counter()
    summary = trainer.run()
    ended = time.perf_counter()
    if "failed" in summary:
        raise RuntimeError(summary["failed"])
    (first_begin, first_end, first_windows, first_cpu) = calls[0]
    return {
        "windows": len(trainer.losses),
        "setup_s": first_begin - started,
        "first_s": first_end - first_begin,
        "rest_s": ended - first_end,
        "rest_cpu_s": calls[-1][3] - first_cpu,
        "first_windows": first_windows,
        "final_loss": tail(trainer.losses),
        "chunk": config.train.chunk,
    }


# --- the table, in the parent process ------------------------------------------------------------


def measure(label, kind, cell, num_steps, size, options, repeat) -> dict:
    runs = []
    for _ in range(repeat):
        child = run_child(
            [
                python(),
                "-m",
                "benchmarks.bench_train",
                "--worker",
                json.dumps([kind, cell, num_steps, size, options]),
            ]
        )
        if child.returncode != 0:
            raise SystemExit(f"{label} failed:\n{child.stderr[-3000:]}")
        result = child.last_json()
        result.update(peak_rss_mb=child.peak_rss_mb, others=child.others_cores)
        runs.append(result)
    keys = ("setup_s", "first_s", "rest_s", "peak_rss_mb", "others", "import_s")
    merged = {key: median([r[key] for r in runs]) for key in keys}
    merged.update({k: runs[0][k] for k in ("windows", "first_windows", "final_loss")})
    merged["chunk"] = runs[0].get("chunk")
    cpu = [
        (r["windows"] - r["first_windows"]) / r["rest_cpu_s"] for r in runs if r.get("rest_cpu_s")
    ]
    merged["steady_cpu"] = median([c for c in cpu if c == c and c > 0])  # windows per CPU second
    merged["label"] = label
    rates = [(r["windows"] - r["first_windows"]) / r["rest_s"] for r in runs if r["rest_s"] > 0]
    # nan when the first call was the whole epoch (e.g. --quick at num_steps 10)
    merged["steady"] = median([r for r in rates if r > 0])
    merged["epoch_s"] = median([r["setup_s"] + r["first_s"] + r["rest_s"] for r in runs])
    merged["e2e"] = merged["windows"] / merged["epoch_s"]
    return merged


def print_case(title: str, rows: list[dict], reference: dict) -> None:
    print(f"\n{title}")
    header = (
        f"  {'contender':<32} {'setup s':>7} {'first s':>7} {'steady w/s':>10} "
        f"{'epoch s':>7} {'e2e w/s':>8} {'loss':>7} {'Δ ref':>7} {'RSS MB':>6} {'others':>6}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for row in rows:
        delta = row["final_loss"] - reference["final_loss"]
        print(
            f"  {row['label']:<32} {row['setup_s']:>7.2f} {row['first_s']:>7.2f} "
            f"{_rate(row['steady']):>10} {row['epoch_s']:>7.2f} {row['e2e']:>8,.0f} "
            f"{row['final_loss']:>7.4f} {delta:>+7.4f} {row['peak_rss_mb']:>6.0f} "
            f"{row['others']:>6.2f}"
        )


def _rate(value: float) -> str:
    return "-" if value != value else f"{value:,.0f}"  # nan: nothing after the first call


def print_ratios(rows: list[dict], baselines: list[str]) -> list[str]:
    by_label = {row["label"]: row for row in rows}
    lines = []
    for engine in (r for r in rows if r["label"].startswith("rnntui")):
        for name in baselines:
            base = by_label.get(name)
            if base is None:
                continue
            lines.append(
                f"  {engine['label']} vs {name}: steady x{engine['steady'] / base['steady']:.1f}, "
                f"epoch x{engine['e2e'] / base['e2e']:.1f}"
            )
    print("\n".join(lines))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="200k samples, no Keras-XLA row")
    parser.add_argument("--size", type=int, help="samples per epoch (default 1M, quick 200k)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender (medians)")
    parser.add_argument("--text", action="store_true", help="only the text (char-rnn) case")
    parser.add_argument(
        "--text-chars", type=int, default=400_000, help="characters of the text case's epoch"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        kind, cell, num_steps, size, options = json.loads(args.worker)
        print(json.dumps(worker(kind, cell, num_steps, size, options)))
        return

    size = args.size or (200_000 if args.quick else 1_000_000)
    keras_rows = KERAS if args.quick else KERAS + KERAS_BEST
    cases = [
        ("raw_rnn", 5, size, REFERENCE + keras_rows + ENGINE),
        ("raw_rnn", 10, size, REFERENCE + keras_rows + ENGINE),
        ("gru", 5, size, keras_rows + ENGINE),
        ("lstm", 5, size, keras_rows + ENGINE),
    ]
    if not args.quick:  # ten times the data: where XLA's compile is repaid
        cases.append(("raw_rnn", 5, 10 * size, REFERENCE + KERAS + ENGINE))
    if args.text:
        cases = []
    print(f"Machine: {machine()}")
    print(
        f"Echo task: batch 200, state 4, one epoch; medians of {args.repeat} run(s) per contender"
    )
    for cell, num_steps, samples, contenders in cases:
        rows = [
            measure(label, kind, cell, num_steps, samples, options, args.repeat)
            for label, kind, options in contenders
        ]
        optimizer = "Adagrad 0.1" if cell == "raw_rnn" else "Adam 0.01"
        title = (
            f"{cell} cell, num_steps {num_steps}, {samples:,} samples = {rows[0]['windows']:,} "
            f"windows, {optimizer} "
            f"(rnntui chunk {rows[-1].get('chunk', '?')})"
        )
        print_case(title, rows, rows[0])
        print_ratios(rows, [REFERENCE[0][0], KERAS[0][0]])
        sys.stdout.flush()
    text_case(args.text_chars, args.repeat)


def text_case(size: int, repeat: int) -> None:
    """text-lstm against Keras fit, in characters per second."""
    config = text_config(size)
    chars = config.train.batch_size * config.train.num_steps
    rows = [
        measure(label, kind, "text", 50, size, options, repeat) for label, kind, options in TEXT
    ]
    title = (
        f"text-lstm: Embedding(32) + LSTM(128) + Dense, batch 32, num_steps 50, Adam 0.005, "
        f"{size:,} characters of the standard library = {rows[0]['windows']:,} windows "
        f"(rnntui chunk {rows[-1].get('chunk', '?')})"
    )
    print_case(title, rows, rows[0])
    print("  characters per second (and per CPU second, all threads, once running):")
    for row in rows:
        print(
            f"    {row['label']:<34} steady {row['steady'] * chars:>9,.0f}   "
            f"epoch {row['e2e'] * chars:>9,.0f}   per CPU s {row['steady_cpu'] * chars:>9,.0f}"
        )
    keras_row = rows[0]
    for engine in rows[1:]:
        print(
            f"  {engine['label']} vs Keras fit: "
            f"steady x{engine['steady'] / keras_row['steady']:.2f}, "
            f"epoch x{engine['e2e'] / keras_row['e2e']:.2f}, "
            f"per CPU second x{engine['steady_cpu'] / keras_row['steady_cpu']:.2f}"
        )


if __name__ == "__main__":
    main()
