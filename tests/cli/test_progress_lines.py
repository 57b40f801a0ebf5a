"""Issue 24 item 6: `rnntui train` prints no speed and no ETA until the speed is measured (the
first chunk's compile made a first line say '23 steps/s ETA 17:47:48' at ~2,000 steps/s)."""

from __future__ import annotations

import re

from tests.helpers import run_cli, sets


def test_no_progress_line_guesses_the_speed(tmp_path):
    # 20,000 steps: a few seconds; the summary line gives the run's real speed
    args = sets("task.size=2000000", "train.batch_size=20")
    result = run_cli("train", "echo-raw-5", *args, "--epochs", "1", "--runs-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if re.search(r"\] step [\d,]+/", line)]
    assert len(lines) >= 2, result.stderr
    assert "steps/s" not in lines[0] and "ETA" not in lines[0]  # the first chunk: not measured
    assert "step 20,000/20,000" in lines[-1]
    real = re.search(
        r"20,000 steps in [\d.]+ s \(([\d,]+) steps/s\)", result.stdout + result.stderr
    )
    assert real, result.stdout
    for line in lines:  # a speed shown is a measured one, not the compile's '23 steps/s'
        if shown := re.search(r"([\d,]+) steps/s  ETA ", line):
            assert int(shown.group(1).replace(",", "")) > int(real.group(1).replace(",", "")) / 3
