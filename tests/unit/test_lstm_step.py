"""Inspector: the LSTM equations with pinned weights, agreement with Keras, input parsing."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from rnntui.analysis.lstm_gates import Inspection, lstm_step_numpy, parse_inputs
from rnntui.analysis.lstm_step import inspect_lstm, stacked_lstm_demo
from rnntui.config import ModelConfig
from rnntui.models.build import build_model


def pinned_weights(units: int = 2, input_dim: int = 2):
    """Like Keras's own tests: Constant weights, plus Keras's forget-gate bias of 1."""
    kernel = np.full((input_dim, 4 * units), 0.1)
    recurrent = np.full((units, 4 * units), 0.2)
    bias = np.concatenate([np.zeros(units), np.ones(units), np.zeros(2 * units)])
    return kernel, recurrent, bias


# x = [1, 2] from zero state: every pre-activation is 0.1 * (1 + 2) = 0.3 (forget: 1.3).
SIG_03, SIG_13, TANH_03 = 0.574442516811659, 0.7858349830425586, 0.2913126124515909
C1, H1 = 0.16734235027567132, 0.09524118849708932  # c = i*g; h = o*tanh(c)
# then x = [0, 1]: pre-activation 0.1 + 0.2 * (h1 + h1)
C2, H2 = 0.2000760739288009, 0.10553013509946484


def test_lstm_equations_with_pinned_weights():
    zeros = np.zeros((1, 2))
    out = lstm_step_numpy([[1.0, 2.0]], zeros, zeros, *pinned_weights())
    for name, value in {"i": SIG_03, "f": SIG_13, "g": TANH_03, "o": SIG_03}.items():
        np.testing.assert_allclose(out[name], [[value, value]], rtol=1e-12)
    np.testing.assert_allclose(out["c"], [[C1, C1]], rtol=1e-12)
    np.testing.assert_allclose(out["h"], [[H1, H1]], rtol=1e-12)
    out = lstm_step_numpy([[0.0, 1.0]], out["h"], out["c"], *pinned_weights())
    np.testing.assert_allclose(out["c"], [[C2, C2]], rtol=1e-12)
    np.testing.assert_allclose(out["h"], [[H2, H2]], rtol=1e-12)


def test_keras_cell_with_pinned_weights_matches_the_hand_numbers():
    result = inspect_lstm([[1, 2], [0, 1]], weights=pinned_weights())
    assert result.units == 2
    first, second = result.steps
    assert first.i == pytest.approx((SIG_03,) * 2, abs=1e-6)
    assert first.f == pytest.approx((SIG_13,) * 2, abs=1e-6)
    assert first.g == pytest.approx((TANH_03,) * 2, abs=1e-6)
    assert first.c == pytest.approx((C1,) * 2, abs=1e-6)
    assert first.h == pytest.approx((H1,) * 2, abs=1e-6)
    assert second.c == pytest.approx((C2,) * 2, abs=1e-6)
    assert second.h == pytest.approx((H2,) * 2, abs=1e-6)
    assert result.bias == (0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0)


def test_seed_003_single_step_agrees_with_numpy():
    result = inspect_lstm([[3, 2, 2, 3, 2, 2]], units=4, seed=0)
    assert isinstance(result, Inspection)
    (step,) = result.steps
    assert step.x == (3.0, 2.0, 2.0, 3.0, 2.0, 2.0)
    assert all(len(v) == 4 for v in (step.i, step.f, step.g, step.o, step.c, step.h))
    assert result.max_abs_diff < 1e-5
    assert step.c == pytest.approx(step.c_numpy, abs=1e-5)
    assert step.h == pytest.approx(step.h_numpy, abs=1e-5)
    # c and h really are the LSTM update of the reported gates.
    c = np.multiply(step.i, step.g)  # f * c_prev vanishes from zero state
    np.testing.assert_allclose(step.c, c, atol=1e-6)
    np.testing.assert_allclose(step.h, np.multiply(step.o, np.tanh(c)), atol=1e-6)
    assert np.shape(result.kernel) == (6, 16) and np.shape(result.recurrent_kernel) == (4, 16)
    as_json = json.loads(json.dumps(result.to_dict()))
    assert as_json["steps"][0]["h"] == list(step.h) and as_json["units"] == 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.units = 5  # type: ignore[misc]


def test_multi_step_sequence_is_deterministic_and_agrees():
    inputs = parse_inputs("1,0; 0,1; 1,1; 0,0; 5,-3")
    a, b = inspect_lstm(inputs, units=3, seed=7), inspect_lstm(inputs, units=3, seed=7)
    assert len(a.steps) == 5 and a.units == 3
    assert a == b
    assert a.max_abs_diff < 1e-5
    assert a.steps[-1].h != inspect_lstm(inputs, units=3, seed=8).steps[-1].h


def test_inspecting_a_model_s_trained_weights_replays_the_model():
    model = build_model(ModelConfig(cell="lstm", state_size=4), 3, 2, False, seed=5)
    x = np.array([[[1, 0], [0, 1], [1, 1]]], np.float32)
    _, (h, c) = model(x, model.initial_state(1))
    result = inspect_lstm(x[0].tolist(), weights=model.lstm_weights())
    assert result.units == 4
    np.testing.assert_allclose(result.steps[-1].h, h[0], atol=1e-6)
    np.testing.assert_allclose(result.steps[-1].c, c[0], atol=1e-6)
    with pytest.raises(ValueError, match="takes 2 values per timestep"):
        inspect_lstm([[1, 2, 3]], weights=model.lstm_weights())


def test_stacked_demo_shape():
    out = stacked_lstm_demo(seed=0)
    assert out.shape == (2, 3, 5)
    np.testing.assert_array_equal(out, stacked_lstm_demo(seed=0))
    # The first timestep of both sequences is the same input, so the same output (as in seed 003).
    np.testing.assert_allclose(out[0, 0], out[1, 0], atol=1e-7)


def test_parse_inputs():
    assert parse_inputs("3,2,2,3,2,2") == [[3, 2, 2, 3, 2, 2]]
    assert parse_inputs("1,0;0,1;1,1") == [[1, 0], [0, 1], [1, 1]]
    assert parse_inputs(" 1, 0 ;\n0 1; -1.5,2e-1 ;") == [[1, 0], [0, 1], [-1.5, 0.2]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no input"),
        (" ; \n", "no input"),
        ("1,0;0", "timestep 2 has 1 values but timestep 1 has 2"),
        ("1,x,3", "'x' is not a number"),
        ("1,,3", "empty value"),
        ("1,inf", "not a finite number"),
    ],
)
def test_parse_inputs_errors(text, message):
    with pytest.raises(ValueError, match=message) as info:
        parse_inputs(text)
    assert "\n" not in str(info.value)


def test_inspect_rejects_bad_arguments():
    with pytest.raises(ValueError, match="same number"):
        inspect_lstm([[1, 2], [3]])
    with pytest.raises(ValueError, match="no input"):
        inspect_lstm([])
    with pytest.raises(ValueError, match="units"):
        inspect_lstm([[1.0]], units=0)
