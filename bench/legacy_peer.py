"""The legacy tf.estimator peer of bench/train_throughput.py (TensorFlow 2.15 only).

Runs in a separate venv made by `../shared/tools/make-legacy-venv .venv-legacy`, started
by train_throughput.py as a subprocess; prints one JSON line. It does not import
estimator_lib (which needs TensorFlow 2.21): the data layout, model and input pipeline
below mirror train_throughput.py by hand.

    .venv-legacy/bin/python bench/legacy_peer.py --train 'DIR/train-*.tfrecord' \\
        --eval DIR/eval.tfrecord --model-dir /tmp/legacy --warmup 300 --steps 2000
"""

import argparse
import contextlib
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")
tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

DENSE_DIM, VOCAB_A, VOCAB_B, EMBED_DIM, HIDDEN = 10, 1000, 100, 8, (128, 64)
FEATURE_SPEC = {
    "dense": tf.io.FixedLenFeature([DENSE_DIM], tf.float32),
    "cat_a": tf.io.FixedLenFeature([], tf.int64),
    "cat_b": tf.io.FixedLenFeature([], tf.int64),
    "label": tf.io.FixedLenFeature([], tf.float32),
}
AUTOTUNE = tf.data.AUTOTUNE


def cpu_snapshot():
    wall, times = time.perf_counter(), os.times()
    busy = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:9]]
        busy = (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")
    return wall, busy, times.user + times.system


def foreign_load(start, end):
    if start[1] is None or end[1] is None or end[0] <= start[0]:
        return None
    return max(0.0, ((end[1] - start[1]) - (end[2] - start[2])) / (end[0] - start[0]))


def make_input_fn(pattern, batch, num_epochs, drop_remainder, cached_batches=0):
    """Same steps as el.inputs.make_batched_features_input_fn(shuffle=False).

    `cached_batches` > 0 mirrors train_throughput's --cached-input.
    """

    def parse(serialized):
        features = tf.io.parse_example(serialized, FEATURE_SPEC)
        return features, features.pop("label")

    def input_fn():
        dataset = tf.data.Dataset.list_files(pattern, shuffle=False)
        dataset = dataset.interleave(tf.data.TFRecordDataset, cycle_length=AUTOTUNE,
                                     num_parallel_calls=AUTOTUNE, deterministic=True)
        dataset = dataset.repeat(num_epochs)
        dataset = dataset.batch(batch, drop_remainder=drop_remainder)
        dataset = dataset.map(parse, num_parallel_calls=AUTOTUNE, deterministic=True)
        dataset = dataset.prefetch(AUTOTUNE)
        if cached_batches:
            dataset = dataset.take(cached_batches).cache().repeat().prefetch(AUTOTUNE)
        return dataset

    return input_fn


def model_fn(features, labels, mode):
    emb_a = tf.keras.layers.Embedding(VOCAB_A, EMBED_DIM, name="emb_a")(features["cat_a"])
    emb_b = tf.keras.layers.Embedding(VOCAB_B, EMBED_DIM, name="emb_b")(features["cat_b"])
    x = tf.concat([features["dense"], emb_a, emb_b], axis=-1)
    for i, units in enumerate(HIDDEN):
        x = tf.keras.layers.Dense(units, activation="relu", name=f"hidden_{i}")(x)
    logits = tf.squeeze(tf.keras.layers.Dense(1, name="logits")(x), -1)
    predictions = {"logits": logits, "probabilities": tf.sigmoid(logits)}
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions=predictions)
    loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
    if mode == tf.estimator.ModeKeys.EVAL:
        return tf.estimator.EstimatorSpec(mode, loss=loss, predictions=predictions)
    train_op = tf.compat.v1.train.AdamOptimizer(1e-3).minimize(
        loss, global_step=tf.compat.v1.train.get_or_create_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, predictions=predictions, train_op=train_op)


class Timer(tf.estimator.SessionRunHook):
    """Times steps warmup+1 .. warmup+steps of one train() call (one step per run)."""

    def __init__(self, warmup, steps):
        self.warmup, self.steps = warmup, steps
        self.count, self.c0, self.c1 = 0, None, None

    def after_run(self, run_context, run_values):
        self.count += 1
        if self.count == self.warmup:
            self.c0 = cpu_snapshot()
        elif self.count == self.warmup + self.steps:
            self.c1 = cpu_snapshot()


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", required=True)
    parser.add_argument("--eval", required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--with-eval", action="store_true")
    parser.add_argument("--cached-batches", type=int, default=0)
    args = parser.parse_args()
    train_fn = make_input_fn(args.train, args.batch, None, True, args.cached_batches)
    estimator = tf.estimator.Estimator(model_fn, model_dir=args.model_dir)  # Default RunConfig.
    timer = Timer(args.warmup, args.steps)
    first = timed(lambda: estimator.train(train_fn, hooks=[timer], steps=args.warmup + args.steps))
    steady = args.steps * args.batch / (timer.c1[0] - timer.c0[0])
    second = timed(lambda: estimator.train(train_fn, steps=args.steps))
    result = {
        "steady": steady,
        "call": args.steps * args.batch / second,
        "foreign": foreign_load(timer.c0, timer.c1),
        "first_call_overhead_s": first - (args.warmup + args.steps) * args.batch / steady,
        "second_call_s": second,
        "tf_version": tf.__version__,
    }
    if args.with_eval:
        eval_fn = make_input_fn(args.eval, args.batch, 1, False)
        fresh = tf.estimator.Estimator(model_fn, model_dir=args.model_dir)
        result["evaluate_first"] = timed(lambda: fresh.evaluate(eval_fn))
        result["evaluate_repeat"] = timed(lambda: fresh.evaluate(eval_fn))
        fresh = tf.estimator.Estimator(model_fn, model_dir=args.model_dir)
        result["predict_first"] = timed(lambda: list(fresh.predict(eval_fn)))
        result["predict_repeat"] = timed(lambda: list(fresh.predict(eval_fn)))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
