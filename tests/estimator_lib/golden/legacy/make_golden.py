"""Makes the golden legacy data: tf.estimator 2.15 checkpoints, predictions, a SavedModel.

Run once, with the legacy environment (TensorFlow 2.15 + tensorflow-estimator), from the
repository root:

    ../shared/tools/make-legacy-venv /work/.venv-legacy
    /work/.venv-legacy/bin/python -m tests.estimator_lib.golden.legacy.make_golden \\
        --data ../shared/data/chicago_taxi/data.csv

It trains four canned tf.estimator models on taxi trips (`spec.py`: the columns, rows,
steps), keeps each final checkpoint (`<model>/checkpoint` + the latest `model.ckpt-*`),
writes their predictions and evaluate() metrics for 50 other trips with those trips'
features (`predictions.json`), and exports the wide & deep classifier with a parsing serving input
receiver under `serving/wide_deep/1/`. The default test suite reads these files; it never
needs TensorFlow 2.15.
"""

import argparse
import json
import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tests.estimator_lib.golden.legacy import spec  # noqa: E402

SEED = 7


def features_of(rows):
    features = {k: np.array([[r[k]] for r in rows], np.float32)
                for k in spec.NUMERIC + spec.INTEGER}
    features.update({k: np.array([[r[k]] for r in rows], object) for k in spec.STRING})
    return features


def input_fn(rows, label, mode, queue=False):
    """Batches of `rows`: "train" (shuffled, repeated), "eval" (with labels, batches of
    EVAL_BATCH_SIZE) or "predict" (features, one batch)."""
    x = features_of(rows)
    y = np.array([[r[label]] for r in rows], np.float32 if label == "fare_label" else np.int64)
    batch = {"train": spec.BATCH_SIZE, "eval": spec.EVAL_BATCH_SIZE, "predict": len(rows)}[mode]
    if queue:
        # tensorflow-estimator 2.15's Baseline* fails on a tf.data input ("GetNext() failed
        # because the iterator has not been initialized"); its queue-based input works.
        return tf.compat.v1.estimator.inputs.numpy_input_fn(
            x, None if mode == "predict" else y, batch_size=batch,
            num_epochs=None if mode == "train" else 1, shuffle=mode == "train")

    def fn():
        dataset = tf.data.Dataset.from_tensor_slices(x if mode == "predict" else (x, y))
        if mode == "train":
            dataset = dataset.shuffle(len(rows), seed=SEED).repeat()
        return dataset.batch(batch)

    return fn


def build(name, model_dir, columns):
    config = tf.estimator.RunConfig(tf_random_seed=SEED, save_checkpoints_steps=100_000,
                                    save_checkpoints_secs=None)
    if name.startswith("wide_deep_classifier"):
        make = (tf.compat.v1.estimator.DNNLinearCombinedClassifier if name.endswith("_v1")
                else tf.estimator.DNNLinearCombinedClassifier)
        return make(
            model_dir=model_dir, linear_feature_columns=columns["wide_deep_linear"],
            dnn_feature_columns=columns["wide_deep_dnn"], dnn_hidden_units=spec.HIDDEN_UNITS,
            config=config), "tips_label"
    if name == "dnn_regressor":
        return tf.estimator.DNNRegressor(
            spec.HIDDEN_UNITS, columns["dnn_regressor"], model_dir=model_dir, batch_norm=True,
            config=config), "fare_label"
    if name == "linear_regressor":
        return tf.estimator.LinearRegressor(
            columns["linear_regressor"], model_dir=model_dir, config=config), "fare_label"
    return tf.estimator.BaselineClassifier(model_dir=model_dir, config=config), "tips_label"


def keep_latest_checkpoint(model_dir, out):
    """Copies the latest checkpoint's files and a `checkpoint` file naming it, relatively."""
    prefix = tf.train.latest_checkpoint(model_dir)
    os.makedirs(out, exist_ok=True)
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copy(prefix + suffix, os.path.join(out, os.path.basename(prefix) + suffix))
    with open(os.path.join(out, "checkpoint"), "w") as f:
        f.write(f'model_checkpoint_path: "{os.path.basename(prefix)}"\n')
    reader = tf.train.load_checkpoint(prefix)
    return {n: list(s) for n, s in sorted(reader.get_variable_to_shape_map().items())}


def as_json(value):
    value = np.asarray(value)
    if value.dtype.kind in "SO":
        return [v.decode() if isinstance(v, bytes) else v for v in value.tolist()]
    return value.tolist()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the Chicago taxi CSV")
    args = parser.parse_args()
    train_rows = spec.read_rows(args.data, 0, spec.NUM_TRAIN_ROWS)
    golden_rows = spec.read_rows(args.data, spec.NUM_TRAIN_ROWS, spec.NUM_GOLDEN_ROWS)
    columns = spec.feature_columns(tf.feature_column)
    result = {"tensorflow": tf.__version__, "rows": golden_rows, "models": {}}
    scratch = tempfile.mkdtemp(prefix="golden-legacy-")
    for name in spec.MODELS:
        model_dir = os.path.join(scratch, name)
        estimator, label = build(name, model_dir, columns)
        queue = name == "baseline_classifier"
        estimator.train(input_fn(train_rows, label, "train", queue), max_steps=spec.STEPS[name])
        predictions = list(estimator.predict(input_fn(golden_rows, label, "predict", queue)))
        evaluation = estimator.evaluate(input_fn(golden_rows, label, "eval", queue))
        variables = keep_latest_checkpoint(model_dir, os.path.join(spec.HERE, name))
        result["models"][name] = {
            "global_step": spec.STEPS[name],
            "variables": variables,
            "predictions": {k: [as_json(p[k]) for p in predictions] for k in predictions[0]},
            "evaluation": {k: as_json(v) for k, v in evaluation.items()},
        }
        if name == "wide_deep_classifier":
            everything = columns["wide_deep_linear"] + columns["wide_deep_dnn"]
            receiver = tf.estimator.export.build_parsing_serving_input_receiver_fn(
                tf.feature_column.make_parse_example_spec(everything))
            exported = estimator.export_saved_model(os.path.join(scratch, "export"), receiver)
            target = os.path.join(spec.SERVING_BASE, spec.SERVED_MODEL, "1")
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(exported.decode() if isinstance(exported, bytes) else exported, target)
    with open(spec.PREDICTIONS, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    shutil.rmtree(scratch)
    print("wrote", spec.PREDICTIONS)


if __name__ == "__main__":
    main()
