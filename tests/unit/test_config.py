"""Presets, overrides and the one-line errors for bad input."""

from __future__ import annotations

import pytest

from rnntui.config import (
    Config,
    ConfigError,
    apply_overrides,
    describe_presets,
    load_file,
    load_preset,
    parse_override,
    preset_paths,
    save_preset,
    validate,
)
from tests.helpers import REPO

REQUIRED_PRESETS = {
    "echo-raw-2",
    "echo-raw-5",
    "echo-raw-10",
    "echo-rnn",
    "echo-gru",
    "echo-lstm",
    "echo-stacked-lstm",
    "count-lstm",
    "stacked-lstm-4-5",
}


def test_every_bundled_preset_loads_and_describes_itself():
    rows = {name: description for name, description, _ in describe_presets()}
    assert REQUIRED_PRESETS <= set(rows)
    for name in rows:
        config = load_preset(name)
        assert config.name == name
        assert len(config.description) > 20 and "broken" not in config.description
        assert validate(config) == []


def test_presets_directory_at_top_level_is_the_package_data():
    top = REPO / "presets"
    assert {p.stem for p in top.glob("*.toml")} == set(preset_paths())


def test_defaults_are_the_tutorial():
    config = Config()
    assert config.task.lags == [[3, 0.5], [8, -0.25]]
    assert (config.train.batch_size, config.train.num_steps) == (200, 5)
    assert config.train.optimizer == "adagrad" and config.train.learning_rate == 0.1


def test_save_and_load_round_trip(tmp_path):
    config = apply_overrides(
        load_preset("echo-lstm"), ["train.num_steps=7", "task.lags=[[2, 0.3]]"]
    )
    config.name, config.description = "mine", 'quotes " and \\ survive'
    path = save_preset(config, tmp_path / "mine.toml")
    assert load_file(path) == config


def test_saved_user_preset_is_listed_and_resolvable():
    config = load_preset("echo-raw-5")
    config.name = "my-echo"
    save_preset(config)
    assert "my-echo" in preset_paths()
    assert load_preset("my-echo").train.num_steps == 5


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("train.num_steps=10", "train.num_steps", 10),
        ("model.cell=lstm", "model.cell", "lstm"),
        ('model.cell="gru"', "model.cell", "gru"),
        ("train.xla=true", "train.xla", True),
        ("model.layers=[8, 8]", "model.layers", [8, 8]),
    ],
)
def test_parse_override(text, key, value):
    assert parse_override(text) == (key, value)


@pytest.mark.parametrize(
    ("document", "key", "fragment"),
    [
        ("[train]\nnum_steps = 0\n", "train.num_steps", "from 1 to 1000"),
        ("[train]\nnum_step = 5\n", "train.num_step", "did you mean 'train.num_steps'"),
        ("[train]\nnum_steps = 'five'\n", "train.num_steps", "not an integer"),
        ("[train]\nlearning_rate = -1.0\n", "train.learning_rate", "out of range"),
        ("[model]\ncell = 'transformer'\n", "model.cell", "one of raw_rnn, rnn, gru, lstm"),
        ("[train]\nbatch_size = 2000\n[task]\nsize = 1000\n", "train.batch_size", "task.size"),
        ("[task]\nkind = 'count'\ntrain_size = 1024\n", "task.train_size", "at most 1023"),
        ("[task]\nlags = [[3, 2.0]]\n", "task.lags", "effect -1..1"),
        ("[model]\nlayers = []\n", "model.layers", "layer sizes"),
        ("colour = 'red'\n", "colour", "known keys"),
        ("train = 3\n", "train", "table"),
    ],
)
def test_bad_documents_name_file_key_and_fix(tmp_path, document, key, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(document)
    with pytest.raises(ConfigError) as caught:
        load_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: ")
    assert fragment in message
    assert "\n" not in message


def test_malformed_toml_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[train\nepochs = 1\n")
    with pytest.raises(ConfigError, match=r"broken\.toml: malformed TOML"):
        load_file(path)


def test_unknown_preset_suggests_a_name():
    with pytest.raises(ConfigError, match="did you mean 'echo-raw-5'"):
        load_preset("echo-raw5")


def test_override_errors_name_the_flag():
    with pytest.raises(ConfigError, match=r"^--set: train\.epochs: "):
        apply_overrides(Config(), ["train.epochs=0"])
    with pytest.raises(ConfigError, match="section.key=value"):
        apply_overrides(Config(), ["epochs"])


def test_validate_lists_every_problem_without_raising():
    config = Config()
    config.train.num_steps = 0
    config.model.state_size = -3
    keys = {problem.key for problem in validate(config)}
    assert keys == {"train.num_steps", "model.state_size"}


def test_xla_reads_true_false_and_auto():
    assert Config().train.xla == "auto"
    assert apply_overrides(Config(), ["train.xla=true"]).train.xla == "on"
    assert apply_overrides(Config(), ["train.xla=false"]).train.xla == "off"
    assert apply_overrides(Config(), ["train.xla=auto"]).train.xla == "auto"
    with pytest.raises(ConfigError, match="one of auto, on, off"):
        apply_overrides(Config(), ["train.xla=sometimes"])
