"""Real runs end to end: rnntui's whole run against the tutorials' own loops, same data.

Each contender runs in a fresh process; the clock starts once TensorFlow is imported (both pay
that the same) and stops when the last window is trained:
  tutorial  the seed's TF1 graph (via tf.compat.v1) and its loop, one `sess.run` per window
            (echo, seeds 000-002) or per batch (count, seed 004): graph building, session,
            every call. Its data is handed over ready-made (its own Python generator would
            add ~0.6 s per million samples, which would flatter us).
  rnntui    `Trainer.run()` with a run folder, exactly as `rnntui train` does it: making the
            data, building, tracing, compiling, every call, the metrics log, summaries and
            checkpoints. "cold": no kept XLA programs (an empty RNNTUI_XLA_CACHE), as a first
            run; "warm": the same run again in a new process, loading the program the cold run
            kept (what every later run of those shapes, and each run of a sweep, pays).

    python -m benchmarks.bench_e2e [--repeat 3] [--only count-lstm]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np

from benchmarks._measure import machine, median, python, run_json_child

CASES = [
    ("echo-raw-5, 1 epoch (1,000 windows)", "echo", 1),
    ("echo-raw-5, 10 epochs (10,000 windows)", "echo", 10),
    ("count-lstm, 2,000 epochs (10,000 batches)", "count", 2000),
]


def tutorial_echo(epochs: int) -> dict:
    """Seeds 000-002: the raw RNN, one sess.run per window, state fed back, reset each epoch."""
    from benchmarks.references import train_tf1_loop
    from rnntui.tasks.echo import EchoTask

    task = EchoTask(seed=0)
    windows = [task.windows(epoch, 200, 5) for epoch in range(epochs)]
    xs = np.concatenate([np.ascontiguousarray(x) for x, _ in windows])
    ys = np.concatenate([np.ascontiguousarray(y) for _, y in windows])
    timed = train_tf1_loop(xs, ys, reset_every=len(windows[0][0]))
    return {"wall_s": timed.wall_s, "final": float(np.mean(timed.losses[-100:]))}


def tutorial_count(epochs: int) -> dict:
    """Seed 004: LSTM(12) (BasicLSTMCell's equations, forget bias 1) over [batch, 10, 1], the
    last output -> Dense(11) softmax, clipped summed cross-entropy, Adam, batch 100; one
    sess.run per batch. (tf.contrib's BasicLSTMCell and dynamic_rnn are gone from TF 2; the
    same graph is written out with tf.compat.v1 ops.)"""
    import tensorflow as tf

    from rnntui.tasks.count import CountTask

    v1 = tf.compat.v1
    x_train, y_train, x_test, y_test = CountTask(10, 500, seed=0).split()
    onehot = np.eye(11, dtype=np.float32)[y_train]
    started = time.perf_counter()
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        data = v1.placeholder(tf.float32, [None, 10, 1])
        target = v1.placeholder(tf.float32, [None, 11])
        units = 12
        kernel = v1.get_variable("kernel", [1 + units, 4 * units])
        bias = v1.get_variable("bias", [4 * units], initializer=v1.zeros_initializer())
        h = c = tf.zeros([tf.shape(data)[0], units])
        for t in range(10):
            z = tf.matmul(tf.concat([data[:, t], h], 1), kernel) + bias
            i, g, f, o = tf.split(z, 4, axis=1)
            c = c * tf.sigmoid(f + 1.0) + tf.sigmoid(i) * tf.tanh(g)
            h = tf.tanh(c) * tf.sigmoid(o)
        weight = tf.Variable(v1.truncated_normal([units, 11]))
        out_bias = tf.Variable(tf.constant(0.1, shape=[11]))
        prediction = tf.nn.softmax(tf.matmul(h, weight) + out_bias)
        cross_entropy = -tf.reduce_sum(
            target * tf.math.log(tf.clip_by_value(prediction, 1e-10, 1.0))
        )
        minimize = v1.train.AdamOptimizer().minimize(cross_entropy)
        init = v1.global_variables_initializer()
    with v1.Session(graph=graph) as sess:
        sess.run(init)
        for _ in range(epochs):
            for start in range(0, 500, 100):
                sess.run(
                    minimize,
                    {data: x_train[start : start + 100], target: onehot[start : start + 100]},
                )
        wall = time.perf_counter() - started
        predicted = sess.run(prediction, {data: x_test}).argmax(axis=1)
    return {"wall_s": wall, "final": float(np.mean(predicted != y_test) * 100)}


def engine(kind: str, epochs: int) -> dict:
    from rnntui.config import apply_overrides, load_preset
    from rnntui.engine.runs import RunFolder
    from rnntui.engine.trainer import Trainer

    preset = "echo-raw-5" if kind == "echo" else "count-lstm"
    config = apply_overrides(load_preset(preset), [f"train.epochs={epochs}"])
    with tempfile.TemporaryDirectory(prefix="rnntui-bench-") as folder:
        started = time.perf_counter()
        run = RunFolder.create(config, folder)
        summary = Trainer(config, run=run).run()
        wall = time.perf_counter() - started
    final = summary["final_loss"] if kind == "echo" else summary["test_error_pct"]
    return {"wall_s": wall, "final": final}


def worker(contender: str, kind: str, epochs: int) -> dict:
    from rnntui.tf_runtime import import_tf

    import_tf()
    if contender == "rnntui":
        return engine(kind, epochs)
    return tutorial_echo(epochs) if kind == "echo" else tutorial_count(epochs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender (medians)")
    parser.add_argument("--only", default="", help="run the cases whose label contains this")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*json.loads(args.worker))))
        return

    print(f"Machine: {machine()}")
    print(f"Wall time after TensorFlow's import, medians of {args.repeat} (interleaved)\n")
    print(
        f"  {'run':<42} {'tutorial s':>10} {'cold s':>7} {'ratio':>6} {'warm s':>7} {'ratio':>6} "
        f"{'tutorial':>9} {'rnntui':>9} {'others':>7}"
    )
    for label, kind, epochs in CASES:
        if args.only not in label:
            continue
        walls: dict[str, list[float]] = {"tutorial": [], "cold": [], "warm": []}
        finals: dict[str, float] = {}
        others = 0.0
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="rnntui-xla-") as kept:
                os.environ["RNNTUI_XLA_CACHE"] = kept  # empty for the cold run
                for contender in ("tutorial", "cold", "warm"):
                    spec = json.dumps(
                        ["tutorial" if contender == "tutorial" else "rnntui", kind, epochs]
                    )
                    command = [python(), "-m", "benchmarks.bench_e2e", "--worker", spec]
                    result, child = run_json_child(command, contender)
                    walls[contender].append(result["wall_s"])
                    finals[contender] = result["final"]
                    others = max(others, child.others_cores)
        tutorial, cold, warm = (median(walls[c]) for c in ("tutorial", "cold", "warm"))
        assert finals["cold"] == finals["warm"], "a kept program trained different numbers"
        unit = " %" if kind == "count" else ""
        print(
            f"  {label:<42} {tutorial:>10.2f} {cold:>7.2f} {tutorial / cold:>5.1f}x "
            f"{warm:>7.2f} {tutorial / warm:>5.1f}x "
            f"{finals['tutorial']:>7.4f}{unit:2} {finals['cold']:>7.4f}{unit:2} {others:>7.2f}"
        )
    print("\n  (last two columns: final loss for echo, test error for count)")


if __name__ == "__main__":
    main()
