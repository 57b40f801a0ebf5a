"""Issue 24 item 6: `rnntui train` prints no speed and no ETA until the speed is measured (the
first chunk's compile made a first line say '23 steps/s ETA 17:47:48' at ~2,000 steps/s)."""

from __future__ import annotations

import re

from tests.helpers import run_cli, sets


def test_the_first_progress_line_has_no_guessed_speed_and_the_last_has_the_measured_one(
    tmp_path,
):
    # 20,000 steps: a few seconds, past the half second the speed is measured over
    args = sets("task.size=2000000", "train.batch_size=20")
    result = run_cli("train", "echo-raw-5", *args, "--epochs", "1", "--runs-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if re.search(r"\] step [\d,]+/", line)]
    assert len(lines) >= 2, result.stderr
    assert lines[0].startswith("[") and "steps/s" not in lines[0] and "ETA" not in lines[0]
    assert "step 20,000/20,000" in lines[-1]
    speed = re.search(r"([\d,]+) steps/s  ETA ", lines[-1])
    assert speed and int(speed.group(1).replace(",", "")) > 100, lines[-1]
