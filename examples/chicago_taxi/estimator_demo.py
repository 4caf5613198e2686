"""The Estimator on the Chicago taxi data: train, evaluate, export, serve a prediction.

This is what `make run` runs until the full pipeline exists. The model_fn is written the
way the paper writes one: Keras layers and metrics created inline, an optimizer as the
train_op, and TF Serving signatures in export_outputs.
"""

from __future__ import annotations

import logging
import os
import tempfile

import keras
import tensorflow as tf

import estimator_lib as el  # First: it keeps TensorFlow's start-up noise down.
from examples.chicago_taxi import data

logger = logging.getLogger("estimator_lib")


def _frame_to_features(frame):
    features = {k: frame[k].to_numpy()[:, None] for k in data.NUMERIC_KEYS}
    features.update({k: frame[k].to_numpy()[:, None] for k in data.CATEGORICAL_INT_KEYS})
    features.update({k: frame[k].to_numpy().astype(object)[:, None] for k in data.STRING_KEYS})
    return features


def feature_spec() -> dict:
    """The tf.Example spec of the raw features (what the serving signature parses)."""
    spec = {k: tf.io.FixedLenFeature([1], tf.float32) for k in data.NUMERIC_KEYS}
    spec.update({k: tf.io.FixedLenFeature([1], tf.int64) for k in data.CATEGORICAL_INT_KEYS})
    spec.update({k: tf.io.FixedLenFeature([1], tf.string) for k in data.STRING_KEYS})
    return spec


def model_fn(features, labels, mode, params):
    """A wide-and-deep-style binary classifier over the taxi features."""
    numeric = tf.concat([tf.cast(features[k], tf.float32) for k in data.NUMERIC_KEYS], axis=1)
    numeric = (numeric - params["mean"]) / params["std"]
    embedded = []
    for key in data.CATEGORICAL_INT_KEYS + data.STRING_KEYS:
        ids = keras.layers.Hashing(num_bins=params["buckets"])(features[key])
        embedded.append(keras.layers.Flatten()(keras.layers.Embedding(params["buckets"], 8)(ids)))
    hidden = tf.concat([numeric] + embedded, axis=1)
    for units in params["hidden_units"]:
        hidden = keras.layers.Dense(units, activation="relu")(hidden)
        hidden = keras.layers.Dropout(0.1)(hidden, training=mode == el.ModeKeys.TRAIN)
    logits = keras.layers.Dense(1)(hidden)
    probabilities = tf.sigmoid(logits)
    classes = tf.cast(probabilities > 0.5, tf.int64)
    predictions = {"logits": logits, "probabilities": probabilities, "class_ids": classes}
    if mode == el.ModeKeys.PREDICT:
        scores = tf.concat([1 - probabilities, probabilities], axis=1)
        class_names = tf.broadcast_to(tf.constant([["0", "1"]]), tf.shape(scores))
        return el.EstimatorSpec(mode, predictions=predictions, export_outputs={
            "serving_default": el.export.ClassificationOutput(scores=scores, classes=class_names),
            "classification": el.export.ClassificationOutput(scores=scores, classes=class_names),
            "predict": el.export.PredictOutput(predictions),
        })
    loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
    metrics = {
        "accuracy": el.metrics.accuracy(labels, tf.cast(classes, tf.float32)),
        "auc": el.metrics.auc(labels, probabilities),
        "precision": el.metrics.precision(labels, probabilities),
        "recall": el.metrics.recall(labels, probabilities),
    }
    return el.EstimatorSpec(mode, loss=loss, predictions=predictions, eval_metric_ops=metrics,
                            train_op=keras.optimizers.Adam(params["learning_rate"]))


def run(model_dir: str | None = None, steps: int = 2000, batch_size: int = 256) -> dict:
    """Trains on 80% of the taxi data, evaluates on 20%, exports and queries the export.

    Returns:
        Dict with `metrics` (the evaluation), `export_dir` and `sample_prediction`.

    Example:
        >>> result = run(steps=500)
        >>> result["metrics"]["auc"]
    """
    train, evaluation = data.split(data.load())
    numeric = train[list(data.NUMERIC_KEYS)].to_numpy()
    params = {"mean": numeric.mean(0).astype("float32"), "std": numeric.std(0).astype("float32") + 1e-6,
              "buckets": 1000, "hidden_units": [64, 32], "learning_rate": 1e-3}
    model_dir = model_dir or tempfile.mkdtemp(prefix="taxi-estimator-")
    estimator = el.Estimator(model_fn, model_dir=model_dir, params=params,
                             config=el.RunConfig(tf_random_seed=42, save_checkpoints_steps=1000))
    train_fn = el.inputs.numpy_input_fn(_frame_to_features(train), train[data.LABEL_KEY].to_numpy()[:, None],
                                        batch_size=batch_size, num_epochs=None, shuffle=True)
    eval_fn = el.inputs.numpy_input_fn(_frame_to_features(evaluation),
                                       evaluation[data.LABEL_KEY].to_numpy()[:, None],
                                       batch_size=1024, num_epochs=1, shuffle=False)
    logger.info("Training on %d trips, evaluating on %d; model_dir %s", len(train),
                len(evaluation), model_dir)
    estimator.train(train_fn, max_steps=steps)
    metrics = estimator.evaluate(eval_fn)
    export_dir = estimator.export_saved_model(
        os.path.join(model_dir, "export"),
        el.export.build_parsing_serving_input_receiver_fn(feature_spec()))
    loaded = tf.saved_model.load(export_dir)
    example = _to_example(evaluation.iloc[0])
    scores = loaded.signatures["classification"](inputs=tf.constant([example]))["scores"].numpy()
    return {"metrics": metrics, "export_dir": export_dir, "sample_prediction": scores[0].tolist()}


def _to_example(row) -> bytes:
    feature = {}
    for key in data.NUMERIC_KEYS:
        feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=[float(row[key])]))
    for key in data.CATEGORICAL_INT_KEYS:
        feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(row[key])]))
    for key in data.STRING_KEYS:
        feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[str(row[key]).encode()]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


__all__ = ["feature_spec", "model_fn", "run"]
