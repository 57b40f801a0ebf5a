"""The real command line, in a subprocess: the contract users and scripts rely on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers import TINY_ARGS, run_cli


def test_help_lists_the_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("train", "presets", "inspect"):
        assert command in result.stdout


def test_presets_lists_names_and_descriptions():
    result = run_cli("presets")
    assert result.returncode == 0
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert "learns the 3-step echo only" in lines["echo-raw-5"]
    assert "count-lstm" in lines


def test_train_json_contract():
    result = run_cli("train", "echo-raw-5", *TINY_ARGS, "--epochs", "2", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("preset", "task", "cell", "epochs", "steps", "wall_s", "steps_per_s", "final_loss"):
        assert key in summary
    assert summary["preset"] == "echo-raw-5" and summary["task"] == "echo"
    assert summary["epochs"] == 2 and summary["steps"] == 2 * (20000 // 20 // 5)
    assert summary["baselines"]["nothing learned"] == pytest.approx(0.6616, abs=1e-4)
    assert 0.3 < summary["final_loss"] < 0.8
    assert "Traceback" not in result.stderr


def test_train_from_a_toml_path_with_progress(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "mine"\ndescription = "a count run"\n[task]\nkind = "count"\nbits = 5\n'
        'train_size = 20\n[model]\ncell = "gru"\nstate_size = 6\n'
        '[train]\nbatch_size = 10\nepochs = 3\noptimizer = "adam"\nlearning_rate = 0.01\n'
    )
    result = run_cli("train", str(path))
    assert result.returncode == 0, result.stderr
    assert "mine: count / gru, 3 epoch(s), 6 steps" in result.stdout
    assert "test error" in result.stdout
    assert "step 6/6" in result.stderr  # the progress line (non-tty: plain lines)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ["--set", "train.num_steps=0"],
            "--set: train.num_steps: 0 is out of range; use an integer from 1 to 1000",
        ),
        (["--set", "train.nums_steps=5"], "did you mean 'train.num_steps'"),
        (["--set", "model.cell=transformer"], "model.cell: 'transformer' is not allowed"),
        (["--set", "train.batch_size=5000", "--set", "task.size=1000"], "train.batch_size"),
        (["--set", "train.learning_rate=fast"], "train.learning_rate: 'fast' is not a number"),
    ],
)
def test_bad_overrides_exit_2_with_one_line(args, fragment):
    result = run_cli("train", "echo-raw-5", *args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and fragment in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_broken_preset_file_exits_2_naming_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[train]\nepochs = 'many'\n")
    result = run_cli("train", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"rnntui: {path}: train.epochs: 'many' is not an integer; use an integer from 1 to 1000000"
    )
    malformed = tmp_path / "malformed.toml"
    malformed.write_text("[train\n")
    result = run_cli("train", str(malformed))
    assert result.returncode == 2 and "malformed TOML" in result.stderr
    missing = run_cli("train", "no-such-preset")
    assert missing.returncode == 2 and "no preset named 'no-such-preset'" in missing.stderr


def lstm_numpy(x, h, c, kernel, recurrent, bias):
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    z = x @ kernel + h @ recurrent + bias
    i, f, g, o = np.split(z, 4)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return c, sigmoid(o) * np.tanh(c)


@pytest.mark.parametrize("text", ["3,2,2,3,2,2", "1,0;0,1;1,1"])
def test_inspect_json_rechecks_with_numpy(text):
    result = run_cli("inspect", "--input", text, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    kernel = np.array(data["kernel"], np.float64)
    recurrent = np.array(data["recurrent_kernel"], np.float64)
    bias = np.array(data["bias"], np.float64)
    units = recurrent.shape[0]
    h = c = np.zeros(units)
    for step in data["steps"]:
        c, h = lstm_numpy(np.array(step["x"], np.float64), h, c, kernel, recurrent, bias)
        assert np.max(np.abs(c - step["c"])) < 1e-5
        assert np.max(np.abs(h - step["h"])) < 1e-5
    assert len(data["steps"]) == len(text.split(";"))


def test_inspect_text_shows_gates_and_agreement():
    result = run_cli("inspect", "--units", "3")
    assert result.returncode == 0, result.stderr
    for gate in ("i", "f", "g", "o", "c", "h"):
        assert any(line.strip().startswith(gate + " ") for line in result.stdout.splitlines())
    assert "NumPy recomputation agrees" in result.stdout


def test_inspect_bad_input_is_one_line():
    result = run_cli("inspect", "--input", "1,2;3")
    assert result.returncode == 2
    assert result.stderr.startswith("rnntui: --input: ") and result.stderr.count("\n") == 1


def test_inspect_stacked_gives_the_tutorial_shape():
    result = run_cli("inspect", "--stacked", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["shape"] == [2, 3, 5]
    assert np.array(data["output"]).shape == (2, 3, 5)
    # both sequences start with the same timestep, so their first outputs agree
    np.testing.assert_allclose(data["output"][0][0], data["output"][1][0], atol=1e-6)


def test_a_device_the_machine_lacks_is_refused_in_one_line(tmp_path):
    result = run_cli("train", "echo-raw-5", "--device", "gpu:3", "--runs-dir", str(tmp_path))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("rnntui: train.device: gpu:3 asked for")
    assert list(tmp_path.iterdir()) == []  # nothing was made
    bad = run_cli("train", "echo-raw-5", "--set", "train.device=tpu", "--check")
    assert bad.returncode == 2 and "use auto, cpu, gpu or gpu:N" in bad.stderr
