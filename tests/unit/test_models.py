"""Models: shapes, state carried across windows, seeding, pinned weights, graph/XLA use."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from rnntui.config import ModelConfig
from rnntui.models.build import build_model
from rnntui.runtime.tf_import import import_tf

tf = import_tf()

KINDS = ["raw_rnn", "rnn", "gru", "lstm", "stacked"]
BATCH, STEPS, INPUT_DIM, CLASSES = 3, 4, 2, 3


def make(cell: str, many_to_many: bool = True, seed: int = 0, **model):
    return build_model(ModelConfig(cell=cell, **model), CLASSES, INPUT_DIM, many_to_many, seed)


def sequence(steps: int = STEPS, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(BATCH, steps, INPUT_DIM)).astype(np.float32)


def test_importing_models_does_not_load_tensorflow():
    code = (
        "import sys, rnntui.models, rnntui.analysis.lstm_step, rnntui.runtime.tf_import; "
        "bad = [m for m in ('tensorflow', 'keras', 'textual') if m in sys.modules]; "
        "sys.exit(str(bad) if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("cell", KINDS)
def test_output_and_state_shapes(cell):
    for many_to_many, logits_shape in ((True, (BATCH, STEPS, CLASSES)), (False, (BATCH, CLASSES))):
        model = make(cell, many_to_many)
        state = model.initial_state(BATCH)
        logits, new_state = model(sequence(), state)
        assert tuple(logits.shape) == logits_shape
        assert [tuple(s.shape) for s in new_state] == [tuple(s.shape) for s in state]
    expected_states = {
        "raw_rnn": [4],
        "rnn": [4],
        "gru": [4],
        "lstm": [4, 4],
        "stacked": [4, 4, 5, 5],
    }
    assert [int(s.shape[1]) for s in state] == expected_states[cell]
    assert all(float(tf.reduce_max(tf.abs(s))) == 0.0 for s in state)


@pytest.mark.parametrize("cell", ["raw_rnn", "gru", "lstm", "stacked"])
def test_state_carries_across_windows(cell):
    """One 2T sequence at once == two T windows with the final state passed on (truncated BPTT)."""
    model = make(cell)
    x = sequence(steps=2 * STEPS)
    whole, whole_state = model(x, model.initial_state(BATCH))
    first, state = model(x[:, :STEPS], model.initial_state(BATCH))
    second, split_state = model(x[:, STEPS:], state)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-5)
    for a, b in zip(split_state, whole_state, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("cell", KINDS)
def test_weights_follow_the_seed(cell):
    a, b, c = make(cell, seed=3), make(cell, seed=3), make(cell, seed=4)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    pairs = zip(a.get_weights(), c.get_weights(), strict=True)
    assert any(not np.array_equal(wa, wc) for wa, wc in pairs)


def test_raw_rnn_with_pinned_weights_gives_hand_computed_numbers():
    model = build_model(ModelConfig(cell="raw_rnn", state_size=4), 2, 2, True, seed=0)
    model.set_weights([np.full((6, 4), 0.01), np.zeros(4), np.full((4, 2), 0.01), [0.1, -0.2]])
    x = np.array([[[1.0, 0.0], [0.0, 1.0]]], np.float32)  # one-hot 0 then 1
    logits, (state,) = model(x, model.initial_state(1))
    h1 = math.tanh(0.01)  # every unit: one input weight of 0.01, zero state
    h2 = math.tanh(0.01 + 4 * 0.01 * h1)  # input weight + four recurrent weights
    assert h1 == pytest.approx(0.00999966667, abs=1e-10)
    expected = [[[4 * 0.01 * h + 0.1, 4 * 0.01 * h - 0.2] for h in (h1, h2)]]
    np.testing.assert_allclose(logits, expected, atol=1e-7)
    np.testing.assert_allclose(state, [[h2] * 4], atol=1e-7)


@pytest.mark.parametrize("cell", KINDS)
def test_get_set_weights_round_trip(cell):
    source, target = make(cell, seed=0), make(cell, seed=1)
    target.set_weights(source.get_weights())
    x, state = sequence(), source.initial_state(BATCH)
    np.testing.assert_allclose(target(x, state)[0], source(x, state)[0], atol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        target.set_weights([w[..., :1] for w in source.get_weights()])
    with pytest.raises(ValueError, match="weight arrays"):
        target.set_weights(source.get_weights()[:-1])


@pytest.mark.parametrize("cell", KINDS)
def test_every_variable_gets_a_gradient(cell):
    model = make(cell, many_to_many=False)
    with tf.GradientTape() as tape:
        logits, _ = model(sequence(), model.initial_state(BATCH))
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits([0, 1, 2], logits))
    grads = tape.gradient(loss, model.trainable_variables)
    assert all(isinstance(v, tf.Variable) for v in model.trainable_variables)
    assert all(g is not None and float(tf.reduce_sum(tf.abs(g))) > 0 for g in grads)


@pytest.mark.parametrize(("cell", "xla"), [("raw_rnn", True), ("lstm", False), ("stacked", True)])
def test_runs_in_a_tf_range_loop_carrying_state(cell, xla):
    """What the trainer does: many windows per compiled call, the state carried in-graph."""
    model = make(cell)
    windows = np.stack([sequence(seed=k) for k in range(3)])

    @tf.function(jit_compile=xla)
    def run(windows, state):
        logits = tf.zeros([BATCH, STEPS, CLASSES])
        for k in tf.range(tf.shape(windows)[0]):
            logits, state = model(windows[k], state, xla=xla)  # the LSTM's XLA-able form
        return logits, state

    logits, state = run(tf.constant(windows), model.initial_state(BATCH))
    expected_state = model.initial_state(BATCH)
    for window in windows:
        expected, expected_state = model(window, expected_state)
    np.testing.assert_allclose(logits, expected, atol=1e-5)
    for a, b in zip(state, expected_state, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("many_to_many", [True, False])
def test_unknown_sequence_length_uses_a_graph_loop(many_to_many):
    model = make("lstm", many_to_many)
    spec = tf.TensorSpec([None, None, INPUT_DIM], tf.float32)
    state_spec = [tf.TensorSpec([None, 4], tf.float32)] * 2
    run = tf.function(model.__call__, input_signature=[spec, state_spec])
    x, state = sequence(), model.initial_state(BATCH)
    got, got_state = run(x, state)
    want, want_state = model(x, state)
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(got_state[1], want_state[1], atol=1e-6)


def test_lstm_weights_only_for_lstm_models():
    assert make("gru").lstm_weights() is None
    assert make("raw_rnn").lstm_weights() is None
    assert make("stacked", stacked_cell="gru").lstm_weights() is None
    for model in (make("lstm"), make("stacked")):  # stacked: the first (4-unit) layer
        kernel, recurrent, bias = model.lstm_weights()
        assert (kernel.shape, recurrent.shape, bias.shape) == ((2, 16), (4, 16), (16,))
        np.testing.assert_array_equal(kernel, model.get_weights()[0])
    # Keras's unit_forget_bias: the forget gate (second block) starts at bias 1.
    np.testing.assert_array_equal(make("lstm").lstm_weights()[2], [0] * 4 + [1] * 4 + [0] * 8)


def test_stacked_uses_the_configured_layers_and_cell():
    model = make("stacked", layers=[3, 2, 5], stacked_cell="gru")
    assert model.state_sizes == (3, 2, 5)
    logits, state = model(sequence(), model.initial_state(BATCH))
    assert tuple(logits.shape) == (BATCH, STEPS, CLASSES)
    assert [int(s.shape[1]) for s in state] == [3, 2, 5]


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm", "stacked"])
@pytest.mark.parametrize("many_to_many", [True, False])
def test_the_fused_step_math_is_the_keras_cells_own(cell, many_to_many):
    """Keras cells own the weights; our loop writes their math out (input projections per
    window, a hand-written recurrent gradient): outputs, states and gradients must agree."""
    model = make(cell, many_to_many, state_size=5, layers=[4, 6], stacked_cell="gru")
    x = sequence(7)
    start = [s + 0.1 for s in model.initial_state(BATCH)]
    per_cell = 2 if model.kind == "lstm" else 1

    def keras_loop():
        nested = [list(start[i : i + per_cell]) for i in range(0, len(start), per_cell)]
        state = nested if model.stacked else nested[0]
        outputs = []
        for t in range(7):
            output, state = model.cell(x[:, t], state)
            outputs.append(output)
        logits = model.head(tf.stack(outputs, 1) if many_to_many else outputs[-1])
        return logits, [s for g in state for s in g] if model.stacked else list(state)

    with tf.GradientTape(persistent=True) as tape:
        ours, our_state = model(x, start)
        theirs, their_state = keras_loop()
        our_loss, their_loss = tf.reduce_sum(ours**2), tf.reduce_sum(theirs**2)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-6)
    for a, b in zip(our_state, their_state, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)
    variables = model.trainable_variables
    for a, b in zip(
        tape.gradient(our_loss, variables), tape.gradient(their_loss, variables), strict=True
    ):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


@pytest.mark.parametrize(
    ("cell", "xla"),
    [("raw_rnn", False), ("rnn", False), ("lstm", False), ("lstm", True), ("stacked", False)],
)
@pytest.mark.parametrize("many_to_many", [True, False])
def test_hand_written_window_gradients_match_the_step_by_step_ones(cell, xla, many_to_many):
    """The window paths (the LSTM in TensorFlow's fused kernels, or with its hand-written
    backward pass for XLA; the raw cell's split kernel) give the gradients TensorFlow derives
    for the plain one-step-at-a-time loop: for every weight and the starting state, with the
    loss reading the outputs and the final state both."""
    model = make(cell, many_to_many, state_size=5, layers=[4, 6], stacked_cell="lstm")
    x = tf.constant(sequence(7))
    start = [tf.Variable(s + 0.1 * (k + 1)) for k, s in enumerate(model.initial_state(BATCH))]

    def loss(logits, state):
        return tf.reduce_sum(logits**2) + tf.reduce_sum(tf.sin(state[-1])) + tf.reduce_sum(state[0])

    def step_by_step():
        state = list(start)
        outputs = []
        for t in range(7):
            output, state = model.step(x[:, t], state)
            outputs.append(output)
        return model.head(tf.stack(outputs, 1) if many_to_many else outputs[-1]), state

    watched = [*model.trainable_variables, *start]
    with tf.GradientTape(persistent=True) as tape:
        ours, our_state = model(x, list(start), xla=xla)
        theirs, their_state = step_by_step()
        our_loss, their_loss = loss(ours, our_state), loss(theirs, their_state)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-6)
    for a, b in zip(our_state, their_state, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)
    ours_grads = tape.gradient(our_loss, watched)
    theirs_grads = tape.gradient(their_loss, watched)
    for a, b in zip(ours_grads, theirs_grads, strict=True):
        assert a is not None and float(tf.reduce_sum(tf.abs(a))) > 0
        np.testing.assert_allclose(tf.convert_to_tensor(a).numpy(), b.numpy(), atol=1e-5)


@pytest.mark.parametrize("xla", [False, True])
@pytest.mark.parametrize(("cell", "reads"), [("lstm", "c"), ("lstm", "h"), ("raw_rnn", "h")])
def test_a_window_passes_no_gradient_where_nothing_reads_the_output(xla, cell, reads):
    """Only the final c or h feeds the loss (a window whose outputs are dropped): still right."""
    model = make(cell, True, state_size=5)
    x = tf.constant(sequence(6))
    which = {"h": 0, "c": 1}[reads]
    with tf.GradientTape(persistent=True) as tape:
        _, state = model(x, model.initial_state(BATCH), xla=xla)
        ours = tf.reduce_sum(state[which])
        steps = model.initial_state(BATCH)
        for t in range(6):
            _, steps = model.step(x[:, t], steps)
        theirs = tf.reduce_sum(steps[which])
    recurrent_weights = model.trainable_variables[:2]  # the head gets no gradient here
    for a, b in zip(
        tape.gradient(ours, recurrent_weights),
        tape.gradient(theirs, recurrent_weights),
        strict=True,
    ):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


def test_small_lstms_run_in_fused_kernels_except_under_xla():
    """The graph executor gets TensorFlow's fused LSTM ops for small layers; XLA, which has no
    kernel for them, and layers too wide for them to pay, the written-out window."""

    def op_types(model, xla: bool) -> list[str]:
        spec = tf.TensorSpec([BATCH, STEPS, INPUT_DIM], tf.float32)
        states = [tf.TensorSpec([BATCH, size], tf.float32) for size in model.state_sizes]
        traced = tf.function(lambda x, state: model(x, state, xla=xla), autograph=False)
        graph = traced.get_concrete_function(spec, states).graph
        return [op.type for op in graph.get_operations()]

    small = make("stacked")
    assert op_types(small, False).count("BlockLSTMV2") == 2  # one a layer, every step in it
    assert "BlockLSTMV2" not in op_types(small, True)
    wide = make("lstm", state_size=256)  # 3 x (2 + 256) x 1024 multiply-adds a step
    assert "BlockLSTMV2" not in op_types(wide, False)
