"""The legacy tf.estimator peer of bench/taxi_wide_deep.py (TensorFlow 2.15 only).

Runs in the venv made by `../shared/tools/make-legacy-venv .venv-legacy`, started by
taxi_wide_deep.py as a subprocess; prints one JSON line. It does not import estimator_lib
(which needs TensorFlow 2.21): the feature spec, input pipeline and feature columns below
mirror taxi_wide_deep.py by hand, from the `--config` JSON it writes (paths, train-split
statistics, sizes).

    .venv-legacy/bin/python bench/legacy_taxi_wide_deep.py --config CONFIG.json \\
        --model-dir /tmp/legacy --seed 0 --steps 4000 --warmup 300

One run: train `--steps` steps with `tf.estimator.DNNLinearCombinedClassifier` (default
RunConfig but tf_random_seed, default optimizers), timing the steps after `--warmup`;
evaluate() and predict() on the eval split (quality); then a new estimator object's first
and repeated evaluate() and predict() on the 3,000-example file (cost).
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
fc = tf.feature_column


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


def feature_spec(cfg):
    spec = {k: tf.io.FixedLenFeature([1], tf.float32) for k in cfg["numeric_keys"]}
    spec.update({k: tf.io.FixedLenFeature([1], tf.int64) for k in cfg["identity"]})
    spec.update({k: tf.io.FixedLenFeature([1], tf.string) for k in cfg["string_keys"]})
    spec[cfg["label"]] = tf.io.FixedLenFeature([1], tf.float32)
    return spec


def make_input_fn(cfg, path, train, seed=0):
    """Same steps as taxi_wide_deep.make_input_fn."""
    spec, label, batch = feature_spec(cfg), cfg["label"], cfg["batch"]

    def parse(serialized):
        features = tf.io.parse_example(serialized, spec)
        return features, features.pop(label)

    def input_fn():
        dataset = tf.data.TFRecordDataset(path)
        if train:
            dataset = dataset.shuffle(cfg["num_train"], seed=seed,
                                      reshuffle_each_iteration=True).repeat()
        dataset = dataset.batch(batch, drop_remainder=train)
        dataset = dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return dataset.prefetch(tf.data.AUTOTUNE)

    return input_fn


def _zscore(mean, std):
    return lambda x: (x - mean) / std


def columns(cfg):
    """Same columns as taxi_wide_deep.el_columns, with tf.feature_column."""
    numeric = [fc.numeric_column(k, normalizer_fn=_zscore(*cfg["numeric"][k]))
               for k in cfg["numeric_keys"]]
    strings = [fc.categorical_column_with_vocabulary_list(k, cfg["vocab"][k], num_oov_buckets=1)
               for k in cfg["string_keys"]]
    ids = [fc.categorical_column_with_identity(k, n) for k, n in cfg["identity"].items()]
    buckets = {k: fc.bucketized_column(fc.numeric_column(k), cfg["boundaries"][k])
               for k in cfg["lat_long_keys"]}
    n = cfg["cross_buckets"]
    crosses = [
        fc.crossed_column(["trip_start_hour", "trip_start_day"], n),
        fc.crossed_column([buckets["pickup_latitude"], buckets["pickup_longitude"]], n),
        fc.crossed_column([buckets["dropoff_latitude"], buckets["dropoff_longitude"]], n),
    ]
    categorical = strings + ids
    linear = categorical + list(buckets.values()) + crosses
    dnn = numeric + [fc.embedding_column(c, cfg["embed_dim"]) for c in categorical]
    return linear, dnn


def estimator(cfg, model_dir, seed, linear_lr=None, dnn_lr=None, warm_start=None):
    """Default optimizers ('Ftrl', 'Adagrad' at tf.estimator's default rates: linear
    min(0.005, 1/sqrt(#columns)), dnn 0.001), or Ftrl/Adagrad at the rates given.
    `warm_start`: a checkpoint whose `dnn/` variables initialize the DNN part."""
    linear, dnn = columns(cfg)
    optimizers = {}
    if linear_lr is not None:
        optimizers["linear_optimizer"] = tf.keras.optimizers.legacy.Ftrl(learning_rate=linear_lr)
    if dnn_lr is not None:
        optimizers["dnn_optimizer"] = tf.keras.optimizers.legacy.Adagrad(learning_rate=dnn_lr)
    if warm_start is not None:
        optimizers["warm_start_from"] = tf.estimator.WarmStartSettings(
            warm_start, vars_to_warm_start="dnn/.*")
    return tf.estimator.DNNLinearCombinedClassifier(
        model_dir=model_dir, linear_feature_columns=linear, dnn_feature_columns=dnn,
        dnn_hidden_units=cfg["hidden"], config=tf.estimator.RunConfig(tf_random_seed=seed),
        **optimizers)


def write_dnn_init(cfg, model_dir, seed):
    """A checkpoint holding the initial DNN variables legacy draws for `seed`: one step of
    a DNNClassifier (same names under `dnn/`) at learning rate 0, which changes nothing."""
    _, dnn = columns(cfg)
    model = tf.estimator.DNNClassifier(
        cfg["hidden"], dnn, model_dir=model_dir,
        optimizer=tf.keras.optimizers.legacy.Adagrad(learning_rate=0.0),
        config=tf.estimator.RunConfig(tf_random_seed=seed))
    model.train(make_input_fn(cfg, cfg["train"], True, seed), steps=1)
    reader = tf.train.load_checkpoint(model_dir)
    return sorted(n for n in reader.get_variable_to_shape_map()
                  if n.startswith("dnn/") and "Adagrad" not in n)


class Timer(tf.estimator.SessionRunHook):
    """Snapshots after step `warmup` and step `last` of one train() call (one step per run)."""

    def __init__(self, warmup, last):
        self.warmup, self.last = warmup, last
        self.count, self.c0, self.c1 = 0, None, None

    def after_run(self, run_context, run_values):
        self.count += 1
        if self.count == self.warmup:
            self.c0 = cpu_snapshot()
        elif self.count == self.last:
            self.c1 = cpu_snapshot()


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--linear-lr", type=float, default=None,
                        help="Ftrl learning rate (default: tf.estimator's)")
    parser.add_argument("--dnn-lr", type=float, default=None,
                        help="Adagrad learning rate (default: tf.estimator's)")
    parser.add_argument("--no-cost", action="store_true",
                        help="skip the evaluate()/predict() cost measurement")
    parser.add_argument("--write-dnn-init", action="store_true",
                        help="only write the DNN's initial variables for --seed into --model-dir")
    parser.add_argument("--warm-start", default=None,
                        help="initialize the DNN part from this checkpoint (--write-dnn-init's)")
    args = parser.parse_args()
    with open(args.config) as f:
        cfg = json.load(f)
    batch = cfg["batch"]
    if args.write_dnn_init:
        names = write_dnn_init(cfg, args.model_dir, args.seed)
        print(json.dumps({"dnn_variables": names}), flush=True)
        return 0

    model = estimator(cfg, args.model_dir, args.seed, args.linear_lr, args.dnn_lr,
                      args.warm_start)
    timer = Timer(args.warmup, args.steps)
    train_fn = make_input_fn(cfg, cfg["train"], True, args.seed)
    first, _ = timed(lambda: model.train(train_fn, hooks=[timer], steps=args.steps))
    eval_fn = make_input_fn(cfg, cfg["eval"], False)
    own = model.evaluate(eval_fn)
    probabilities = [float(p["logistic"][0]) for p in model.predict(eval_fn)]

    cost = {}
    if not args.no_cost:
        cost_fn = make_input_fn(cfg, cfg["eval3k"], False)
        fresh = estimator(cfg, args.model_dir, args.seed, args.linear_lr, args.dnn_lr)
        cost["evaluate_first"], _ = timed(lambda: fresh.evaluate(cost_fn))
        cost["evaluate_repeat"], _ = timed(lambda: fresh.evaluate(cost_fn))
        fresh = estimator(cfg, args.model_dir, args.seed, args.linear_lr, args.dnn_lr)
        cost["predict_first"], n1 = timed(lambda: len(list(fresh.predict(cost_fn))))
        cost["predict_repeat"], n2 = timed(lambda: len(list(fresh.predict(cost_fn))))
        assert n1 == n2 == cfg["num_eval3k"], (n1, n2)

    result = {
        "steady": (args.steps - args.warmup) * batch / (timer.c1[0] - timer.c0[0]),
        "first_call_s": first,
        "foreign": foreign_load(timer.c0, timer.c1),
        "own": {k: float(own[k]) for k in ("auc", "accuracy", "average_loss", "loss")},
        "probabilities": probabilities,
        "cost": cost,
        "tf_version": tf.__version__,
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
