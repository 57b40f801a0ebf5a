"""Does 2-step truncation really learn nothing? The tutorial's TF1 loop and rnntui, seed by seed.

Prints the final loss (mean of the last 10 % of one epoch of 1M) for num_steps 2 and 5, raw RNN,
state 4, Adagrad 0.1, on the same data for both. The analytic levels: 0.6616 (nothing), 0.5192
(lag 3), 0.4545 (lags 3+8).
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.references import train_tf1_loop
from rnntui.config import apply_overrides, load_preset
from rnntui.engine.trainer import Trainer
from rnntui.tasks.echo import EchoTask


def tail(losses: list[float]) -> float:
    return float(np.mean(losses[-max(1, len(losses) // 10) :]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    print(f"{'num_steps':>9}  {'seed':>4}  {'TF1 loop':>9}  {'rnntui':>9}")
    for num_steps in (2, 5):
        for seed in range(args.seeds):
            xs, ys = EchoTask(seed=seed).windows(0, 200, num_steps)
            tf1 = train_tf1_loop(
                np.ascontiguousarray(xs), np.ascontiguousarray(ys), seed=seed
            ).losses
            config = apply_overrides(
                load_preset("echo-raw-5"), [f"train.num_steps={num_steps}", f"train.seed={seed}"]
            )
            trainer = Trainer(config)
            trainer.run()
            print(f"{num_steps:>9}  {seed:>4}  {tail(tf1):>9.4f}  {tail(trainer.losses):>9.4f}")


if __name__ == "__main__":
    main()
