"""Taxi wide & deep: el.DNNLinearCombinedClassifier vs legacy tf.estimator vs Keras fit.

Run:  .venv/bin/python -m bench.taxi_wide_deep [--steps N] [--seeds 0,1,2] [--quick]

The evidence of issue 3, in one run:

1. Quality. On the Chicago taxi data (examples/chicago_taxi, label tips > 20% of fare, the
   fixed 80/20 split `data.split`), the same wide & deep model is trained with
   `el.DNNLinearCombinedClassifier` and with the legacy `tf.estimator.
   DNNLinearCombinedClassifier` (TF 2.15 + tensorflow-estimator, `bench/legacy_taxi_wide_deep.py`
   in a subprocess), same feature columns, default optimizers (Ftrl linear, Adagrad dnn, at
   el's default learning rates, which the legacy peer is given explicitly: tensorflow-estimator
   2.15's own defaults for this estimator are lower, see LEGACY_DNN_LR), same steps and seed;
   eval AUC (exact, from the predictions; and each framework's own evaluate() auc), accuracy and
   log loss per seed. A second pair (`el_at_legacy_rates`, `legacy_own_defaults`) compares the
   two at tensorflow-estimator's own default rates.
2. Training throughput, same run: steady-state examples/s of the two estimators at default
   RunConfig, and of a Keras 3 functional model of the same architecture built from
   preprocessing layers (one optimizer, Adagrad) fit with steps_per_execution 1 and 50.
   `el_one_adagrad` is el with that same optimizer for both parts: the bar against Keras
   compares it (the same math per step), as the bar against legacy compares el's defaults
   with legacy given the same Ftrl + Adagrad.
   "steady" = the steps after `--warmup` inside the one training call (timed by a hook /
   SessionRunHook / callback); "whole call" = all steps over the first call's wall time.
3. evaluate()/predict() cost on 3,000 eval examples: a new el estimator object on the
   trained model_dir (first call: build, trace, restore) and a repeated call, vs legacy
   (subprocess, it rebuilds its graph every call) and Keras evaluate/predict. `el_no_seed`
   repeats el's measurement with an estimator without tf_random_seed (a diagnostic: the
   seed is re-applied at every call).

Data: the splits are written once as TFRecord tf.Example files (one file each, plus the
first 3,000 eval examples) under `--data-dir`, with `meta.json` holding the train-split
statistics the columns use (z-score constants, vocabularies, bucket boundaries). Every
peer reads them with the same tf.data pipeline: TFRecordDataset -> shuffle(whole train
split, seed, train only) -> repeat (train) -> batch(256) -> map(parse_example) ->
prefetch(AUTOTUNE).

Peers run interleaved: one round per seed, the order rotates each round. Progress goes
to stderr, the final table to stdout (`--json FILE` also writes every sample).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import hashlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings

from console import quiet_tensorflow

quiet_tensorflow()  # an entry point: TensorFlow's start-up lines stay out of the output

import estimator_lib as el

# isort: split
import keras
import numpy as np
import tensorflow as tf

from bench._timing import EstimatorTimer, KerasTimer, foreign_load
from estimator_lib.canned import _common as el_canned_common
from examples.chicago_taxi import data as taxi

BATCH = 256
HIDDEN = [64, 32]
EMBED_DIM = 8
CROSS_BUCKETS = 1000
LAT_LONG_BUCKETS = 10  # quantile buckets of the train split
EVAL_COST_EXAMPLES = 3000
KERAS_LEARNING_RATE = el_canned_common.DNN_LEARNING_RATE  # el's DNN default; Keras has one optimizer.
# tensorflow-estimator 2.15's own defaults for DNNLinearCombinedClassifier (dnn_linear_combined.py:
# _DNN_LEARNING_RATE = 0.001, linear min(_LINEAR_LEARNING_RATE = 0.005, 1/sqrt(#columns))).
LEGACY_DNN_LR = 0.001
LEGACY_LINEAR_LR_CAP = 0.005
DATA_VERSION = "v1"
MISSING = "<missing>"  # Written for an empty string feature (data.load fills NaN with "").

NUMERIC_KEYS = list(taxi.NUMERIC_KEYS)  # trip_miles, fare, trip_seconds, pickup/dropoff lat/long
LAT_LONG_KEYS = ["pickup_latitude", "pickup_longitude", "dropoff_latitude", "dropoff_longitude"]
IDENTITY_BUCKETS = {"trip_start_hour": 24, "trip_start_day": 8, "trip_start_month": 13}
STRING_KEYS = list(taxi.STRING_KEYS)  # payment_type, company
LABEL = taxi.LABEL_KEY

warnings.filterwarnings("ignore", message="Your input ran out of data")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- load / noise measurement ---------------------------------------------------------------------






def loadavg() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    return None


class LoadSampler(threading.Thread):
    """Samples the 1-minute load average every `period` seconds for the whole run."""

    def __init__(self, period: float = 5.0):
        super().__init__(daemon=True)
        self.period, self.samples, self._stop = period, [], threading.Event()

    def run(self):
        while not self._stop.is_set():
            value = loadavg()
            if value is not None:
                self.samples.append(value)
            self._stop.wait(self.period)

    def stop(self):
        self._stop.set()


# -- data ------------------------------------------------------------------------------------------
FEATURE_SPEC = {
    **{k: tf.io.FixedLenFeature([1], tf.float32) for k in NUMERIC_KEYS},
    **{k: tf.io.FixedLenFeature([1], tf.int64) for k in IDENTITY_BUCKETS},
    **{k: tf.io.FixedLenFeature([1], tf.string) for k in STRING_KEYS},
    LABEL: tf.io.FixedLenFeature([1], tf.float32),
}


def _write(path: str, frame) -> None:
    feature = tf.train.Feature
    with tf.io.TFRecordWriter(path) as writer:
        for row in frame.itertuples(index=False):
            row = row._asdict()
            values = {k: feature(float_list=tf.train.FloatList(value=[row[k]]))
                      for k in NUMERIC_KEYS + [LABEL]}
            values.update({k: feature(int64_list=tf.train.Int64List(value=[row[k]]))
                           for k in IDENTITY_BUCKETS})
            values.update({k: feature(bytes_list=tf.train.BytesList(
                value=[(row[k] or MISSING).encode()])) for k in STRING_KEYS})
            writer.write(tf.train.Example(
                features=tf.train.Features(feature=values)).SerializeToString())


def _statistics(train) -> dict:
    """What the columns need, from the train split only."""
    numeric = {k: [float(train[k].astype("float64").mean()), float(train[k].astype("float64").std(ddof=0))]
               for k in NUMERIC_KEYS}
    vocab = {k: sorted({v or MISSING for v in train[k]}) for k in STRING_KEYS}
    quantiles = np.linspace(0, 1, LAT_LONG_BUCKETS + 1)[1:-1]
    boundaries = {k: sorted({round(float(q), 6) for q in np.quantile(train[k], quantiles)})
                  for k in LAT_LONG_KEYS}
    return {"numeric": numeric, "vocab": vocab, "boundaries": boundaries}


def ensure_data(cache_root: str) -> dict:
    """Writes (once) train/eval/eval-3k TFRecords and meta.json; returns the meta dict."""
    stat = os.stat(taxi.DATA_PATH)
    tag = hashlib.sha1(f"{DATA_VERSION}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:10]
    directory = os.path.join(cache_root, f"{DATA_VERSION}-{tag}")
    meta_path = os.path.join(directory, "meta.json")
    if os.path.exists(meta_path):
        log(f"data: reusing {directory}")
        with open(meta_path) as f:
            return json.load(f)
    log(f"data: writing the taxi splits to {directory}")
    os.makedirs(cache_root, exist_ok=True)
    staging = tempfile.mkdtemp(prefix="staging-", dir=cache_root)
    train, evals = taxi.split(taxi.load())
    _write(os.path.join(staging, "train.tfrecord"), train)
    _write(os.path.join(staging, "eval.tfrecord"), evals)
    _write(os.path.join(staging, "eval3k.tfrecord"), evals.iloc[:EVAL_COST_EXAMPLES])
    meta = {
        "train": os.path.join(directory, "train.tfrecord"),
        "eval": os.path.join(directory, "eval.tfrecord"),
        "eval3k": os.path.join(directory, "eval3k.tfrecord"),
        "num_train": len(train), "num_eval": len(evals),
        "num_eval3k": min(EVAL_COST_EXAMPLES, len(evals)),
        "eval_labels": evals[LABEL].astype(int).tolist(),
        **_statistics(train),
    }
    with open(os.path.join(staging, "meta.json"), "w") as f:
        json.dump(meta, f)
    shutil.rmtree(directory, ignore_errors=True)
    os.replace(staging, directory)
    return meta


def make_input_fn(path: str, *, train: bool, seed: int = 0, buffer: int = 0):
    """The one pipeline every peer uses (bench/legacy_taxi_wide_deep.py has a copy)."""

    def parse(serialized):
        features = tf.io.parse_example(serialized, FEATURE_SPEC)
        return features, features.pop(LABEL)

    def input_fn():
        dataset = tf.data.TFRecordDataset(path)
        if train:
            dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True).repeat()
        dataset = dataset.batch(BATCH, drop_remainder=train)
        dataset = dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return dataset.prefetch(tf.data.AUTOTUNE)

    return input_fn


# -- el (and, mirrored, legacy) feature columns ----------------------------------------------------
def _zscore(mean: float, std: float):
    return lambda x: (x - mean) / std


def el_columns(meta: dict):
    """(linear columns, dnn columns): new column objects (new lookup tables) per call."""
    fc = el.feature_column
    numeric = [fc.numeric_column(k, normalizer_fn=_zscore(*meta["numeric"][k])) for k in NUMERIC_KEYS]
    strings = {k: fc.categorical_column_with_vocabulary_list(k, meta["vocab"][k], num_oov_buckets=1)
               for k in STRING_KEYS}
    ids = {k: fc.categorical_column_with_identity(k, n) for k, n in IDENTITY_BUCKETS.items()}
    buckets = {k: fc.bucketized_column(fc.numeric_column(k), meta["boundaries"][k])
               for k in LAT_LONG_KEYS}
    crosses = [
        fc.crossed_column(["trip_start_hour", "trip_start_day"], CROSS_BUCKETS),
        fc.crossed_column([buckets["pickup_latitude"], buckets["pickup_longitude"]], CROSS_BUCKETS),
        fc.crossed_column([buckets["dropoff_latitude"], buckets["dropoff_longitude"]], CROSS_BUCKETS),
    ]
    categorical = list(strings.values()) + list(ids.values())
    linear = categorical + list(buckets.values()) + crosses
    dnn = numeric + [fc.embedding_column(c, EMBED_DIM) for c in categorical]
    return linear, dnn


def el_default_rates(meta: dict) -> tuple[float, float]:
    """(linear, dnn) learning rates el.DNNLinearCombinedClassifier uses by default."""
    return (el_canned_common.linear_learning_rate(len(el_columns(meta)[0])),
            el_canned_common.DNN_LEARNING_RATE)


def legacy_default_rates(meta: dict) -> tuple[float, float]:
    """(linear, dnn) learning rates of tensorflow-estimator 2.15's DNNLinearCombinedClassifier."""
    return min(LEGACY_LINEAR_LR_CAP, 1.0 / math.sqrt(len(el_columns(meta)[0]))), LEGACY_DNN_LR


def el_estimator(meta: dict, model_dir: str, seed: int,
                 rates: tuple[float, float] | None = None,
                 one_adagrad: float | None = None) -> el.DNNLinearCombinedClassifier:
    """At el's defaults, or (rates given) with Ftrl(linear rate) and Adagrad(dnn rate), or
    (one_adagrad given) with Adagrad at that rate for both parts, as the Keras peer."""
    linear, dnn = el_columns(meta)
    # Instances, as users write it (el makes its own sparse-aware Ftrl/Adagrad of them).
    optimizers = {} if rates is None else {
        "linear_optimizer": keras.optimizers.Ftrl(rates[0]),
        "dnn_optimizer": keras.optimizers.Adagrad(rates[1])}
    if one_adagrad is not None:
        optimizers = {"linear_optimizer": keras.optimizers.Adagrad(one_adagrad),
                      "dnn_optimizer": keras.optimizers.Adagrad(one_adagrad)}
    return el.DNNLinearCombinedClassifier(
        model_dir=model_dir, linear_feature_columns=linear, dnn_feature_columns=dnn,
        dnn_hidden_units=HIDDEN, config=el.RunConfig(tf_random_seed=seed), **optimizers)


# -- the Keras model of the same architecture ------------------------------------------------------
class BiasAdd(keras.layers.Layer):
    """The wide part's bias (zeros at the start, as LinearModel's)."""

    def build(self, input_shape):
        self.bias = self.add_weight(shape=(1,), initializer="zeros", name="bias")

    def call(self, inputs):
        return inputs + self.bias


def keras_model(meta: dict) -> keras.Model:
    """Wide: Embedding(n, 1) lookups summed + bias; deep: normalized numbers + 8-dim embeddings."""
    inputs = {k: keras.Input((1,), name=k, dtype="float32") for k in NUMERIC_KEYS}
    inputs.update({k: keras.Input((1,), name=k, dtype="int64") for k in IDENTITY_BUCKETS})
    inputs.update({k: keras.Input((1,), name=k, dtype="string") for k in STRING_KEYS})
    flat = keras.layers.Flatten
    deep_init = keras.initializers.TruncatedNormal(stddev=1.0 / math.sqrt(EMBED_DIM))

    categorical = {}  # name -> (ids [b, 1], number of ids)
    for k in STRING_KEYS:
        vocab = meta["vocab"][k]
        categorical[k] = (keras.layers.StringLookup(vocabulary=vocab, num_oov_indices=1,
                                                    name=f"{k}_lookup")(inputs[k]), len(vocab) + 1)
    for k, n in IDENTITY_BUCKETS.items():
        categorical[k] = (inputs[k], n)  # identity: the value is the id
    bucketized = {}
    for k in LAT_LONG_KEYS:
        b = meta["boundaries"][k]
        bucketized[k] = (keras.layers.Discretization(bin_boundaries=b, name=f"{k}_buckets")(
            inputs[k]), len(b) + 1)
    crosses = {
        "hour_x_day": (inputs["trip_start_hour"], inputs["trip_start_day"]),
        "pickup_lat_x_long": (bucketized["pickup_latitude"][0], bucketized["pickup_longitude"][0]),
        "dropoff_lat_x_long": (bucketized["dropoff_latitude"][0], bucketized["dropoff_longitude"][0]),
    }
    wide_ids = {**categorical, **bucketized}
    for name, pair in crosses.items():
        wide_ids[name] = (keras.layers.HashedCrossing(CROSS_BUCKETS, name=name)(pair), CROSS_BUCKETS)
    wide_terms = [flat()(keras.layers.Embedding(n, 1, embeddings_initializer="zeros",
                                                name=f"wide_{k}")(ids))
                  for k, (ids, n) in wide_ids.items()]
    wide = BiasAdd(name="wide_bias")(keras.layers.Add(name="wide_sum")(wide_terms))

    deep_inputs = [keras.layers.Normalization(mean=m, variance=s * s, name=f"{k}_norm")(inputs[k])
                   for k, (m, s) in ((k, meta["numeric"][k]) for k in NUMERIC_KEYS)]
    deep_inputs += [flat()(keras.layers.Embedding(n, EMBED_DIM, embeddings_initializer=deep_init,
                                                  name=f"deep_{k}")(ids))
                    for k, (ids, n) in categorical.items()]
    net = keras.layers.Concatenate()(deep_inputs)
    for i, units in enumerate(HIDDEN):
        net = keras.layers.Dense(units, activation="relu", name=f"hidden_{i}")(net)
    deep = keras.layers.Dense(1, name="deep_logits")(net)
    return keras.Model(inputs, keras.layers.Add(name="logits")([wide, deep]))


def _head_metrics() -> list:
    """Keras metrics for what el's BinaryClassHead reports in evaluate(), on logits.

    auc, auc_precision_recall, accuracy, precision, recall (threshold 0.5 on the probability
    = 0 on the logit), prediction/mean and label/mean; average_loss is the loss, and
    accuracy_baseline is derived from label/mean, so neither needs state.
    """
    def mean_of(name, fn):
        return keras.metrics.MeanMetricWrapper(fn, name=name)

    return [keras.metrics.AUC(from_logits=True, name="auc"),
            keras.metrics.AUC(curve="PR", from_logits=True, name="auc_precision_recall"),
            keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy"),
            keras.metrics.Precision(thresholds=0.0, name="precision"),
            keras.metrics.Recall(thresholds=0.0, name="recall"),
            mean_of("prediction_mean", lambda y_true, y_pred: tf.sigmoid(y_pred)),
            mean_of("label_mean", lambda y_true, y_pred: tf.cast(y_true, tf.float32))]


def compile_keras(model: keras.Model, steps_per_execution: int = 1, metrics=False) -> keras.Model:
    """`metrics`: False (none), True (AUC and accuracy) or "head" (el's head's metric set)."""
    if metrics == "head":
        metric_list = _head_metrics()
    elif metrics:
        metric_list = [keras.metrics.AUC(from_logits=True, name="auc"),
                       keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")]
    else:
        metric_list = None
    model.compile(optimizer=keras.optimizers.Adagrad(KERAS_LEARNING_RATE),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=metric_list, steps_per_execution=steps_per_execution)
    return model


# -- quality metrics (same code for every peer) ----------------------------------------------------
def exact_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties at their average rank."""
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0  # 1-based average rank of each group of ties
    ranks = np.empty(len(scores))
    ranks[order] = np.repeat(average, counts)
    positives = labels.sum()
    negatives = len(labels) - positives
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def quality(labels: np.ndarray, probabilities) -> dict:
    p = np.clip(np.asarray(probabilities, np.float64).reshape(-1), 1e-7, 1 - 1e-7)
    return {"auc": exact_auc(labels, p),
            "accuracy": float(np.mean((p > 0.5) == (labels == 1))),
            "log_loss": float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))}


# -- peers -----------------------------------------------------------------------------------------
@dataclasses.dataclass
class Sample:
    steady: float  # examples/s after the warm-up, inside one training call
    call: float  # examples/s of the whole first train()/fit() call (build, trace, ... included)
    foreign: float | None  # cores kept busy by other processes while timing
    load: float | None  # 1-min load average when the peer started
    quality: dict  # exact auc, accuracy, log_loss from the predictions on the eval split
    own: dict = dataclasses.field(default_factory=dict)  # the framework's own evaluate()
    cost: dict = dataclasses.field(default_factory=dict)  # evaluate/predict seconds





def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def run_el(meta, model_dir, seed, args, labels, rates=None, one_adagrad=None) -> Sample:
    load = loadavg()
    estimator = el_estimator(meta, model_dir, seed, rates, one_adagrad)
    timer = EstimatorTimer(args.warmup, BATCH)
    train_fn = make_input_fn(meta["train"], train=True, seed=seed, buffer=meta["num_train"])
    first, _ = _timed(lambda: estimator.train(train_fn, hooks=[timer], steps=args.steps))
    eval_fn = make_input_fn(meta["eval"], train=False)
    own = estimator.evaluate(eval_fn)
    probabilities = [p["logistic"][0] for p in estimator.predict(eval_fn)]
    return Sample(timer.rate(), args.steps * BATCH / first, foreign_load(timer.c0, timer.c1), load,
                  quality(labels, probabilities),
                  {k: float(own[k]) for k in ("auc", "accuracy", "average_loss", "loss")})


def run_keras(meta, spe, seed, args, labels) -> tuple[Sample, keras.Model]:
    load = loadavg()
    keras.utils.set_random_seed(seed)
    model = compile_keras(keras_model(meta), spe)
    dataset = make_input_fn(meta["train"], train=True, seed=seed, buffer=meta["num_train"])()
    timer = KerasTimer(args.warmup, BATCH)
    first, _ = _timed(lambda: model.fit(dataset, epochs=1, steps_per_epoch=args.steps, verbose=0,
                                        callbacks=[timer], shuffle=False))
    logits = model.predict(make_input_fn(meta["eval"], train=False)(), verbose=0)
    probabilities = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    return Sample(timer.rate(args.steps), args.steps * BATCH / first,
                  foreign_load(timer.c0, timer.c1), load, quality(labels, probabilities)), model


def write_legacy_config(meta: dict, path: str) -> str:
    """Writes everything the legacy peer must mirror (data, statistics, sizes) to `path`."""
    with open(path, "w") as f:
        json.dump({**meta, "batch": BATCH, "hidden": HIDDEN, "embed_dim": EMBED_DIM,
                   "cross_buckets": CROSS_BUCKETS, "identity": IDENTITY_BUCKETS,
                   "numeric_keys": NUMERIC_KEYS, "lat_long_keys": LAT_LONG_KEYS,
                   "string_keys": STRING_KEYS, "label": LABEL}, f)
    return path


def run_legacy(python, config_path, model_dir, seed, args, labels, rates=None,
               cost=True) -> Sample | None:
    """rates: (linear, dnn) learning rates, or None for tf.estimator's own defaults."""
    load = loadavg()
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "legacy_taxi_wide_deep.py")
    command = [python, script, "--config", config_path, "--model-dir", model_dir,
               "--seed", str(seed), "--steps", str(args.steps), "--warmup", str(args.warmup)]
    if rates is not None:
        command += ["--linear-lr", repr(rates[0]), "--dnn-lr", repr(rates[1])]
    if not cost:
        command.append("--no-cost")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    env.pop("PYTHONPATH", None)
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        log(f"legacy peer failed (rc {done.returncode}): {done.stderr[-3000:]}")
        return None
    out = json.loads(lines[-1])
    return Sample(out["steady"], args.steps * BATCH / out["first_call_s"], out["foreign"], load,
                  quality(labels, out["probabilities"]), out["own"], out["cost"])


def cost_el(meta, model_dir, seed: int | None) -> dict:
    """A NEW estimator object (new columns) on the trained model_dir: first and repeated calls."""
    input_fn = make_input_fn(meta["eval3k"], train=False)
    out = {}
    estimator = el_estimator(meta, model_dir, seed)
    out["evaluate_first"], _ = _timed(lambda: estimator.evaluate(input_fn))
    out["evaluate_repeat"], _ = _timed(lambda: estimator.evaluate(input_fn))
    estimator = el_estimator(meta, model_dir, seed)
    out["predict_first"], n1 = _timed(lambda: len(list(estimator.predict(input_fn))))
    out["predict_repeat"], n2 = _timed(lambda: len(list(estimator.predict(input_fn))))
    assert n1 == n2 == meta["num_eval3k"], (n1, n2)
    return out


def cost_keras(meta, weights_path, metrics=True) -> dict:
    """A freshly built Keras model with loaded weights (first) and the same model again.

    Keras calls the input_fn inside each timed call, as the Estimator must. `metrics` as
    in `compile_keras` (predict calls do not depend on it).
    """
    input_fn = make_input_fn(meta["eval3k"], train=False)

    def fresh():
        model = keras_model(meta)
        model.load_weights(weights_path)
        return compile_keras(model, metrics=metrics)

    out = {}

    def first_evaluate():
        model = fresh()
        model.evaluate(input_fn(), verbose=0)
        return model

    out["evaluate_first"], model = _timed(first_evaluate)
    out["evaluate_repeat"], _ = _timed(lambda: model.evaluate(input_fn(), verbose=0))

    def first_predict():
        model = fresh()
        return model, model.predict(input_fn(), verbose=0)

    out["predict_first"], (model, predictions) = _timed(first_predict)
    out["predict_repeat"], _ = _timed(lambda: model.predict(input_fn(), verbose=0))
    assert len(predictions) == meta["num_eval3k"], len(predictions)
    return out


# -- report ----------------------------------------------------------------------------------------
def _med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _fmt(value, spec=",.0f"):
    return "-" if value is None else format(value, spec)


def _range(values, spec):
    values = [v for v in values if v is not None]
    return f"{format(min(values), spec)}-{format(max(values), spec)}" if values else "-"


def report(args, meta, results: dict[str, list[Sample]], costs: dict[str, list[dict]],
           loads: list[float], rates: dict[str, str]) -> str:
    lines = []
    w = lines.append
    w(f"Chicago taxi wide & deep: {meta['num_train']} train / {meta['num_eval']} eval examples, "
      f"batch {BATCH}, {args.steps} steps per run ({args.steps * BATCH / meta['num_train']:.0f} "
      f"epochs), hidden {HIDDEN}, seeds {args.seeds}; TF {tf.__version__}, Keras "
      f"{keras.__version__}, {os.cpu_count()} CPU cores.")
    if args.quick:
        w("QUICK SMOKE RUN: tiny sizes, one seed; the numbers and PASS/MISS below are not "
          "measurements.")
    if loads:
        w(f"Load average (1 min) during the run: median {statistics.median(loads):.2f}, "
          f"min {min(loads):.2f}, max {max(loads):.2f} ({len(loads)} samples).")
    w("")
    w("Quality on the eval split (median over seeds, min-max): exact AUC from the predictions; "
      "own auc/acc/avg_loss from the framework's evaluate().")
    w("")
    w("| peer | learning rates | AUC | AUC min-max | accuracy | log loss | own auc | own accuracy "
      "| own average_loss |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for peer, samples in results.items():
        q = [s.quality for s in samples]
        own = [s.own for s in samples if s.own]
        w(f"| {peer} | {rates.get(peer, '-')} | {_med(x['auc'] for x in q):.4f} | {_range([x['auc'] for x in q], '.4f')} | "
          f"{_med(x['accuracy'] for x in q):.4f} | {_med(x['log_loss'] for x in q):.4f} | "
          f"{_fmt(_med(o['auc'] for o in own), '.4f')} | "
          f"{_fmt(_med(o['accuracy'] for o in own), '.4f')} | "
          f"{_fmt(_med(o['average_loss'] for o in own), '.4f')} |")
    w("")
    w(f"Training throughput (examples/s): steady = the {args.steps - args.warmup} steps after the "
      f"first {args.warmup} of one train()/fit() call; whole call = all {args.steps} steps over the "
      "first call's wall time (build, tracing, checkpoints included). Median over seeds (min-max).")
    w("")
    w("| peer | steady ex/s | min-max | whole-call ex/s | other procs (cores) | load at start |")
    w("|---|---:|---:|---:|---:|---:|")
    for peer, samples in results.items():
        w(f"| {peer} | {_fmt(_med(s.steady for s in samples))} | "
          f"{_range([s.steady for s in samples], ',.0f')} | {_fmt(_med(s.call for s in samples))} | "
          f"{_fmt(_med(s.foreign for s in samples), '.2f')} | "
          f"{_fmt(_med(s.load for s in samples), '.2f')} |")
    w("")

    def steady(peer):
        return _med(s.steady for s in results.get(peer, ()))

    ours = steady("el_estimator")
    keras_peers = [p for p in results if p.startswith("keras_fit")]
    best = max(keras_peers, key=steady) if keras_peers else None
    if steady("legacy_estimator"):
        r = ours / steady("legacy_estimator")
        w(f"ours/legacy steady: {r:.3f} (bar >= 1.1: {'PASS' if r >= 1.1 else 'MISS'})")
    if best:
        # The bar compares the same optimizers: Keras fits one Adagrad, so the el peer is
        # el_one_adagrad; el's default Ftrl for the linear part is shown beside it.
        same = steady("el_one_adagrad")
        if same:
            r = same / steady(best)
            w(f"ours (el_one_adagrad, same optimizer)/keras_best ({best}) steady: {r:.3f} "
              f"(bar >= 1.0: {'PASS' if r >= 1.0 else 'MISS'})")
            w(f"  whole-call: {_med(s.call for s in results['el_one_adagrad']) / _med(s.call for s in results[best]):.3f}")
        w(f"el_estimator (Ftrl + Adagrad, el defaults)/keras_best ({best}, one Adagrad) steady: "
          f"{ours / steady(best):.3f}; whole-call: "
          f"{_med(s.call for s in results['el_estimator']) / _med(s.call for s in results[best]):.3f}")
    if steady("legacy_estimator"):
        a = _med(s.quality["auc"] for s in results["el_estimator"])
        b = _med(s.quality["auc"] for s in results["legacy_estimator"])
        w(f"AUC ours - legacy (medians): {a - b:+.4f} (bar >= 0: {'PASS' if a >= b else 'MISS'}); "
          "per seed: " + ", ".join(
              f"{x.quality['auc'] - y.quality['auc']:+.4f}"
              for x, y in zip(results["el_estimator"], results["legacy_estimator"], strict=False)))
    if results.get("el_at_legacy_rates") and results.get("legacy_own_defaults"):
        a = _med(s.quality["auc"] for s in results["el_at_legacy_rates"])
        b = _med(s.quality["auc"] for s in results["legacy_own_defaults"])
        w(f"AUC at tensorflow-estimator's own default rates, el_at_legacy_rates - "
          f"legacy_own_defaults: {a - b:+.4f}")
    if costs:
        w("")
        w(f"evaluate()/predict() on {meta['num_eval3k']} eval examples, seconds, median over "
          f"{len(costs['el_estimator'])} round(s). first = a new el estimator object / a freshly "
          "built Keras model with load_weights / legacy (new estimator object; rebuilds its graph "
          "every call).")
        w("")
        w("keras = AUC and accuracy compiled in; keras head = the metrics el's head reports "
          "(auc, auc_precision_recall, accuracy, precision, recall, prediction/label mean).")
        w("")
        w("| call | el s | keras s | keras head s | legacy s | el/keras | el/keras head | "
          "el/legacy | el no seed s | el no seed/keras |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for call in ("evaluate_first", "evaluate_repeat", "predict_first", "predict_repeat"):
            e = _med(c[call] for c in costs["el_estimator"])
            k = _med(c[call] for c in costs.get("keras", ()))
            h = _med(c[call] for c in costs.get("keras_head_metrics", ()))
            g = _med(c[call] for c in costs.get("legacy_estimator", ()))
            n = _med(c[call] for c in costs.get("el_no_seed", ()))
            w(f"| {call} | {e:.3f} | {_fmt(k, '.3f')} | {_fmt(h, '.3f')} | {_fmt(g, '.3f')} | "
              f"{_fmt(e / k if k else None, '.2f')} | {_fmt(e / h if h else None, '.2f')} | "
              f"{_fmt(e / g if g else None, '.2f')} | "
              f"{_fmt(n, '.3f')} | {_fmt(n / k if n and k else None, '.2f')} |")
    return "\n".join(lines)


# -- main ------------------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3000,
                        help="training steps per peer and seed (multiple of 100)")
    parser.add_argument("--warmup", type=int, default=300,
                        help="steps of each train call left out of the steady rate (multiple of 100)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds, one round each")
    parser.add_argument("--keras-spe", default="1,50", help="Keras steps_per_execution values")
    parser.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(),
                                                           "el_bench_taxi_wide_deep"))
    parser.add_argument("--legacy-python", default=None,
                        help="python of a TF 2.15 + tensorflow-estimator venv; default "
                             ".venv-legacy/bin/python if present")
    parser.add_argument("--no-legacy", action="store_true")
    parser.add_argument("--no-rates-pair", action="store_true",
                        help="skip the quality pair at tensorflow-estimator's own default rates "
                             "(legacy by optimizer names, el with the same rates)")
    parser.add_argument("--json", default=None, help="also write all samples to this JSON file")
    parser.add_argument("--quick", action="store_true", help="smoke run (about 2 minutes)")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.warmup, args.seeds, args.keras_spe = 200, 100, "0", "50"
        args.no_rates_pair = True
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.keras_spe = [int(v) for v in args.keras_spe.split(",")]
    for name in ("steps", "warmup"):
        if getattr(args, name) <= 0 or getattr(args, name) % 100:
            parser.error(f"--{name} must be a positive multiple of 100")
    if args.warmup >= args.steps:
        parser.error("--warmup must be below --steps")
    if any(100 % v for v in args.keras_spe):
        parser.error("--keras-spe values must divide 100")
    if args.legacy_python is None and os.path.exists(".venv-legacy/bin/python"):
        args.legacy_python = ".venv-legacy/bin/python"
    if args.no_legacy:
        args.legacy_python = None
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    log(f"TF {tf.__version__}, Keras {keras.__version__}; steps={args.steps} warmup={args.warmup} "
        f"seeds={args.seeds} keras_spe={args.keras_spe} legacy={args.legacy_python}; "
        f"load {loadavg()}")
    meta = ensure_data(args.data_dir)
    labels = np.asarray(meta["eval_labels"], np.float64)
    work = tempfile.mkdtemp(prefix="el_bench_taxi_")
    config_path = write_legacy_config(meta, os.path.join(work, "config.json"))
    el_rates, legacy_rates = el_default_rates(meta), legacy_default_rates(meta)
    log(f"learning rates (linear, dnn): el defaults {el_rates}, tf.estimator 2.15 defaults "
        f"{legacy_rates}")
    # The main peers: el at its defaults; legacy given the same rates (its own defaults
    # differ, see LEGACY_DNN_LR); Keras with one Adagrad at el's DNN rate.
    # el_one_adagrad: el with the Keras peer's optimizer (one Adagrad rate for both parts),
    # the same-optimizer pair for the throughput bar against Keras (Ftrl costs more per step).
    peers = ["el_estimator", "el_one_adagrad"]
    peers += ["legacy_estimator"] if args.legacy_python else []
    peers += [f"keras_fit_spe{v}" for v in args.keras_spe]
    if args.legacy_python and not args.no_rates_pair:
        peers += ["el_at_legacy_rates", "legacy_own_defaults"]
    results: dict[str, list[Sample]] = {}
    costs: dict[str, list[dict]] = {}
    sampler = LoadSampler()
    sampler.start()
    try:
        for index, seed in enumerate(args.seeds):
            shift = index % len(peers)
            order = peers[shift:] + peers[:shift]
            log(f"round {index + 1}/{len(args.seeds)} (seed {seed}): {', '.join(order)}")
            weights_path = os.path.join(work, f"keras-{seed}.weights.h5")
            el_dir = os.path.join(work, f"el-{seed}")
            for peer in order:
                if peer == "el_estimator":
                    sample = run_el(meta, el_dir, seed, args, labels)
                elif peer == "el_one_adagrad":
                    sample = run_el(meta, os.path.join(work, f"{peer}-{seed}"), seed, args, labels,
                                    one_adagrad=KERAS_LEARNING_RATE)
                elif peer == "el_at_legacy_rates":
                    sample = run_el(meta, os.path.join(work, f"{peer}-{seed}"), seed, args, labels,
                                    rates=legacy_rates)
                elif peer.startswith("legacy"):
                    main_peer = peer == "legacy_estimator"
                    sample = run_legacy(args.legacy_python, config_path,
                                        os.path.join(work, f"{peer}-{seed}"), seed, args, labels,
                                        rates=el_rates if main_peer else None, cost=main_peer)
                    if sample is None:
                        continue
                    if main_peer:
                        costs.setdefault(peer, []).append(sample.cost)
                else:
                    sample, model = run_keras(meta, int(peer.removeprefix("keras_fit_spe")), seed,
                                              args, labels)
                    if not os.path.exists(weights_path):
                        model.save_weights(weights_path)
                    del model
                results.setdefault(peer, []).append(sample)
                foreign = _fmt(sample.foreign, ".2f")
                log(f"  {peer:<19} steady {sample.steady:>9,.0f} ex/s, whole call "
                    f"{sample.call:>9,.0f} ex/s, AUC {sample.quality['auc']:.4f}, acc "
                    f"{sample.quality['accuracy']:.4f}, other procs {foreign} cores, load "
                    f"{_fmt(sample.load, '.2f')}")
                gc.collect()
            log("  evaluate/predict cost ...")
            # el_no_seed: the same model_dir read by an estimator without tf_random_seed
            # (RunConfig's seed is applied at every call; a diagnostic of its cost).
            pair = [("el_estimator", lambda d=el_dir, s=seed: cost_el(meta, d, s)),
                    ("keras", lambda p=weights_path: cost_keras(meta, p)),
                    ("keras_head_metrics", lambda p=weights_path: cost_keras(meta, p, "head")),
                    ("el_no_seed", lambda d=el_dir: cost_el(meta, d, None))]
            for name, fn in (pair if index % 2 == 0 else pair[::-1]):
                costs.setdefault(name, []).append(fn())
                log(f"  {name}: " + ", ".join(f"{k} {v:.3f}s" for k, v in costs[name][-1].items()))
            if "legacy_estimator" in costs and len(costs["legacy_estimator"]) == index + 1:
                log("  legacy_estimator: " + ", ".join(
                    f"{k} {v:.3f}s" for k, v in costs["legacy_estimator"][-1].items()))
            gc.collect()
    finally:
        sampler.stop()
        shutil.rmtree(work, ignore_errors=True)
    rate_names = {"el_estimator": f"Ftrl {el_rates[0]:g}, Adagrad {el_rates[1]:g} (el defaults)",
                  "el_one_adagrad": f"Adagrad {KERAS_LEARNING_RATE:g} for both parts (as Keras)",
                  "legacy_estimator": f"Ftrl {el_rates[0]:g}, Adagrad {el_rates[1]:g} (given)",
                  "el_at_legacy_rates": f"Ftrl {legacy_rates[0]:g}, Adagrad {legacy_rates[1]:g} "
                                        "(given)",
                  "legacy_own_defaults": f"Ftrl {legacy_rates[0]:g}, Adagrad {legacy_rates[1]:g} "
                                         "(tf.estimator defaults)"}
    rate_names.update({f"keras_fit_spe{v}": f"one Adagrad {KERAS_LEARNING_RATE:g}"
                       for v in args.keras_spe})
    table = report(args, meta, results, costs, sampler.samples, rate_names)
    print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "loads": sampler.samples, "costs": costs,
                       "samples": {p: [dataclasses.asdict(s) for s in v]
                                   for p, v in results.items()}}, f, indent=1)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
