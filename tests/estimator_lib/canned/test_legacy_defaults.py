"""`legacy_defaults=True`: every canned estimator's default optimizer at tf.estimator's rate.

The expected rates are tensorflow-estimator 2.15's, read from its sources (cited per
row) and confirmed by the checkpoints it trained (golden/legacy: the learning_rate
variables of its Keras optimizers). Each case trains one step and reads the rates the
el optimizers saved.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from tests.estimator_lib.golden.legacy import models

fc = el.feature_column
NUM_COLUMNS = 2
COLUMNS = [fc.numeric_column(f"x{i}") for i in range(NUM_COLUMNS)]
# 1/sqrt(30) = 0.18 < 0.2: where a rule takes min(rate, 1/sqrt(#columns)), it shows.
MANY_COLUMNS = [fc.numeric_column(f"x{i}") for i in range(30)]

# tensorflow_estimator 2.15, python/estimator/canned/:
LEGACY = {
    # linear.py: `_LEARNING_RATE = 0.2`, given to get_optimizer_instance_v2 with the
    # default optimizer='Ftrl' (min(0.2, 1/sqrt(n)) is only for optimizer=None).
    "linear": 0.2,
    # dnn.py, _dnn_model_fn_v2: get_optimizer_instance_v2(optimizer) with no rate, so
    # tf.keras.optimizers.legacy.Adagrad()'s 0.001.
    "dnn": 0.001,
    # dnn_linear_combined.py: `_LINEAR_LEARNING_RATE = 0.005` as min(0.005, 1/sqrt(n)),
    # `_DNN_LEARNING_RATE = 0.001`.
    "combined_linear": min(0.005, 1 / math.sqrt(NUM_COLUMNS)),
    "combined_dnn": 0.001,
    # baseline.py: `_LEARNING_RATE = 0.3`.
    "baseline": 0.3,
}
EL = {"linear": min(0.2, 1 / math.sqrt(NUM_COLUMNS)), "dnn": 0.05,
      "combined_linear": min(0.2, 1 / math.sqrt(NUM_COLUMNS)), "combined_dnn": 0.05,
      "baseline": 0.3}

CASES = {
    "LinearClassifier": (lambda **kw: el.LinearClassifier(COLUMNS, **kw), ["linear"]),
    "LinearRegressor": (lambda **kw: el.LinearRegressor(COLUMNS, **kw), ["linear"]),
    "DNNClassifier": (lambda **kw: el.DNNClassifier([2], COLUMNS, **kw), ["dnn"]),
    "DNNRegressor": (lambda **kw: el.DNNRegressor([2], COLUMNS, **kw), ["dnn"]),
    "DNNLinearCombinedClassifier": (lambda **kw: el.DNNLinearCombinedClassifier(
        linear_feature_columns=COLUMNS, dnn_feature_columns=COLUMNS, dnn_hidden_units=[2], **kw),
        ["combined_linear", "combined_dnn"]),
    "DNNLinearCombinedRegressor": (lambda **kw: el.DNNLinearCombinedRegressor(
        linear_feature_columns=COLUMNS, dnn_feature_columns=COLUMNS, dnn_hidden_units=[2], **kw),
        ["combined_linear", "combined_dnn"]),
    "BaselineClassifier": (lambda **kw: el.BaselineClassifier(**kw), ["baseline"]),
    "BaselineRegressor": (lambda **kw: el.BaselineRegressor(**kw), ["baseline"]),
}


def _input_fn():
    x = {f"x{i}": np.ones([4, 1], np.float32) for i in range(len(MANY_COLUMNS))}
    return tf.data.Dataset.from_tensor_slices((x, np.ones([4, 1], np.float32))).batch(4)


def _saved_rates(estimator) -> dict[str, float]:
    """Each saved optimizer learning rate, by variable name."""
    return {name: float(estimator.get_variable_value(name))
            for name in estimator.get_variable_names() if name.endswith("learning_rate")}


def _part(name: str) -> str:
    """The part of wide & deep whose optimizer saved `name` (named by part or optimizer)."""
    return "linear" if ("linear" in name or "ftrl" in name) else "dnn"


@pytest.mark.parametrize("legacy_defaults", [False, True])
@pytest.mark.parametrize("name", sorted(CASES))
def test_default_learning_rates(name, legacy_defaults, tmp_path):
    make, parts = CASES[name]
    estimator = make(model_dir=str(tmp_path), legacy_defaults=legacy_defaults)
    estimator.train(_input_fn, steps=1)
    expected = LEGACY if legacy_defaults else EL
    got = _saved_rates(estimator)
    assert sorted(got.values()) == pytest.approx(sorted(expected[p] for p in parts), rel=1e-6)
    if len(parts) == 2:
        by_part = {_part(name): rate for name, rate in got.items()}
        assert by_part == pytest.approx({"linear": expected[parts[0]], "dnn": expected[parts[1]]})


@pytest.mark.parametrize("legacy_defaults, expected", [(False, 1 / math.sqrt(30)), (True, 0.2)])
def test_linear_rate_with_many_columns(legacy_defaults, expected, tmp_path):
    estimator = el.LinearRegressor(MANY_COLUMNS, model_dir=str(tmp_path),
                                   legacy_defaults=legacy_defaults)
    estimator.train(_input_fn, steps=1)
    assert list(_saved_rates(estimator).values()) == pytest.approx([expected])


def test_an_optimizer_instance_keeps_its_rate(tmp_path):
    import keras

    estimator = el.DNNRegressor([2], COLUMNS, model_dir=str(tmp_path), legacy_defaults=True,
                                optimizer=keras.optimizers.Adagrad(0.7))
    estimator.train(_input_fn, steps=1)
    assert list(_saved_rates(estimator).values()) == pytest.approx([0.7])


@pytest.mark.parametrize("model, parts", [
    ("wide_deep_classifier", {"Ftrl": "combined_linear", "Adagrad": "combined_dnn"}),
    ("dnn_regressor", {"Adagrad": "dnn"}),
    ("linear_regressor", {"Ftrl": "linear"}),
    ("baseline_classifier", {"Ftrl": "baseline"}),
])
def test_legacy_constants_are_what_tf_estimator_trained_with(model, parts):
    """The golden models were trained by tf.estimator 2.15 with default optimizers."""
    reader = tf.train.load_checkpoint(models.checkpoint_dir(model))
    num_columns = 4  # The golden wide & deep's linear columns: min(0.005, 1/2) = 0.005.
    for optimizer, part in parts.items():
        rate = reader.get_tensor(f"training/{optimizer}/learning_rate")
        expected = (min(0.005, 1 / math.sqrt(num_columns)) if part == "combined_linear"
                    else LEGACY[part])
        assert rate == pytest.approx(expected, rel=1e-6), (model, optimizer)
