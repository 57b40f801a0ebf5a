"""The optimizer step as TensorFlow's fused training kernels, on the Keras optimizer's variables.

Keras 3 writes each update out of small ops (Adam: ~13 a variable, Adagrad ~8, plus their
constants); at these sizes every op costs about a microsecond of executor time whatever it
computes, so for count-lstm's five variables the update was ~70 of a window's ~620 ops. One
`ResourceApply*` kernel per variable does the same arithmetic. The Keras optimizer still owns
the variables (slots, `iterations`, the learning rate), so checkpoints, resume and the live
learning-rate knob are unchanged.

- Adam: `ResourceApplyAdam` is Keras' formula exactly (alpha from the bias-corrected powers,
  epsilon added to sqrt(v)).
- Adagrad: `ResourceApplyAdagrad` is the tutorials' own TF1 optimizer (var -= lr * g / sqrt(acc));
  Keras adds its epsilon (1e-7) inside the square root, a relative 5e-7 at the smallest
  accumulator (0.1), below float32's resolution for these weights.
- SGD without momentum: `ResourceApplyGradientDescent`.
Anything else (RMSprop, SGD with momentum) goes through Keras' own `apply_gradients`, and so does
a step with a sparse gradient (an embedding's `IndexedSlices`): Keras squares each gathered row's
gradient before summing repeated ids (Adam's v gets sum(g^2), not (sum g)^2 as a dense kernel
would), and text-lstm's losses moved by 0.12 nats in an epoch when the fused kernel did the
dense arithmetic. Runs keep training as they did, and as Keras `fit` does.
"""

from __future__ import annotations

from typing import Any

from rnntui.runtime.tf_import import import_tf

FUSED = ("adam", "adagrad", "sgd")


def fused_kind(optimizer: Any) -> str | None:
    """Which fused kernel serves `optimizer` ("adam", "adagrad", "sgd"), or None for Keras'."""
    name = type(optimizer).__name__.lower()
    if name == "adam" and not optimizer.amsgrad:
        return "adam"
    if name == "adagrad":
        return "adagrad"
    if name == "sgd" and not optimizer.momentum:
        return "sgd"
    return None


def apply_gradients(optimizer: Any, grads: list, variables: list) -> None:
    """One update of `variables` (the list the optimizer was built on, in that order)."""
    tf = import_tf()
    kind = fused_kind(optimizer)
    if kind is None or any(isinstance(grad, tf.IndexedSlices) for grad in grads):
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        return
    raw = tf.raw_ops
    # a variable (the live knob), read once: tf.cast of a float32 variable returns the variable,
    # and each kernel given it read it again (one read a variable, measured in the graph)
    lr = tf.convert_to_tensor(optimizer._learning_rate.value, tf.float32)
    if kind == "adam":
        step = tf.cast(optimizer.iterations.value + 1, tf.float32)
        beta_1, beta_2 = (tf.constant(b, tf.float32) for b in (optimizer.beta_1, optimizer.beta_2))
        beta_1_power, beta_2_power = tf.pow(beta_1, step), tf.pow(beta_2, step)
        epsilon = tf.constant(optimizer.epsilon, tf.float32)
        slots = zip(optimizer._momentums, optimizer._velocities, strict=True)
        for variable, grad, (m, v) in zip(variables, grads, slots, strict=True):
            raw.ResourceApplyAdam(
                var=variable.handle,
                m=m.value.handle,
                v=v.value.handle,
                beta1_power=beta_1_power,
                beta2_power=beta_2_power,
                lr=lr,
                beta1=beta_1,
                beta2=beta_2,
                epsilon=epsilon,
                grad=grad,
            )
    elif kind == "adagrad":
        for variable, grad, accumulator in zip(
            variables, grads, optimizer._accumulators, strict=True
        ):
            raw.ResourceApplyAdagrad(
                var=variable.handle, accum=accumulator.value.handle, lr=lr, grad=grad
            )
    else:
        for variable, grad in zip(variables, grads, strict=True):
            raw.ResourceApplyGradientDescent(var=variable.handle, alpha=lr, delta=grad)
    optimizer.iterations.value.assign_add(1)
