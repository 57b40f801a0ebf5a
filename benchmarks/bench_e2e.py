"""Real runs end to end: rnntui's whole run against the tutorials' own loops, same data.

Each contender runs in a fresh process; the clock starts once TensorFlow is imported (both pay
that the same) and stops when the last window is trained:
  tutorial  the seed's TF1 graph (via tf.compat.v1) and its loop, one `sess.run` per window
            (echo, seeds 000-002) or per batch (count, seed 004, its `dynamic_rnn` included):
            graph building, session, every call. Its data is handed over ready-made (its own
            Python generator would add ~0.6 s per million samples, which would flatter us).
            For count, also the seed's graph with its ten steps unrolled in Python: the same
            math without dynamic_rnn's while loop, a faster loop than the seed's own.
  rnntui    `Trainer.run()` with a run folder, exactly as `rnntui train` does it: making the
            data, building, tracing, compiling, every call, the metrics log, summaries and
            checkpoints. "cold": no kept XLA programs (an empty RNNTUI_XLA_CACHE), as a first
            run; "warm": the same run again in a new process, loading the program the cold run
            kept (what every later run of those shapes, and each run of a sweep, pays).

    python -m benchmarks.bench_e2e [--repeat 3] [--only count-lstm] [--each]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np

from benchmarks._measure import machine, median, python, run_json_child

TIMED = ["tutorial", "cold", "warm"]
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


class BasicLSTMCell:
    """tf.contrib.rnn.BasicLSTMCell(units, state_is_tuple=True), the cell seed 004 hands to
    `dynamic_rnn`: the same variables (kernel [inputs + units, 4 units], Glorot-uniform; bias
    zeros), gate order i, j, f, o and forget bias 1. tf.contrib is gone from TF 2, and Keras 3's
    cells are not TF1 RNNCells; `tf.compat.v1.nn.dynamic_rnn` still runs any object with these
    members, building the same `while_loop` over time the seed ran."""

    def __init__(self, units: int) -> None:
        self.units = units
        self.state_size = (units, units)
        self.output_size = units
        self.kernel = self.bias = None

    def zero_state(self, batch_size, dtype):  # noqa: ANN001, ANN201 (TF1's RNNCell signature)
        import tensorflow as tf

        zeros = tf.zeros([batch_size, self.units], dtype)
        return (zeros, zeros)

    def __call__(self, inputs, state, scope=None):  # noqa: ANN001, ANN201
        import tensorflow as tf

        v1 = tf.compat.v1
        c, h = state
        if self.kernel is None:
            depth = int(inputs.shape[1]) + self.units
            self.kernel = v1.get_variable("kernel", [depth, 4 * self.units])
            self.bias = v1.get_variable(
                "bias", [4 * self.units], initializer=v1.zeros_initializer()
            )
        gates = tf.nn.bias_add(tf.matmul(tf.concat([inputs, h], 1), self.kernel), self.bias)
        i, j, f, o = tf.split(gates, 4, axis=1)
        new_c = c * tf.sigmoid(f + 1.0) + tf.sigmoid(i) * tf.tanh(j)
        new_h = tf.tanh(new_c) * tf.sigmoid(o)
        return new_h, (new_c, new_h)


def tutorial_count(epochs: int, unrolled: bool = False) -> dict:
    """Seed 004 as written: BasicLSTMCell(12) through `dynamic_rnn` over [batch, 10, 1], the
    last output (transpose, gather) -> softmax, clipped summed cross-entropy, Adam, batch 100;
    one sess.run per batch. `unrolled`: the ten steps written out in Python instead of
    dynamic_rnn's while loop (the same math; what this benchmark ran before the sixth session,
    kept as a second, faster baseline)."""
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
        cell = BasicLSTMCell(units)
        if unrolled:
            state = cell.zero_state(tf.shape(data)[0], tf.float32)
            for t in range(10):
                last, state = cell(data[:, t], state)
        else:
            val, _ = v1.nn.dynamic_rnn(cell, data, dtype=tf.float32)
            val = tf.transpose(val, [1, 0, 2])
            last = tf.gather(val, int(val.get_shape()[0]) - 1)
        weight = tf.Variable(v1.truncated_normal([units, 11]))
        out_bias = tf.Variable(tf.constant(0.1, shape=[11]))
        prediction = tf.nn.softmax(tf.matmul(last, weight) + out_bias)
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
    from rnntui.engine.trainer import Trainer
    from rnntui.runs.folder import RunFolder

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
    from rnntui.runtime.tf_import import import_tf

    import_tf()
    if contender == "rnntui":
        return engine(kind, epochs)
    if kind == "echo":
        return tutorial_echo(epochs)
    return tutorial_count(epochs, unrolled=contender == "unrolled")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender (medians)")
    parser.add_argument("--only", default="", help="run the cases whose label contains this")
    parser.add_argument("--each", action="store_true", help="also print every run's wall time")
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
        # count: seed 004's own graph, and the same with its ten steps unrolled (a faster loop)
        contenders = ["tutorial", "unrolled", "cold", "warm"] if kind == "count" else TIMED
        walls: dict[str, list[float]] = {contender: [] for contender in contenders}
        finals: dict[str, float] = {}
        others = 0.0
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="rnntui-xla-") as kept:
                os.environ["RNNTUI_XLA_CACHE"] = kept  # empty for the cold run
                for contender in contenders:
                    runner = "rnntui" if contender in ("cold", "warm") else contender
                    spec = json.dumps([runner, kind, epochs])
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
        if args.each:  # the spread behind each median (this box moves single runs by ~25 %)
            for contender, times in walls.items():
                print(f"      {contender:<9} " + " ".join(f"{t:.2f}" for t in times))
        if "unrolled" in walls:
            unrolled = median(walls["unrolled"])
            print(
                f"  {'  against it unrolled (no while loop)':<42} {unrolled:>10.2f} {'':>7} "
                f"{unrolled / cold:>5.1f}x {'':>7} {unrolled / warm:>5.1f}x "
                f"{finals['unrolled']:>7.4f}{unit:2}"
            )
    print("\n  (last two columns: final loss for echo, test error for count)")


if __name__ == "__main__":
    main()
