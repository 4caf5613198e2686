"""Profile of the taxi wide & deep feature-column model: graph size and steady step cost.

Run:  .venv/bin/python -m bench.feature_column_profile [--rounds 3] [--steps 1000]

Separates the model's cost from input parsing (bench/taxi_wide_deep.py measures them
together): parsed batches are cached in memory and repeated.

1. Op counts: the ops of one traced training step (forward, gradients, both optimizers'
   updates) of `el.feature_column.LinearModel` + `DenseFeatures` + Dense layers over the
   benchmark's columns, with the Ftrl and Adagrad optimizers; then of the linear and dnn
   inputs alone (forward and backward).
2. Steady throughput on cached batches: the same step, 100 steps per tf.function call,
   against the Keras preprocessing-layer model of bench/taxi_wide_deep.py (one Adagrad),
   rounds interleaved; and `el.DNNLinearCombinedClassifier.train` on the cached batches.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from console import quiet_tensorflow

quiet_tensorflow()  # an entry point: TensorFlow's start-up lines stay out of the output

import estimator_lib as el

# isort: split
import keras
import tensorflow as tf

from bench import taxi_wide_deep as twd
from bench._timing import EstimatorTimer
from estimator_lib.canned import _common
from estimator_lib.feature_columns import _id_lookup

STEPS_PER_CALL = 100


def cached_batches(meta: dict, num_batches: int):
    dataset = twd.make_input_fn(meta["train"], train=True, seed=0, buffer=meta["num_train"])()
    return list(dataset.take(num_batches))


def _count_ops(graph) -> int:
    total = len(graph.get_operations())
    for function in graph._functions.values():  # while/cond bodies
        total += len(function.graph.get_operations()) if hasattr(function, "graph") else 0
    return total


def el_model(meta):
    linear_columns, dnn_columns = twd.el_columns(meta)
    linear = el.feature_column.LinearModel(linear_columns, name="linear")
    dense = el.feature_column.DenseFeatures(dnn_columns, name="dnn_input")
    layers = [keras.layers.Dense(u, activation="relu") for u in twd.HIDDEN]
    layers.append(keras.layers.Dense(1))

    def logits(features):
        # As the canned DNNLinearCombined model_fn: both parts share the columns' ids.
        with _id_lookup.shared_ids():
            net = dense(features)
            wide = linear(features)
        for layer in layers:
            net = layer(net)
        return wide + net

    return linear, dense, layers, logits


def el_step(meta, keras_optimizers=False):
    """The canned estimator's step; `keras_optimizers`: Keras's Ftrl and Adagrad, not el's."""
    linear, dense, layers, logits = el_model(meta)
    linear_rate = _common.linear_learning_rate(len(linear.feature_columns))
    if keras_optimizers:
        ftrl = keras.optimizers.Ftrl(linear_rate)
        adagrad = keras.optimizers.Adagrad(_common.DNN_LEARNING_RATE)
    else:  # As the canned estimators make them.
        ftrl = _common.make_optimizer("Ftrl", linear_rate)
        adagrad = _common.make_optimizer("Adagrad", _common.DNN_LEARNING_RATE)
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def step(features, labels):
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, logits(features))
        linear_vars = linear.trainable_variables
        dnn_vars = dense.trainable_variables + [v for la in layers for v in la.trainable_variables]
        grads = tape.gradient(loss, linear_vars + dnn_vars)
        ftrl.apply_gradients(zip(grads[:len(linear_vars)], linear_vars, strict=True))
        adagrad.apply_gradients(zip(grads[len(linear_vars):], dnn_vars, strict=True))
        return loss

    return step, (linear, dense, logits)


def keras_step(meta):
    model = twd.keras_model(meta)
    optimizer = keras.optimizers.Adagrad(twd.KERAS_LEARNING_RATE)
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
    names = set(model.input.keys()) if isinstance(model.input, dict) else None

    def step(features, labels):
        inputs = {k: v for k, v in features.items() if names is None or k in names}
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, model(inputs, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    return step


def op_counts(meta, batch) -> dict:
    features, labels = batch
    counts = {}
    for keras_optimizers in (False, True):
        step, (linear, dense, logits) = el_step(meta, keras_optimizers)
        step(features, labels)  # Build variables eagerly.
        name = "Keras" if keras_optimizers else "el"
        counts[f"el train step ({name} optimizers)"] = _count_ops(
            tf.function(step).get_concrete_function(features, labels).graph)

    def part(layer):
        def forward_backward(features):
            with tf.GradientTape() as tape:
                out = tf.reduce_sum(layer(features))
            return tape.gradient(out, layer.trainable_variables)
        return _count_ops(tf.function(forward_backward).get_concrete_function(features).graph)

    counts["el LinearModel fwd+bwd"] = part(linear)
    counts["el DenseFeatures fwd+bwd"] = part(dense)
    kstep = keras_step(meta)
    kstep(features, labels)
    counts["keras train step"] = _count_ops(tf.function(kstep).get_concrete_function(
        features, labels).graph)
    return counts


def loop_rate(step, batches, steps: int) -> float:
    """Examples/s of `step` over the cached batches, STEPS_PER_CALL steps per call."""
    stacked = tf.nest.map_structure(lambda *xs: tf.stack(xs), *batches)
    count = len(batches)

    @tf.function
    def loop(start):
        for i in tf.range(STEPS_PER_CALL):
            index = (start + i) % count
            step(*tf.nest.map_structure(lambda x: tf.gather(x, index), stacked))  # noqa: B023 (called at once)
        return start + STEPS_PER_CALL

    start = loop(tf.constant(0))  # Trace, warm up.
    calls = max(1, steps // STEPS_PER_CALL)
    begin = time.perf_counter()
    for _ in range(calls):
        start = loop(start)
    start.numpy()
    return calls * STEPS_PER_CALL * twd.BATCH / (time.perf_counter() - begin)


def estimator_rate(meta, batches, steps: int) -> float:
    def input_fn():
        return tf.data.Dataset.from_tensor_slices(
            tf.nest.map_structure(lambda *xs: tf.stack(xs), *batches)).repeat()

    with tempfile.TemporaryDirectory() as model_dir:
        timer = EstimatorTimer(warmup=300, batch_size=twd.BATCH)
        twd.el_estimator(meta, model_dir, seed=0).train(input_fn, hooks=[timer],
                                                         steps=steps + 300)
    return timer.rate()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=47)
    parser.add_argument("--no-estimator", action="store_true")
    parser.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(),
                                                            "taxi_wide_deep_data"))
    args = parser.parse_args(argv)
    meta = twd.ensure_data(args.data_dir)
    batches = cached_batches(meta, args.batches)
    for name, count in op_counts(meta, batches[0]).items():
        print(f"ops  {name:28s} {count:6d}", flush=True)
    rates = {"el hand loop": [], "el hand loop, Keras optimizers": [], "keras hand loop": [],
             "el estimator": []}
    for round_index in range(args.rounds):
        step, _ = el_step(meta)
        rates["el hand loop"].append(loop_rate(step, batches, args.steps))
        step, _ = el_step(meta, keras_optimizers=True)
        rates["el hand loop, Keras optimizers"].append(loop_rate(step, batches, args.steps))
        rates["keras hand loop"].append(loop_rate(keras_step(meta), batches, args.steps))
        if not args.no_estimator:
            rates["el estimator"].append(estimator_rate(meta, batches, args.steps))
        print(f"round {round_index}: " + ", ".join(
            f"{k} {v[-1]:,.0f}" for k, v in rates.items() if v), flush=True)
    for name, values in rates.items():
        if values:
            print(f"rate {name:32s} median {statistics.median(values):9,.0f} ex/s  "
                  f"(min {min(values):,.0f}, max {max(values):,.0f})")
    el_rate = statistics.median(rates["el hand loop"])
    print(f"el/keras hand loop: {el_rate / statistics.median(rates['keras hand loop']):.2f}")
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
