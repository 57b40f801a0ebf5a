"""A recurrent layer over a whole window of known length, with its backward pass written out.

At these sizes a window's time is its op count (TensorFlow's executor spends about a
microsecond an op, whatever it computes), and TensorFlow's own gradient of a step-by-step loop
takes twice the ops a hand-written one does: zeros for unused outputs, a sum per fan-out, the
recurrent kernel's gradient as one matmul a step where one for the whole window does. So:
- `tanh_window`: the tutorial's raw cell and Keras' SimpleRNN, h = tanh(xp_t + h @ U);
- `lstm_window`: Keras' LSTMCell math, for XLA and for wide layers;
- `block_lstm_window`: a small LSTM layer in TensorFlow's fused LSTM kernels.
Each takes the layer's inputs already projected (x @ W + b for all steps at once, `project`)
except the fused kernels, which project inside. Each is checked against TensorFlow's gradients
of the plain step-by-step loop (tests/unit/test_models.py).
"""

from __future__ import annotations

from typing import Any

from rnntui.runtime.tf_import import import_tf

# The fused LSTM kernels (`block_lstm_window`) win while a step's matmul is small: their backward
# pass multiplies for the kernel's gradient every step, where `lstm_window` does it once a
# window. Forward and backward, interleaved, against `lstm_window`, by multiply-adds a step
# (batch x (inputs + units) x 4 units): 1.2x at 19k (echo-lstm), 1.4x at 62k (count-lstm), 1.6x
# at 262k, 1.0-1.07x at 410k-870k, 0.8x at 2.6M (text-lstm's LSTM(128)).
FUSED_LSTM_MAX_WORK = 500_000


def tanh_window(projected: Any, h: Any, recurrent: Any, keep_all: bool) -> tuple[Any, Any]:
    """A tanh RNN layer over a window: projected inputs [B, T, S] and h -> (outputs, h).

    The outputs are [B, T, S] when `keep_all`, else the last h. Backward: 3 ops a step (the
    upstream sum, TanhGrad, one matmul) and the recurrent kernel's gradient once a window.
    """
    tf = import_tf()
    raw = tf.raw_ops

    @tf.custom_gradient
    def window(projected: Any, h: Any, recurrent: Any) -> Any:
        h_prevs, outputs = [], []
        for xp_t in tf.unstack(projected, axis=1):
            h_prevs.append(h)
            h = tf.tanh(xp_t + tf.matmul(h, recurrent))
            outputs.append(h)
        out = tf.stack(outputs, axis=1) if keep_all else h

        def gradient(d_out: Any, d_h: Any) -> tuple:
            recurrent_t = tf.transpose(recurrent)  # once a window
            incoming = _incoming(d_out, d_h, keep_all, len(outputs))
            dh, d_z = None, [None] * len(outputs)
            for t in reversed(range(len(outputs))):
                dh = _into_step(dh, incoming[t], h_prevs[t])
                d_z[t] = raw.TanhGrad(y=outputs[t], dy=dh)
                dh = tf.matmul(d_z[t], recurrent_t)
            return tf.stack(d_z, axis=1), dh, _recurrent_gradient(h_prevs, d_z)

        return (out, h), gradient

    return window(projected, h, recurrent)


def lstm_window(
    projected: Any, h: Any, c: Any, recurrent: Any, keep_all: bool
) -> tuple[Any, Any, Any]:
    """One LSTM layer over a window: projected inputs [B, T, 4U] and (h, c) -> (outputs, h, c).

    The outputs are [B, T, U] when `keep_all`, else the last h. Keras' LSTMCell math (gates i,
    f, g, o), with the backward pass written out by hand: TensorFlow's own gradient of the
    step ops took ~30 ops a step (zeros for unused outputs, a sum per fan-out, the recurrent
    kernel's gradient as one matmul a step); this takes ~15, and the recurrent kernel's
    gradient is one matmul over the whole window. At count-lstm's size every op costs about a
    microsecond whatever it computes, so the op count is the run time.
    """
    tf = import_tf()
    raw = tf.raw_ops

    @tf.custom_gradient
    def window(projected: Any, h: Any, c: Any, recurrent: Any) -> Any:
        saved, outputs = [], []
        for xp_t in tf.unstack(projected, axis=1):
            z_i, z_f, z_g, z_o = tf.split(xp_t + tf.matmul(h, recurrent), 4, axis=1)
            i, f, g, o = tf.sigmoid(z_i), tf.sigmoid(z_f), tf.tanh(z_g), tf.sigmoid(z_o)
            c_new = f * c + i * g
            tanh_c = tf.tanh(c_new)
            saved.append((h, c, i, f, g, o, tanh_c))
            h, c = o * tanh_c, c_new
            outputs.append(h)
        out = tf.stack(outputs, axis=1) if keep_all else h

        def gradient(d_out: Any, d_h: Any, d_c: Any) -> tuple:
            recurrent_t = tf.transpose(recurrent)  # once a window (see cells.recurrent_product)
            incoming = _incoming(d_out, d_h, keep_all, len(saved))
            dh, dc, d_z = None, d_c, [None] * len(saved)
            for t in reversed(range(len(saved))):
                h_prev, c_prev, i, f, g, o, tanh_c = saved[t]
                dh = _into_step(dh, incoming[t], h_prev)
                d_c_t = _add(raw.TanhGrad(y=tanh_c, dy=dh * o), dc)
                d_z[t] = tf.concat(
                    [
                        raw.SigmoidGrad(y=i, dy=d_c_t * g),
                        raw.SigmoidGrad(y=f, dy=d_c_t * c_prev),
                        raw.TanhGrad(y=g, dy=d_c_t * i),
                        raw.SigmoidGrad(y=o, dy=dh * tanh_c),
                    ],
                    axis=1,
                )
                dc = d_c_t * f
                dh = tf.matmul(d_z[t], recurrent_t)
            h_prevs = [step[0] for step in saved]
            return tf.stack(d_z, axis=1), dh, dc, _recurrent_gradient(h_prevs, d_z)

        return (out, h, c), gradient

    return window(projected, h, c, recurrent)


def block_lstm_window(
    x: Any, h: Any, c: Any, kernel: Any, recurrent: Any, bias: Any, keep_all: bool
) -> tuple[Any, Any, Any]:
    """One LSTM layer over a window in TensorFlow's fused LSTM kernels: the layer's inputs
    x [B, T, D] and (h, c) -> (outputs, h, c), the same math and results as `lstm_window`.

    `BlockLSTMV2` runs the window's forward pass as one op and `BlockLSTMGradV2` its backward
    pass (Keras' gate order i, f, g, o; no peepholes, no cell clipping): two ops where the
    written-out window has ~25 a step, so small layers train faster (see `FUSED_LSTM_MAX_WORK`)
    and trace 2-3x sooner. TensorFlow registers BlockLSTM's gradient (V1, gate order i, g, f, o)
    for this op, which is wrong for it, so the gradient op is called here. XLA has no kernel
    for either op: a window XLA compiles takes `lstm_window`.
    """
    tf = import_tf()
    raw = tf.raw_ops
    no_peephole = tf.zeros([recurrent.shape[0]])
    steps = tf.constant(x.shape[1], tf.int64)

    @tf.custom_gradient
    def window(x_by_time: Any, h: Any, c: Any, w: Any, b: Any) -> Any:
        inputs = {"seq_len_max": steps, "x": x_by_time, "cs_prev": c, "h_prev": h, "w": w}
        inputs.update(wci=no_peephole, wcf=no_peephole, wco=no_peephole, b=b)
        i, cs, f, o, ci, co, hs = raw.BlockLSTMV2(**inputs, cell_clip=0.0, use_peephole=False)

        def gradient(d_hs: Any, d_cs: Any) -> tuple:
            d_x, d_c, d_h, d_w, _, _, _, d_b = raw.BlockLSTMGradV2(
                **inputs,
                i=i,
                cs=cs,
                f=f,
                o=o,
                ci=ci,
                co=co,
                h=hs,
                cs_grad=tf.zeros_like(cs) if d_cs is None else d_cs,
                h_grad=tf.zeros_like(hs) if d_hs is None else d_hs,
                use_peephole=False,
            )
            return d_x, d_h, d_c, d_w, d_b

        return (hs, cs), gradient

    w = tf.concat([kernel, recurrent], axis=0)  # the op multiplies [x_t, h] by both at once
    hs, cs = window(tf.transpose(x, [1, 0, 2]), h, c, w, bias)  # the ops are time-major
    h, c = hs[-1], cs[-1]
    return (tf.transpose(hs, [1, 0, 2]) if keep_all else h), h, c


def fused_lstm_pays(x: Any, recurrent: Any) -> bool:
    """Whether an LSTM layer's window of inputs x [B, T, D] runs faster in the fused kernels."""
    batch, inputs, units = x.shape[0], x.shape[-1], recurrent.shape[0]
    return batch is not None and batch * (inputs + units) * 4 * units <= FUSED_LSTM_MAX_WORK


def _incoming(d_out: Any, d_h: Any, keep_all: bool, steps: int) -> list:
    """The gradient reaching each step's h from outside the recurrence: the outputs' (every
    step's when `keep_all`, else the last's) and the final state's, None where nothing reads it."""
    tf = import_tf()
    incoming: list = [None] * steps
    if keep_all and d_out is not None:
        incoming = tf.unstack(d_out, axis=1)
    incoming[-1] = _add(_add(d_h, None if keep_all else d_out), incoming[-1])
    return incoming


def _into_step(from_later: Any, incoming: Any, h_prev: Any) -> Any:
    """The gradient for a step's h: what the later steps and the outside send it (zeros when
    neither reads this step, nor any later one)."""
    dh = _add(from_later, incoming)
    return import_tf().zeros_like(h_prev) if dh is None else dh


def _recurrent_gradient(h_prevs: list, d_z: list) -> Any:
    """The recurrent kernel's gradient for the whole window in one matmul: [T*B, U]^T @ [T*B, G]."""
    tf = import_tf()
    return tf.matmul(tf.concat(h_prevs, axis=0), tf.concat(d_z, axis=0), transpose_a=True)


def _add(a: Any, b: Any) -> Any:
    """a + b where either may be None (no gradient flows that way)."""
    if a is None:
        return b
    return a if b is None else a + b
