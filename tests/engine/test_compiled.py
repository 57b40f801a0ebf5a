"""The compiled chunk: speed settings (XLA, padding, chunk size) never change the math."""

from __future__ import annotations

import numpy as np
import pytest

from rnntui.config import Config, apply_overrides, load_preset
from rnntui.engine import compiled
from rnntui.engine.compiled import CompiledSteps, use_xla, windows_per_call
from rnntui.engine.trainer import Trainer
from rnntui.tasks.build import make_task
from tests.helpers import tiny

# 12,000 samples: 120 windows of 20 x 5 an epoch; chunk 0: the engine chooses the call size
SMALL = {"size": 12_000, "chunk": 0}


def run_windows(config: Config, sizes: list[int]) -> tuple[CompiledSteps, list[float], list]:
    """Feed the epoch's first sum(sizes) windows in calls of the given sizes."""
    task = make_task(config.task, config.train.seed)
    xs, ys = task.windows(0, config.train.batch_size, config.train.num_steps)
    steps = CompiledSteps(config, task)
    state, losses, begin = steps.initial_state(), [], 0
    for size in sizes:
        chunk_losses, state = steps.train_chunk(
            xs[begin : begin + size], ys[begin : begin + size], state
        )
        losses += chunk_losses
        begin += size
    return steps, losses, state


@pytest.mark.parametrize("cell", ["raw_rnn", "gru", "lstm"])
def test_xla_and_a_padded_last_chunk_match_the_graph_executor(cell):
    sizes = [16, 16, 5]  # the last call is short: XLA pads it to 16 rows and runs only 5
    graph_steps, graph, graph_state = run_windows(
        tiny(f"model.cell={cell}", "train.chunk=16", **SMALL), sizes
    )
    xla_steps, xla, xla_state = run_windows(
        tiny(f"model.cell={cell}", "train.chunk=16", "train.xla=true", **SMALL), sizes
    )
    assert xla_steps.xla and not graph_steps.xla
    assert len(xla) == len(graph) == sum(sizes)
    np.testing.assert_allclose(xla, graph, rtol=1e-4, atol=1e-5)
    for a, b in zip(xla_state, graph_state, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for a, b in zip(xla_steps.model.get_weights(), graph_steps.model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_xla_compiles_one_shape_per_run():
    steps, _, _ = run_windows(tiny("train.chunk=8", "train.xla=true", **SMALL), [8])
    assert steps.traces == 1
    xs, ys = steps.task.windows(0, 20, 5)
    state = steps.initial_state()
    for size in (8, 3, 1):
        steps.train_chunk(xs[:size], ys[:size], state)
    assert steps.traces == 1  # shorter calls were padded, not recompiled


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_chunking_does_not_change_the_math_for_keras_cells(cell):
    _, whole, _ = run_windows(tiny(f"model.cell={cell}", "train.chunk=40", **SMALL), [40])
    _, pieces, _ = run_windows(tiny(f"model.cell={cell}", "train.chunk=7", **SMALL), [7] * 5 + [5])
    np.testing.assert_allclose(whole, pieces, rtol=1e-4, atol=1e-5)


def test_xla_auto_turns_on_for_long_runs_only():
    task = make_task(tiny(**SMALL).task, 0)  # 12000 / 20 / 5 = 120 windows an epoch
    short = tiny("train.epochs=2", **SMALL)
    long = tiny(f"train.epochs={compiled.XLA_MIN_WINDOWS // 120 + 1}", **SMALL)
    for config in (short, long):
        config.train.xla = "auto"  # the config may not accept "auto" yet; the engine does
    assert not use_xla(short, task)
    assert use_xla(long, task)
    few_per_call = tiny(f"train.epochs={compiled.XLA_MIN_WINDOWS}", "train.chunk=4", **SMALL)
    few_per_call.train.xla = "auto"
    assert not use_xla(few_per_call, task)  # thousands of windows, but 4 a call
    assert use_xla(tiny("train.xla=true", **SMALL), task)
    assert not use_xla(tiny("train.xla=false", **SMALL), task)


def test_calls_of_small_windows_span_an_epoch_under_xla_only():
    small = tiny(**SMALL)  # 20 x 5 x 4: a small window
    assert windows_per_call(small, xla=True) == compiled.XLA_SMALL_CHUNK
    assert windows_per_call(small, xla=False) == compiled.DEFAULT_CHUNK
    wide = tiny("model.state_size=256", **SMALL)  # 20 x 5 x 256: calls would take seconds
    assert windows_per_call(wide, xla=True) == compiled.DEFAULT_CHUNK
    assert (
        windows_per_call(tiny("train.chunk=7", **SMALL), xla=True) == 7
    )  # the user's choice stands
    task = make_task(small.task, 0)
    steps = CompiledSteps(tiny("train.xla=true", **SMALL), task)
    assert steps.chunk == compiled.XLA_SMALL_CHUNK
    xs, ys = task.windows(0, 20, 5)  # 120 windows: one call, padded to the epoch
    losses, _ = steps.train_chunk(xs, ys, steps.initial_state())
    assert len(losses) == 120 and steps.traces == 1
    # the program's shape is the epoch's 120 windows, not the chunk's 1,000: a shorter call is
    # padded to it, a longer one (121 windows) needs another program
    steps.train_chunk(xs[:60], ys[:60], steps.initial_state())
    assert steps.traces == 1
    longer = [np.concatenate([a, a[:1]]) for a in (xs, ys)]
    steps.train_chunk(*longer, steps.initial_state())
    assert steps.traces == 2


@pytest.mark.parametrize(
    ("name", "settings"),
    [("adam", {}), ("adagrad", {"initial_accumulator_value": 0.1}), ("sgd", {}), ("rmsprop", {})],
)
def test_fused_updates_do_what_the_keras_optimizer_does(name, settings):
    """The fused kernels update the Keras optimizer's own variables as its apply_gradients
    would: the same weights, slots and iteration count after several steps, inside a graph."""
    import keras

    from rnntui.engine.fused_updates import apply_gradients, fused_kind
    from rnntui.runtime.tf_import import import_tf

    tf = import_tf()
    cls = {"adam": "Adam", "adagrad": "Adagrad", "sgd": "SGD", "rmsprop": "RMSprop"}[name]
    rng = np.random.default_rng(0)
    start = [rng.normal(size=shape).astype(np.float32) for shape in ((3, 4), (4,))]
    grads = [[rng.normal(size=w.shape).astype(np.float32) for w in start] for _ in range(5)]

    def train(fused: bool):
        variables = [tf.Variable(w) for w in start]
        optimizer = getattr(keras.optimizers, cls)(0.05, **settings)
        optimizer.build(variables)

        @tf.function(autograph=False)
        def step(g0, g1):
            if fused:
                apply_gradients(optimizer, [g0, g1], variables)
            else:
                optimizer.apply_gradients(zip([g0, g1], variables, strict=True))

        for g in grads:
            step(*g)
        return [v.numpy() for v in variables], [np.asarray(v) for v in optimizer.variables]

    assert (fused_kind(getattr(keras.optimizers, cls)(0.1)) is None) == (name == "rmsprop")
    (ours, our_slots), (theirs, their_slots) = train(True), train(False)
    for a, b in zip(ours + our_slots, theirs + their_slots, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert int(our_slots[0]) == 5  # iterations, which Adam's bias correction reads


def test_a_sparse_gradient_with_repeated_ids_updates_as_keras_does():
    """An embedding's gradient (IndexedSlices, the same id several times in a window) takes
    Keras' own update, whose Adam differs from the dense kernel's when ids repeat."""
    import keras

    from rnntui.engine.fused_updates import apply_gradients
    from rnntui.runtime.tf_import import import_tf

    tf = import_tf()
    start = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    ids = [[0, 5, 5, 5], [1, 5, 2, 2], [5, 5, 5, 9]]

    def train(ours: bool) -> np.ndarray:
        table = tf.Variable(start)
        optimizer = keras.optimizers.Adam(0.05)
        optimizer.build([table])

        @tf.function(autograph=False)
        def step(rows):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.gather(table, rows) ** 2)
            grads = tape.gradient(loss, [table])
            if ours:
                apply_gradients(optimizer, grads, [table])
            else:
                optimizer.apply_gradients(zip(grads, [table], strict=True))

        for rows in ids:
            step(tf.constant(rows))
        return table.numpy()

    np.testing.assert_allclose(train(True), train(False), rtol=1e-6)


@pytest.mark.parametrize("xla", ["false", "true"])
def test_clipping_turned_on_and_off_live_retraces_once_each(xla):
    """Whether the chunk clips is fixed when it is traced: turning clipping on mid-run traces it
    again and clips from then on, a new clip value does not retrace, turning it off traces the
    unclipped chunk again. Each stretch trains as a run configured that way would."""

    def run(settings: list[float]) -> tuple[CompiledSteps, list[float]]:
        config = tiny(
            "train.chunk=6", f"train.xla={xla}", f"train.clip_norm={settings[0]}", **SMALL
        )
        task = make_task(config.task, config.train.seed)
        xs, ys = task.windows(0, config.train.batch_size, config.train.num_steps)
        steps = CompiledSteps(config, task)
        state, losses = steps.initial_state(), []
        for k, clip in enumerate(settings):
            steps.set_knob("clip_norm", clip)
            chunk_losses, state = steps.train_chunk(
                xs[6 * k : 6 * k + 6], ys[6 * k : 6 * k + 6], state
            )
            losses += chunk_losses
        return steps, losses

    live, live_losses = run([0.0, 0.05, 0.02, 0.0])
    assert live.traces == 3  # unclipped, clipped (0.05 then 0.02: a variable), unclipped
    assert not live.clipping
    # the same schedule with clipping on from the start and never off: diverges at the 4th call
    steady, steady_losses = run([0.0, 0.05, 0.02, 0.02])
    assert steady.traces == 2
    assert live_losses[:19] == steady_losses[:19]  # a call's first loss precedes its update
    assert live_losses[19:] != steady_losses[19:]
    unclipped, unclipped_losses = run([0.0, 0.0, 0.0, 0.0])
    assert unclipped.traces == 1
    assert unclipped_losses[:7] == live_losses[:7] and unclipped_losses[7:] != live_losses[7:]


@pytest.mark.parametrize("classes", [2, 5])
@pytest.mark.parametrize("shape", [(7,), (3, 4)])
def test_cross_entropy_is_tensorflows_own(classes, shape):
    """The two-class form (softplus of the margin) and the general one: the same losses and
    gradients as sparse_softmax_cross_entropy_with_logits, large logits included."""
    tf = compiled.import_tf()
    rng = np.random.default_rng(classes)
    logits = tf.constant(rng.normal(scale=20.0, size=(*shape, classes)).astype(np.float32))
    labels = tf.constant(rng.integers(0, classes, size=shape), tf.int64)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        ours = compiled.cross_entropy(labels, logits)
        theirs = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.cast(labels, tf.int32), logits=logits
        )
        weights = tf.constant(rng.normal(size=shape).astype(np.float32))
        ours_total, theirs_total = tf.reduce_sum(ours * weights), tf.reduce_sum(theirs * weights)
    assert ours.shape == theirs.shape == shape
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        tape.gradient(ours_total, logits).numpy(),
        tape.gradient(theirs_total, logits).numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


def test_short_epochs_share_a_compiled_call_without_changing_the_math():
    base = apply_overrides(load_preset("count-lstm"), ["train.epochs=60", "train.eval_every=20"])
    one = Trainer(apply_overrides(base, ["train.chunk=5"]))  # one 5-window epoch a call
    one.run()
    packed = Trainer(apply_overrides(base, ["train.chunk=100"]))
    packed.run()
    assert packed.compiled.calls == 3 and one.compiled.calls == 60  # 20 epochs a call
    np.testing.assert_allclose(packed.losses, one.losses, rtol=1e-5, atol=1e-6)
    assert packed.summary["test_error_pct"] == one.summary["test_error_pct"]
    assert packed.summary["final_loss"] == pytest.approx(one.summary["final_loss"], rel=1e-5)
