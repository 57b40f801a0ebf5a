"""Reading a big text: load time and peak memory of the text task's corpus loader, 100 MB files.

Two generated files of 100 MB: plain ASCII English-like words (the common case: read as bytes,
no decoding), and the same with about 3 % non-ASCII characters (accented letters, CJK, emoji),
which go through UTF-8 decoding to code points in 16 MB pieces. Each file is loaded in a fresh
child process: `load` is the corpus loader alone (read, check, count, vocabulary, ids), on a warm
page cache; `baselines` the unigram and bigram entropies over the training part; `peak RSS` the
child's whole peak (Python and NumPy included: `idle` is a child that loads nothing).

Then training on the 100 MB ASCII file: `rnntui train text-lstm` with `task.path` set to it, stopped
with SIGINT after `--train-s` seconds (a checkpoint is written); its peak RSS is the whole run's
(TensorFlow, the text's ids, the model).

    python -m benchmarks.bench_text            # 100 MB
    python -m benchmarks.bench_text --mb 20
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._measure import machine, python, run_child

WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her she there been one all we their has would when if so "
    "no will can more other what time up about than into only some could them see then two"
).split()
EXTRA = list("éèàüößçñøåæœ") + list("漢字文章语言日本") + ["🙂", "🚀", "ü", "é"]


def make_text(path: Path, megabytes: int, non_ascii: float, seed: int = 0) -> None:
    """`megabytes` of words and punctuation; `non_ascii` of the words get a non-ASCII letter."""
    rng = np.random.default_rng(seed)
    target = megabytes * 1_000_000
    words = np.array(WORDS + [w[:-1] + e for w in WORDS[:40] for e in EXTRA[:1]], dtype=object)
    with open(path, "w", encoding="utf-8") as handle:
        written = 0
        while written < target:
            chosen = rng.choice(len(WORDS), size=200_000)
            pieces = words[chosen].tolist()
            if non_ascii:
                marks = np.flatnonzero(rng.random(len(pieces)) < non_ascii)
                extra = rng.choice(len(EXTRA), size=len(marks))
                for i, e in zip(marks.tolist(), extra.tolist(), strict=True):
                    pieces[i] = pieces[i] + EXTRA[e]
            text = " ".join(pieces).replace(" the ", ".\nThe ", 1000)
            data = text.encode("utf-8")[: target - written]
            data = data.decode("utf-8", errors="ignore").encode("utf-8")  # whole characters
            handle.write(data.decode("utf-8"))
            written += len(data)


def worker(path: str) -> dict:
    import numpy  # noqa: F401 (what every loader pays; counted in "idle" too)

    if not path:
        return {}
    from rnntui.config import TaskConfig
    from rnntui.tasks.text import TextTask, load_corpus

    config = TaskConfig(kind="text", path=path, max_chars=0)
    started = time.perf_counter()
    corpus = load_corpus(config)
    loaded = time.perf_counter() - started
    task = TextTask(config)  # the cache: no second read
    started = time.perf_counter()
    baselines = task.baselines()
    entropy_s = time.perf_counter() - started
    return {
        "load_s": loaded,
        "baselines_s": entropy_s,
        "characters": len(corpus.ids),
        "vocabulary": len(corpus.vocabulary.symbols),
        "dtype": str(corpus.ids.dtype),
        "bigram": baselines[1].value,
    }


def train_briefly(path: Path, runs: Path, seconds: float) -> str:
    """`rnntui train text-lstm` on `path`, stopped by SIGINT after `seconds`: its peak RSS."""
    command = [python(), "-m", "rnntui", "train", "text-lstm", "--json", "--runs-dir", str(runs)]
    command += ["--set", f"task.path={path}", "--set", "task.max_chars=0"]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    time.sleep(seconds)
    child.send_signal(signal.SIGINT)
    _, status, usage = os.wait4(child.pid, 0)
    out = child.stdout.read() if child.stdout else ""
    summary = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    chars = summary.get("steps", 0) * 32 * 50
    return (
        f"{summary.get('steps', 0):,} steps ({chars:,} characters) in "
        f"{time.perf_counter() - started:.0f} s, "
        f"exit {os.waitstatus_to_exitcode(status)}, peak RSS {usage.ru_maxrss / 1024:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=100, help="file size in MB")
    parser.add_argument("--repeat", type=int, default=3, help="loads per file (median)")
    parser.add_argument("--train-s", type=float, default=60, help="seconds of training (0: none)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker)))
        return

    print(f"Machine: {machine()}\n")
    print(
        f"  {'file':<34} {'chars':>12} {'vocab':>5} {'ids':>6} {'load s':>7} "
        f"{'baselines s':>11} {'peak RSS MB':>11} {'others':>6}"
    )
    idle = run_child([python(), "-m", "benchmarks.bench_text", "--worker", ""])
    print(f"  {'idle child (Python + NumPy)':<34} {'':>12} {'':>5} {'':>6} {'':>7} {'':>11} "
          f"{idle.peak_rss_mb:>11.0f}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="rnntui-bench-text-") as folder:
        for label, share in (
            (f"{args.mb} MB ASCII", 0.0),
            (f"{args.mb} MB UTF-8, 3 % non-ASCII", 0.03),
        ):
            path = Path(folder) / "text.txt"
            make_text(path, args.mb, share)
            path.read_bytes()  # warm the page cache: the figure is the loader, not the disk
            runs = []
            for _ in range(args.repeat):
                child = run_child([python(), "-m", "benchmarks.bench_text", "--worker", str(path)])
                if child.returncode != 0:
                    raise SystemExit(f"{label} failed:\n{child.stderr[-3000:]}")
                runs.append((child.last_json(), child))
            runs.sort(key=lambda pair: pair[0]["load_s"])
            result, child = runs[len(runs) // 2]
            print(
                f"  {label:<34} {result['characters']:>12,} {result['vocabulary']:>5} "
                f"{result['dtype']:>6} {result['load_s']:>7.2f} {result['baselines_s']:>11.2f} "
                f"{child.peak_rss_mb:>11.0f} {child.others_cores:>6.2f}"
            )
            if share == 0.0 and args.train_s > 0:
                trained = train_briefly(path, Path(folder) / "runs", args.train_s)
                print(f"  {'training text-lstm on it':<34} {trained}")


if __name__ == "__main__":
    main()
