"""Tiny SavedModels for the serving tests, and a small taxi model exported by estimator_lib.

`save_toy` writes a plain tf.Module SavedModel (any SavedModel is servable, not only
Estimator exports) whose outputs scale with `scale`, so a test can tell which version
answered from the numbers alone.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

import estimator_lib as el


class _Toy(tf.Module):
    def __init__(self, scale: float):
        super().__init__()
        self.scale = tf.Variable(float(scale))

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x"),
                                  tf.TensorSpec([None], tf.string, name="tag")])
    def serve(self, x, tag):
        return {"y": tf.reduce_sum(x, axis=1, keepdims=True) * self.scale,
                "tag_length": tf.strings.length(tag),
                "tag_bytes": tag}

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def single(self, x):
        return {"y": tf.reduce_sum(x, axis=1, keepdims=True) * self.scale}

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def mean(self, x):  # An output without a batch dimension: must not be batched.
        return {"mean": tf.reduce_mean(x) * self.scale,
                "y": tf.reduce_sum(x, axis=1, keepdims=True) * self.scale}


def save_toy(path: str, scale: float) -> str:
    """Writes the toy SavedModel to `path`; y = scale * sum(x)."""
    module = _Toy(scale)
    tf.saved_model.save(module, path, signatures={
        "serving_default": module.serve, "single": module.single, "mean": module.mean})
    return path


def toy_y(x, scale: float) -> np.ndarray:
    return np.asarray(x, np.float32).sum(axis=1, keepdims=True) * scale


TAXI_NUMERIC = ("trip_miles", "fare", "trip_seconds")
TAXI_CATEGORICAL = ("trip_start_hour", "pickup_community_area")
TAXI_STRINGS = ("payment_type", "company")


def taxi_rows(n: int = 400):
    """The first `n` Chicago taxi trips with the features the test model uses."""
    from examples.chicago_taxi import data

    frame = data.load().iloc[:n]
    keys = TAXI_NUMERIC + TAXI_CATEGORICAL + TAXI_STRINGS + (data.LABEL_KEY,)
    return frame[list(keys)].reset_index(drop=True)


def taxi_example(row) -> dict:
    """A feature dict for `serving.tf_example.make_example` from one taxi row."""
    features = {k: float(row[k]) for k in TAXI_NUMERIC}
    features.update({k: int(row[k]) for k in TAXI_CATEGORICAL})
    features.update({k: str(row[k]) for k in TAXI_STRINGS})
    return features


def export_taxi(export_base: str, model_dir: str, steps: int = 20) -> str:
    """Trains a small wide & deep taxi classifier briefly and exports it; returns the dir.

    The export has TF Serving's signatures: serving_default/classification (Classify),
    regression (Regress) and predict (Predict on serialized tf.Examples).
    """
    from examples.chicago_taxi import data

    fc = el.feature_column
    frame = taxi_rows()
    numeric = [fc.numeric_column(k) for k in TAXI_NUMERIC]
    categorical = [fc.categorical_column_with_identity(k, 100, default_value=0)
                   for k in TAXI_CATEGORICAL]
    strings = [fc.categorical_column_with_hash_bucket(k, 50) for k in TAXI_STRINGS]
    estimator = el.DNNLinearCombinedClassifier(
        model_dir=model_dir, linear_feature_columns=categorical + strings,
        dnn_feature_columns=numeric + [fc.embedding_column(c, 4) for c in categorical + strings],
        dnn_hidden_units=[8],
        config=el.RunConfig(log_step_count_steps=None, save_checkpoints_secs=None,
                            steps_per_loop=10, tf_random_seed=1))

    def input_fn():
        features = {k: frame[k].to_numpy()[:, None] for k in TAXI_NUMERIC + TAXI_CATEGORICAL}
        features.update({k: frame[k].to_numpy().astype(object)[:, None] for k in TAXI_STRINGS})
        labels = frame[data.LABEL_KEY].to_numpy()[:, None]
        return tf.data.Dataset.from_tensor_slices((features, labels)).repeat().batch(64)

    estimator.train(input_fn, steps=steps)
    spec = fc.make_parse_example_spec(numeric + categorical + strings)
    return estimator.export_saved_model(
        os.fspath(export_base), el.export.build_parsing_serving_input_receiver_fn(spec))
