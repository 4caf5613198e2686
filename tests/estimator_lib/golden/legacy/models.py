"""The golden legacy models rebuilt in estimator_lib, and their inputs, for the tests."""

from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf

import estimator_lib as el
from tests.estimator_lib.golden.legacy import spec

LABELS = {"wide_deep_classifier": "tips_label", "wide_deep_classifier_v1": "tips_label",
          "dnn_regressor": "fare_label", "linear_regressor": "fare_label",
          "baseline_classifier": "tips_label"}


def golden() -> dict:
    with open(spec.PREDICTIONS) as f:
        return json.load(f)


def checkpoint_dir(name: str) -> str:
    return os.path.join(spec.HERE, name)


def features(rows) -> dict[str, np.ndarray]:
    result = {k: np.array([[r[k]] for r in rows], np.float32)
              for k in spec.NUMERIC + spec.INTEGER}
    result.update({k: np.array([[r[k]] for r in rows], object) for k in spec.STRING})
    return result


def input_fn(rows, name: str, with_labels: bool = True, batch_size: int = 25):
    label = LABELS[name]
    dtype = np.float32 if label == "fare_label" else np.int64

    def fn():
        x = features(rows)
        data = (x, np.array([[r[label]] for r in rows], dtype)) if with_labels else x
        return tf.data.Dataset.from_tensor_slices(data).batch(batch_size)

    return fn


def estimator(name: str, model_dir: str, **kwargs) -> el.Estimator:
    """The el canned estimator of golden model `name`, with the same columns."""
    columns = spec.feature_columns(el.feature_column)
    if name.startswith("wide_deep_classifier"):
        return el.DNNLinearCombinedClassifier(
            model_dir=model_dir, linear_feature_columns=columns["wide_deep_linear"],
            dnn_feature_columns=columns["wide_deep_dnn"], dnn_hidden_units=spec.HIDDEN_UNITS,
            **kwargs)
    if name == "dnn_regressor":
        return el.DNNRegressor(spec.HIDDEN_UNITS, columns["dnn_regressor"], model_dir=model_dir,
                               batch_norm=True, **kwargs)
    if name == "linear_regressor":
        return el.LinearRegressor(columns["linear_regressor"], model_dir=model_dir, **kwargs)
    return el.BaselineClassifier(model_dir=model_dir, **kwargs)
