"""Training-throughput benchmark: el.Estimator at defaults vs Keras fit vs a hand loop.

Run:  .venv/bin/python -m bench.train_throughput [--steps N] [--rounds R] [--quick]

All peers read the same synthetic TFRecord files through the same input_fn
(`el.inputs.make_batched_features_input_fn`, shuffle off: list_files -> interleave
TFRecordDataset -> batch(256) -> parse_example -> prefetch) and train the same model
(dense features + two 8-dim Keras embeddings -> Dense 128 -> Dense 64 -> 1 logit,
sigmoid cross-entropy, Adam(1e-3)). Peers run in one process, interleaved, for
`--rounds` rounds (the order rotates each round); medians are reported.

Measures, per peer and round:
  steady   examples/s over `--steps` steps that follow `--warmup` steps *inside one
           training call* (so tracing, building and the first loop are excluded).
  call     examples/s of a whole further call that trains `--steps` more steps on the
           already-trained model (Estimator: a second `train(steps=N)`, which rebuilds
           the model, restores and saves a checkpoint; Keras: a second `fit`, which
           reuses its traced function). Shows the per-call overhead.
Then the overhead of a first and a repeated evaluate()/predict() (on a fresh Estimator
pointing at the trained model_dir) against Keras evaluate()/predict() of a freshly
built model with loaded weights, on the same `--eval-examples` examples.

Progress goes to stderr; the final table to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

from console import quiet_tensorflow

quiet_tensorflow()  # an entry point: TensorFlow's start-up lines stay out of the output

import estimator_lib as el

# isort: split
import keras
import numpy as np
import tensorflow as tf

from bench._timing import EstimatorTimer, KerasTimer, cpu_snapshot, foreign_load

BATCH = 256
DENSE_DIM = 10
VOCAB_A = 1000
VOCAB_B = 100
EMBED_DIM = 8
HIDDEN = (128, 64)
LEARNING_RATE = 1e-3
NUM_SHARDS = 4
DATA_VERSION = "v1"
KERAS_SPE = (1, 10, 50, 100)
LOOP_STEPS = 100  # The hand loop's steps per tf.function call (= RunConfig default).
CACHED_BATCHES = 200  # --cached-input: parsed batches kept in memory and repeated.

# Keras warns when evaluate()/predict() reach the end of a finite dataset (expected here).
warnings.filterwarnings("ignore", message="Your input ran out of data")

FEATURE_SPEC = {
    "dense": tf.io.FixedLenFeature([DENSE_DIM], tf.float32),
    "cat_a": tf.io.FixedLenFeature([], tf.int64),
    "cat_b": tf.io.FixedLenFeature([], tf.int64),
    "label": tf.io.FixedLenFeature([], tf.float32),
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)








# -- data ------------------------------------------------------------------------------------------
def _write_examples(path: str, num: int, rng: np.random.Generator, truth) -> None:
    w_dense, effect_a, effect_b = truth
    dense = rng.normal(size=(num, DENSE_DIM)).astype(np.float32)
    cat_a = np.minimum(rng.zipf(1.3, size=num) - 1, VOCAB_A - 1).astype(np.int64)
    cat_b = rng.integers(0, VOCAB_B, size=num, dtype=np.int64)
    logits = dense @ w_dense + effect_a[cat_a] + effect_b[cat_b]
    labels = (rng.random(num) < 1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
    feature = tf.train.Feature
    with tf.io.TFRecordWriter(path) as writer:
        for i in range(num):
            example = tf.train.Example(features=tf.train.Features(feature={
                "dense": feature(float_list=tf.train.FloatList(value=dense[i])),
                "cat_a": feature(int64_list=tf.train.Int64List(value=[cat_a[i]])),
                "cat_b": feature(int64_list=tf.train.Int64List(value=[cat_b[i]])),
                "label": feature(float_list=tf.train.FloatList(value=[labels[i]])),
            }))
            writer.write(example.SerializeToString())


def ensure_data(cache_root: str, num_examples: int, eval_examples: int) -> tuple[str, str]:
    """Writes (once) the training shards and the eval file; returns (train glob, eval path)."""
    directory = os.path.join(cache_root, f"{DATA_VERSION}-n{num_examples}-e{eval_examples}")
    train_glob = os.path.join(directory, "train-*.tfrecord")
    eval_path = os.path.join(directory, "eval.tfrecord")
    if os.path.exists(os.path.join(directory, "DONE")):
        log(f"data: reusing {directory}")
        return train_glob, eval_path
    log(f"data: writing {num_examples} + {eval_examples} examples to {directory}")
    start = time.perf_counter()
    os.makedirs(cache_root, exist_ok=True)
    staging = tempfile.mkdtemp(prefix="staging-", dir=cache_root)
    rng = np.random.default_rng(0)
    truth = (rng.normal(size=DENSE_DIM) * 0.5, rng.normal(size=VOCAB_A), rng.normal(size=VOCAB_B) * 0.5)
    per_shard = -(-num_examples // NUM_SHARDS)
    for shard in range(NUM_SHARDS):
        count = min(per_shard, num_examples - shard * per_shard)
        _write_examples(os.path.join(staging, f"train-{shard:02d}.tfrecord"), count, rng, truth)
    _write_examples(os.path.join(staging, "eval.tfrecord"), eval_examples, rng, truth)
    with open(os.path.join(staging, "DONE"), "w") as marker:
        marker.write("ok\n")
    shutil.rmtree(directory, ignore_errors=True)
    os.replace(staging, directory)
    log(f"data: written in {time.perf_counter() - start:.1f}s")
    return train_glob, eval_path


def train_input_fn(train_glob: str, cached: bool = False):
    """The one training input_fn every peer uses (repeats forever; static batch dim).

    `cached` (diagnostic): parse CACHED_BATCHES batches once, keep them in memory and
    repeat them, which takes parsing out of the measurement (the pipeline is the
    bottleneck on 2 cores and hides per-step overhead of the training loop).
    """
    base = el.inputs.make_batched_features_input_fn(
        train_glob, FEATURE_SPEC, label_key="label", batch_size=BATCH, num_epochs=None,
        shuffle=False, drop_final_batch=True)
    if not cached:
        return base

    def input_fn():
        return base().take(CACHED_BATCHES).cache().repeat().prefetch(tf.data.AUTOTUNE)

    return input_fn


def eval_input_fn(eval_path: str):
    return el.inputs.make_batched_features_input_fn(
        eval_path, FEATURE_SPEC, label_key="label", batch_size=BATCH, num_epochs=1,
        shuffle=False)


# -- models ----------------------------------------------------------------------------------------
def _tower(dense, cat_a, cat_b):
    """The shared architecture (Keras layers created here, at call time)."""
    emb_a = keras.layers.Embedding(VOCAB_A, EMBED_DIM, name="emb_a")(cat_a)
    emb_b = keras.layers.Embedding(VOCAB_B, EMBED_DIM, name="emb_b")(cat_b)
    x = keras.layers.Concatenate(axis=-1)([dense, emb_a, emb_b])
    for i, units in enumerate(HIDDEN):
        x = keras.layers.Dense(units, activation="relu", name=f"hidden_{i}")(x)
    return keras.layers.Dense(1, name="logits")(x)


def model_fn(features, labels, mode):
    """The Estimator's model_fn: the same tower, its layers created inline."""
    logits = tf.squeeze(_tower(features["dense"], features["cat_a"], features["cat_b"]), -1)
    probabilities = tf.sigmoid(logits)
    predictions = {"logits": logits, "probabilities": probabilities}
    if mode == el.ModeKeys.PREDICT:
        return el.EstimatorSpec(mode, predictions=predictions)
    loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
    if mode == el.ModeKeys.EVAL:
        return el.EstimatorSpec(mode, loss=loss, predictions=predictions)
    return el.EstimatorSpec(mode, loss=loss, predictions=predictions,
                            train_op=keras.optimizers.Adam(LEARNING_RATE))


def keras_model() -> keras.Model:
    inputs = {
        "dense": keras.Input((DENSE_DIM,), name="dense", dtype="float32"),
        "cat_a": keras.Input((), name="cat_a", dtype="int64"),
        "cat_b": keras.Input((), name="cat_b", dtype="int64"),
    }
    logits = _tower(inputs["dense"], inputs["cat_a"], inputs["cat_b"])
    return keras.Model(inputs, keras.layers.Reshape(())(logits))


def compile_keras(model: keras.Model, steps_per_execution: int = 1) -> keras.Model:
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  steps_per_execution=steps_per_execution)
    return model


# -- results ---------------------------------------------------------------------------------------
@dataclasses.dataclass
class Sample:
    steady: float  # examples/s
    call: float | None = None  # examples/s of a whole further call
    foreign: float | None = None  # cores used by other processes while timing
    extra: dict = dataclasses.field(default_factory=dict)


class Results:
    def __init__(self):
        self.samples: dict[str, list[Sample]] = {}

    def add(self, peer: str, sample: Sample) -> None:
        self.samples.setdefault(peer, []).append(sample)
        call = f", call {sample.call:,.0f} ex/s" if sample.call else ""
        noise = f"  (other processes: {sample.foreign:.2f} cores)" if sample.foreign is not None else ""
        log(f"  {peer:<22} steady {sample.steady:>9,.0f} ex/s{call}{noise}")

    def median(self, peer: str, field: str = "steady") -> float | None:
        values = [getattr(s, field) for s in self.samples.get(peer, ())
                  if getattr(s, field) is not None]
        return statistics.median(values) if values else None

    def spread(self, peer: str) -> tuple[float, float]:
        values = [s.steady for s in self.samples[peer]]
        return min(values), max(values)


# -- training peers --------------------------------------------------------------------------------


def run_estimator(input_fn, model_dir: str, warmup: int, steps: int, config=None) -> Sample:
    estimator = el.Estimator(model_fn, model_dir=model_dir, config=config)
    timer = EstimatorTimer(warmup, BATCH)
    start = time.perf_counter()
    estimator.train(input_fn, hooks=[timer], steps=warmup + steps)
    first_call = time.perf_counter() - start
    start = time.perf_counter()
    estimator.train(input_fn, steps=steps)
    second_call = time.perf_counter() - start
    steady = timer.rate()
    overhead = first_call - (warmup + steps) * BATCH / steady
    return Sample(steady, steps * BATCH / second_call, foreign_load(timer.c0, timer.c1),
                  {"first_call_overhead_s": overhead, "second_call_s": second_call})



def run_keras(input_fn, spe: int, warmup: int, steps: int) -> tuple[Sample, keras.Model]:
    model = compile_keras(keras_model(), spe)
    dataset = input_fn()
    timer = KerasTimer(warmup, BATCH)
    start = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=warmup + steps, verbose=0, callbacks=[timer],
              shuffle=False)
    first_call = time.perf_counter() - start
    steady = timer.rate(warmup + steps)
    start = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    second_call = time.perf_counter() - start
    overhead = first_call - (warmup + steps) * BATCH / steady
    return Sample(steady, steps * BATCH / second_call, foreign_load(timer.c0, timer.c1),
                  {"first_call_overhead_s": overhead, "second_call_s": second_call,
                   "jit_compile": bool(model.jit_compile)}), model


def _hand_step_fns(model: keras.Model, optimizer):
    variables = model.trainable_variables

    def train_step(features, labels):
        with tf.GradientTape() as tape:
            logits = model(features, training=True)
            loss = tf.reduce_mean(
                tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    return train_step


def run_hand_loop(input_fn, warmup: int, steps: int, optional: bool = False) -> Sample:
    """A tf.function running LOOP_STEPS steps per call (next(iterator) inside tf.range)."""
    model = keras_model()
    optimizer = keras.optimizers.Adam(LEARNING_RATE)
    optimizer.build(model.trainable_variables)
    train_step = _hand_step_fns(model, optimizer)

    @tf.function
    def loop(iterator, num_steps):
        loss = tf.constant(0.0)
        for _ in tf.range(num_steps):
            if optional:  # The Estimator's way: stop cleanly when the input ends.
                element = iterator.get_next_as_optional()
                if not element.has_value():
                    break
                loss = train_step(*element.get_value())
            else:
                loss = train_step(*next(iterator))
        return loss

    iterator = iter(input_fn())
    num = tf.constant(LOOP_STEPS, tf.int64)
    for _ in range(warmup // LOOP_STEPS):
        loop(iterator, num).numpy()
    start = cpu_snapshot()
    for _ in range(steps // LOOP_STEPS):
        loss = loop(iterator, num)
    loss.numpy()
    end = cpu_snapshot()
    return Sample(steps * BATCH / (end[0] - start[0]), foreign=foreign_load(start, end))


# -- legacy tf.estimator (TF 2.15) in a subprocess -------------------------------------------------
def run_legacy(python: str, train_glob: str, eval_path: str, model_dir: str, warmup: int,
               steps: int, with_eval: bool, cached: bool = False) -> Sample | None:
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "legacy_peer.py")
    command = [python, script, "--train", train_glob, "--eval", eval_path,
               "--model-dir", model_dir, "--warmup", str(warmup), "--steps", str(steps),
               "--batch", str(BATCH)]
    if with_eval:
        command.append("--with-eval")
    if cached:
        command += ["--cached-batches", str(CACHED_BATCHES)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    env.pop("PYTHONPATH", None)
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        log(f"legacy peer failed (rc {done.returncode}): {done.stderr[-2000:]}")
        return None
    result = json.loads(lines[-1])
    return Sample(result["steady"], result["call"], result.get("foreign"), result)


# -- evaluate / predict overhead -------------------------------------------------------------------
def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def eval_predict_overhead(model_dir: str, weights_path: str, eval_path: str) -> dict[str, float]:
    input_fn = eval_input_fn(eval_path)
    out = {}
    estimator = el.Estimator(model_fn, model_dir=model_dir)
    out["est_evaluate_first"], _ = _timed(lambda: estimator.evaluate(input_fn))
    out["est_evaluate_repeat"], _ = _timed(lambda: estimator.evaluate(input_fn))
    estimator = el.Estimator(model_fn, model_dir=model_dir)
    out["est_predict_first"], n1 = _timed(lambda: len(list(estimator.predict(input_fn))))
    out["est_predict_repeat"], n2 = _timed(lambda: len(list(estimator.predict(input_fn))))
    assert n1 == n2, (n1, n2)

    # Keras calls the same input_fn inside each timed call, as the Estimator must: building
    # the tf.data pipeline (glob, tracing the parse function) is part of both.
    def fresh_keras():
        model = keras_model()
        model.load_weights(weights_path)
        return compile_keras(model)

    def keras_first_evaluate():
        model = fresh_keras()
        model.evaluate(input_fn(), verbose=0)
        return model

    out["keras_evaluate_first"], model = _timed(keras_first_evaluate)
    out["keras_evaluate_repeat"], _ = _timed(lambda: model.evaluate(input_fn(), verbose=0))

    def keras_first_predict():
        model = fresh_keras()
        return model, model.predict(input_fn(), verbose=0)

    out["keras_predict_first"], (model, predictions) = _timed(keras_first_predict)
    out["keras_predict_repeat"], _ = _timed(lambda: model.predict(input_fn(), verbose=0))
    assert len(predictions) == n1, (len(predictions), n1)
    out["input_fn_only"], _ = _timed(input_fn)
    return out


# -- main ------------------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000,
                        help="timed steps per peer and round (multiple of 100)")
    parser.add_argument("--warmup", type=int, default=300,
                        help="untimed steps before them, in the same call (multiple of 100)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--examples", type=int, default=200_000, help="training examples written")
    parser.add_argument("--eval-examples", type=int, default=3000)
    parser.add_argument("--keras-spe", default=",".join(map(str, KERAS_SPE)),
                        help="Keras steps_per_execution values to try")
    parser.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(),
                                                           "el_bench_train_throughput"),
                        help="cache directory of the synthetic TFRecords")
    parser.add_argument("--diagnose", action="store_true",
                        help="also run non-default Estimator configs and a hand loop with "
                             "get_next_as_optional (to explain a gap)")
    parser.add_argument("--cached-input", action="store_true",
                        help=f"diagnostic: parse {CACHED_BATCHES} batches once and repeat them from "
                             "memory (same for all peers), to take the input pipeline out")
    parser.add_argument("--legacy-python", default=None,
                        help="python of a TF 2.15 venv (../shared/tools/make-legacy-venv) to add "
                             "a legacy tf.estimator peer; default: .venv-legacy/bin/python if present")
    parser.add_argument("--no-legacy", action="store_true")
    parser.add_argument("--json", default=None, help="also write all samples to this JSON file")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run (< 60 s)")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.warmup, args.rounds = 200, 200, 1
        args.examples, args.eval_examples = 20_000, 500
        args.keras_spe = "10"
        args.no_legacy = True
    for name in ("steps", "warmup"):
        value = getattr(args, name)
        if value <= 0 or value % LOOP_STEPS:
            parser.error(f"--{name} must be a positive multiple of {LOOP_STEPS}")
    args.keras_spe = [int(v) for v in args.keras_spe.split(",")]
    if any(LOOP_STEPS % v for v in args.keras_spe):
        parser.error(f"--keras-spe values must divide {LOOP_STEPS}")
    if args.legacy_python is None and not args.no_legacy and os.path.exists(".venv-legacy/bin/python"):
        args.legacy_python = ".venv-legacy/bin/python"
    if args.no_legacy:
        args.legacy_python = None
    return args


def _fmt(value, spec=",.0f"):
    return "-" if value is None else format(value, spec)


def report(args, results: Results, overhead: list[dict], legacy_overhead: list[dict]) -> str:
    lines = []
    w = lines.append
    cached = (f" CACHED INPUT ({CACHED_BATCHES} parsed batches repeated from memory)."
              if args.cached_input else "")
    w(f"Training throughput, batch {BATCH}, {args.steps} timed steps after {args.warmup} warm-up "
      f"steps, {args.rounds} round(s), medians (min-max over rounds).{cached} "
      f"TF {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPU cores.")
    w("")
    w(f"| {'peer':<26} | {'steady ex/s':>12} | {'min-max':>19} | {'call ex/s':>10} | "
      f"{'1st-call overhead s':>19} | {'other procs':>11} |")
    w(f"|{'-' * 28}|{'-' * 13}:|{'-' * 20}:|{'-' * 11}:|{'-' * 20}:|{'-' * 12}:|")
    for peer in results.samples:
        low, high = results.spread(peer)
        overheads = [s.extra.get("first_call_overhead_s") for s in results.samples[peer]]
        overheads = [o for o in overheads if o is not None]
        ovh = _fmt(statistics.median(overheads), ".2f") if overheads else "-"
        w(f"| {peer:<26} | {_fmt(results.median(peer)):>12} | "
          f"{_fmt(low) + '-' + _fmt(high):>19} | {_fmt(results.median(peer, 'call')):>10} | "
          f"{ovh:>19} | {_fmt(results.median(peer, 'foreign'), '.2f'):>11} |")
    keras_peers = [p for p in results.samples if p.startswith("keras_fit")]
    best_keras = max(keras_peers, key=results.median) if keras_peers else None
    est = results.median("estimator_default")
    w("")
    if best_keras:
        ratio = est / results.median(best_keras)
        w(f"estimator/keras_best ({best_keras}) steady: {ratio:.3f}  (bar >= 1.0: "
          f"{'PASS' if ratio >= 1.0 else 'MISS'})")
        call_ratio = results.median("estimator_default", "call") / results.median(best_keras, "call")
        w(f"estimator/keras_best whole-call (train(steps=N) vs fit): {call_ratio:.3f}")
    hand = results.median("hand_loop")
    if hand:
        ratio = est / hand
        w(f"estimator/hand_loop steady: {ratio:.3f}  (bar >= 0.9: "
          f"{'PASS' if ratio >= 0.9 else 'MISS'})")
    if results.median("legacy_tf_estimator"):
        w(f"estimator/legacy_tf_estimator steady: {est / results.median('legacy_tf_estimator'):.3f}")
    if overhead:
        w("")
        w(f"evaluate()/predict() on {args.eval_examples} examples, seconds, median over "
          f"{len(overhead)} round(s); first = new Estimator object / freshly built Keras model "
          "with loaded weights:")
        w("")
        w(f"| {'call':<18} | {'estimator s':>11} | {'keras s':>8} | {'est/keras':>9} |"
          + (f" {'legacy s':>8} |" if legacy_overhead else ""))
        w(f"|{'-' * 20}|{'-' * 12}:|{'-' * 9}:|{'-' * 10}:|" + ("---------:|" if legacy_overhead else ""))
        for call in ("evaluate_first", "evaluate_repeat", "predict_first", "predict_repeat"):
            e = statistics.median(o[f"est_{call}"] for o in overhead)
            k = statistics.median(o[f"keras_{call}"] for o in overhead)
            row = f"| {call:<18} | {e:>11.3f} | {k:>8.3f} | {e / k:>9.2f} |"
            if legacy_overhead:
                row += f" {statistics.median(o[call] for o in legacy_overhead):>8.3f} |"
            w(row)
        w("")
        w(f"(building the eval input pipeline alone, input_fn(): "
          f"{statistics.median(o['input_fn_only'] for o in overhead):.3f} s, included in all.)")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    log(f"TF {tf.__version__}, Keras {keras.__version__}; args: steps={args.steps} "
        f"warmup={args.warmup} rounds={args.rounds} examples={args.examples} "
        f"keras_spe={args.keras_spe} legacy={args.legacy_python}")
    train_glob, eval_path = ensure_data(args.data_dir, args.examples, args.eval_examples)
    input_fn = train_input_fn(train_glob, cached=args.cached_input)
    work = tempfile.mkdtemp(prefix="el_bench_run_")
    results = Results()
    overhead, legacy_overhead = [], []

    peers: list[tuple[str, object]] = []
    peers.append(("estimator_default", None))
    for spe in args.keras_spe:
        peers.append((f"keras_fit_spe{spe}", spe))
    peers.append(("hand_loop", None))
    if args.diagnose:
        peers += [
            ("est_no_summaries", el.RunConfig(save_summary_steps=None)),
            ("est_no_summ_no_log", el.RunConfig(save_summary_steps=None, log_step_count_steps=None)),
            ("est_loop1000_quiet", el.RunConfig(save_summary_steps=None, log_step_count_steps=None,
                                                steps_per_loop=1000)),
            ("hand_loop_optional", None),
        ]
    if args.legacy_python:
        peers.append(("legacy_tf_estimator", None))

    weights_path = os.path.join(work, "keras.weights.h5")
    try:
        for round_index in range(args.rounds):
            shift = round_index % len(peers)
            order = peers[shift:] + peers[:shift]
            log(f"round {round_index + 1}/{args.rounds}: {', '.join(p for p, _ in order)}")
            est_dir = None
            for peer, option in order:
                model_dir = os.path.join(work, f"r{round_index}-{peer}")
                if peer.startswith("keras_fit"):
                    sample, model = run_keras(input_fn, option, args.warmup, args.steps)
                    model.save_weights(weights_path)
                elif peer == "hand_loop":
                    sample = run_hand_loop(input_fn, args.warmup, args.steps)
                elif peer == "hand_loop_optional":
                    sample = run_hand_loop(input_fn, args.warmup, args.steps, optional=True)
                elif peer == "legacy_tf_estimator":
                    sample = run_legacy(args.legacy_python, train_glob, eval_path, model_dir,
                                        args.warmup, args.steps, with_eval=True,
                                        cached=args.cached_input)
                    if sample is None:
                        continue
                    legacy_overhead.append(sample.extra)
                else:
                    sample = run_estimator(input_fn, model_dir, args.warmup, args.steps, option)
                    if peer == "estimator_default":
                        est_dir = model_dir
                results.add(peer, sample)
                gc.collect()  # Frees the peer's input pipeline before the next one starts.
            log("  evaluate/predict overhead ...")
            overhead.append(eval_predict_overhead(est_dir, weights_path, eval_path))
            log("  " + ", ".join(f"{k} {v:.2f}s" for k, v in overhead[-1].items()))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    table = report(args, results, overhead, legacy_overhead)
    print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": {k: v for k, v in vars(args).items()},
                       "samples": {p: [dataclasses.asdict(s) for s in v]
                                   for p, v in results.samples.items()},
                       "overhead": overhead, "legacy_overhead": legacy_overhead}, f, indent=1)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
