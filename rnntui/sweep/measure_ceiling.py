"""`python -m rnntui.sweep.measure_ceiling [--json]`: measure this machine's two-process ceiling
now (two sweep workers, ~5 s with their imports), cache it beside the XLA cache and print it.
Its own module: measuring starts a `LocalPool`, whose module reads the ceiling (`ceiling.py`)."""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import asdict
from pathlib import Path

from rnntui.sweep.ceiling import PROCESSES, Ceiling, describe, save, setting
from rnntui.sweep.pool import LocalPool


def measure(log_dir: Path | None = None) -> Ceiling | None:
    """Start two sweep workers, measure the ceiling in them, stop them (~5 s with the imports).
    None if the workers could not start or a timing failed."""
    with tempfile.TemporaryDirectory(prefix="rnntui-ceiling-") as tmp:
        pool = LocalPool(PROCESSES, Path(log_dir or tmp), gpus=[])
        return pool.measure_ceiling()


def main(argv: list[str] | None = None) -> int:
    """Measure now, cache and print it."""
    parser = argparse.ArgumentParser(description="Measure this machine's two-process ceiling.")
    parser.add_argument("--json", action="store_true", help="print it as one JSON line")
    args = parser.parse_args(argv)
    ceiling = measure()
    if ceiling is None:
        print("rnntui: could not measure the ceiling (the workers failed; see above)")
        return 1
    if setting() != "off":
        save(ceiling)
    print(json.dumps(asdict(ceiling)) if args.json else describe(ceiling), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
