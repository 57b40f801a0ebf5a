"""Echo data for one epoch of 1M samples: rnntui's vectorized NumPy against the tutorial's loop.

The reference is the tutorial's own `gen_data` and `gen_batch` (seed 000), copied verbatim below
apart from the imports. Both sides are checked to follow the same rule: P(Y=1) given X_{t-3} and
X_{t-8}, measured on the generated data.

    python -m benchmarks.bench_data [--size 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from benchmarks._measure import machine
from rnntui.tasks.echo import EchoTask

# --- the tutorial's code (shared/seeds/000), unchanged but for the missing globals ---------------


def gen_data(size=1000000):
    X = np.array(np.random.choice(2, size=(size,)))  # noqa: N806
    Y = []  # noqa: N806
    for i in range(size):
        threshold = 0.5
        if X[i - 3] == 1:
            threshold += 0.5
        if X[i - 8] == 1:
            threshold -= 0.25
        if np.random.rand() > threshold:
            Y.append(0)
        else:
            Y.append(1)
    return X, np.array(Y)


def gen_batch(raw_data, batch_size, num_steps):
    raw_x, raw_y = raw_data
    data_length = len(raw_x)

    batch_partition_length = data_length // batch_size
    data_x = np.zeros([batch_size, batch_partition_length], dtype=np.int32)
    data_y = np.zeros([batch_size, batch_partition_length], dtype=np.int32)
    for i in range(batch_size):
        data_x[i] = raw_x[batch_partition_length * i : batch_partition_length * (i + 1)]
        data_y[i] = raw_y[batch_partition_length * i : batch_partition_length * (i + 1)]
    epoch_size = batch_partition_length // num_steps

    for i in range(epoch_size):
        x = data_x[:, i * num_steps : (i + 1) * num_steps]
        y = data_y[:, i * num_steps : (i + 1) * num_steps]
        yield (x, y)


# --- measurement ---------------------------------------------------------------------------------


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median wall seconds of `repeat` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def conditional(x: np.ndarray, y: np.ndarray) -> str:
    x, y = np.asarray(x), np.asarray(y)
    parts = []
    for lag in (3, 8):
        shifted = np.roll(x, lag)
        given_1, given_0 = y[shifted == 1].mean(), y[shifted == 0].mean()
        parts.append(f"P(Y=1 | X-{lag}=1) {given_1:.3f}, =0 {given_0:.3f}")
    return f"P(Y) {y.mean():.3f}; " + "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of the fast contenders")
    parser.add_argument("--reference-repeat", type=int, default=3, help="runs of the slow loop")
    args = parser.parse_args()
    size, batch, steps = args.size, 200, 5
    task = EchoTask(size=size, seed=0)

    gen_s, (x, y) = timed(lambda: task.generate(0), args.repeat)
    win_s, _ = timed(lambda: task.windows(0, batch, steps), args.repeat)
    copy_s, _ = timed(
        lambda: [np.ascontiguousarray(a) for a in task.windows(0, batch, steps)], args.repeat
    )
    np.random.seed(0)
    ref_s, (rx, ry) = timed(lambda: gen_data(size), args.reference_repeat)
    ref_batches_s, _ = timed(
        lambda: list(gen_batch(gen_data(size), batch, steps)), args.reference_repeat
    )

    print(f"Machine: {machine()}")
    print(f"Echo data, {size:,} samples (batch {batch}, num_steps {steps}); median wall times\n")
    rows = [
        ("rnntui EchoTask.generate (X, Y)", gen_s),
        ("rnntui generate + windows (views)", win_s),
        ("rnntui generate + windows, contiguous copy", copy_s),
        ("tutorial gen_data (Python loop)", ref_s),
        ("tutorial gen_data + every gen_batch window", ref_batches_s),
    ]
    print(f"  {'':<44} {'ms':>9} {'vs tutorial':>12}")
    for label, seconds in rows:
        print(f"  {label:<44} {seconds * 1e3:>9.1f} {ref_s / seconds:>11.0f}x")
    print("\nSame rule on both sides (measured on the generated data):")
    print(f"  rnntui   {conditional(x, y)}")
    print(f"  tutorial {conditional(rx, ry)}")


if __name__ == "__main__":
    main()
