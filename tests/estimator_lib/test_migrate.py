"""el.migrate: tf.estimator 2.15 checkpoints (golden data) load and predict as legacy did.

The golden checkpoints and predictions were made by tf.estimator itself
(`golden/legacy/make_golden.py`); these tests need only estimator_lib.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from tests.estimator_lib.golden.legacy import models, spec

GOLDEN = models.golden()
ROWS = GOLDEN["rows"]


def _predictions(estimator, name):
    batches = list(estimator.predict(models.input_fn(ROWS, name, with_labels=False),
                                     yield_single_examples=False))
    return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}


@pytest.mark.parametrize("name", spec.MODELS)
def test_legacy_checkpoint_reproduces_legacy_predictions(name, tmp_path):
    estimator = models.estimator(name, str(tmp_path / "el"))
    loaded = el.migrate.warm_start_from_legacy(
        estimator, models.checkpoint_dir(name), models.input_fn(ROWS, name))
    expected = GOLDEN["models"][name]
    assert loaded.global_step == expected["global_step"]
    assert estimator.latest_checkpoint() == loaded.checkpoint_path
    # Every legacy model variable was used; only learning rates are el's own.
    legacy_model_variables = {n for n in expected["variables"]
                              if not n.startswith("training/") and n != "global_step"}
    assert legacy_model_variables <= set(loaded.names.values())
    assert all(n.endswith("learning_rate") for n in loaded.not_in_legacy), loaded.not_in_legacy
    got = _predictions(estimator, name)
    for key, values in expected["predictions"].items():
        if key in ("classes", "all_classes"):
            np.testing.assert_array_equal(got[key].astype(str), np.array(values), err_msg=key)
        else:
            np.testing.assert_allclose(got[key], np.array(values), rtol=0, atol=1e-5, err_msg=key)


@pytest.mark.parametrize("name", ["wide_deep_classifier", "linear_regressor"])
def test_legacy_checkpoint_evaluates_as_legacy(name, tmp_path):
    """evaluate() has tf.estimator's metric keys and, on legacy's weights, its values."""
    estimator = models.estimator(name, str(tmp_path / "el"))
    el.migrate.warm_start_from_legacy(estimator, models.checkpoint_dir(name),
                                      models.input_fn(ROWS, name))
    expected = GOLDEN["models"][name]["evaluation"]
    got = estimator.evaluate(models.input_fn(ROWS, name, batch_size=spec.EVAL_BATCH_SIZE))
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        assert float(got[key]) == pytest.approx(value, rel=1e-5, abs=1e-6), key


@pytest.mark.parametrize("name, slot_suffixes", [
    ("wide_deep_classifier", ("/accumulator", "/linear")),  # tf.keras optimizers
    ("wide_deep_classifier_v1", ("/Adagrad", "/Ftrl", "/Ftrl_1")),  # tf.compat.v1.train's
])
def test_optimizer_slots_and_iterations_come_from_legacy(name, slot_suffixes, tmp_path):
    estimator = models.estimator(name, str(tmp_path / "el"))
    loaded = el.migrate.warm_start_from_legacy(
        estimator, models.checkpoint_dir(name), models.input_fn(ROWS, name))
    legacy = set(loaded.names.values())
    legacy_slots = {n for n in GOLDEN["models"][name]["variables"] if n.endswith(slot_suffixes)}
    assert len(legacy_slots) == 18  # 5 linear variables x 2 Ftrl slots, 8 DNN x 1 Adagrad.
    assert legacy_slots <= legacy  # Every Ftrl and Adagrad slot of legacy was carried over.
    reader = tf.train.load_checkpoint(models.checkpoint_dir(name))
    for el_name, legacy_name in loaded.names.items():
        np.testing.assert_array_equal(estimator.get_variable_value(el_name),
                                      reader.get_tensor(legacy_name), err_msg=el_name)
    # Legacy counted the DNN optimizer's iterations in global_step, Ftrl's in its own.
    iterations = {n: v for n, v in loaded.names.items() if n.endswith("/iteration")}
    assert set(iterations.values()) <= {"global_step", "training/Ftrl/iter"}


def test_training_resumes_at_the_legacy_step(tmp_path):
    name = "dnn_regressor"
    estimator = models.estimator(name, str(tmp_path / "el"))
    el.migrate.warm_start_from_legacy(estimator, models.checkpoint_dir(name),
                                      models.input_fn(ROWS, name))
    estimator.train(models.input_fn(ROWS, name), steps=2)
    assert estimator.get_variable_value("global_step") == GOLDEN["models"][name]["global_step"] + 2


def test_name_map_for_warm_start_settings(tmp_path):
    name = "linear_regressor"
    estimator = models.estimator(name, str(tmp_path / "el"))
    names = el.migrate.legacy_name_map(estimator, models.checkpoint_dir(name),
                                       models.input_fn(ROWS, name))
    assert names["linear/company/weights"] == "linear/linear_model/company/weights"
    assert names["linear/bias_weights"] == "linear/linear_model/bias_weights"
    # Slots too: Ftrl computes a weight from its slots, so weights warm-started alone
    # would be replaced by fresh slots' values at their first update.
    warm = models.estimator(name, str(tmp_path / "warm"), warm_start_from=el.WarmStartSettings(
        models.checkpoint_dir(name), vars_to_warm_start=[f"^{n}$" for n in names],
        var_name_to_prev_var_name=names))
    warm.train(models.input_fn(ROWS, name), steps=1)
    reader = tf.train.load_checkpoint(models.checkpoint_dir(name))
    for el_name in ("linear/payment_type/weights", "linear/bias_weights"):
        legacy = reader.get_tensor(names[el_name])
        moved = np.abs(warm.get_variable_value(el_name) - legacy).max()
        assert 0 < moved < 0.05 * np.abs(legacy).max(), (el_name, moved)


def _bias_model_fn(features, labels, mode):
    """A user model_fn: a logit per example from one bias (the baseline's model)."""
    batch = tf.shape(features["fare"])[0]
    bias = keras.layers.Dense(1, name="prior")
    logits = bias(tf.zeros([batch, 1]))
    predictions = {"logits": logits}
    if mode == el.ModeKeys.PREDICT:
        return el.EstimatorSpec(mode, predictions=predictions)
    loss = el.losses.sigmoid_cross_entropy(tf.cast(labels, tf.float32), logits)
    return el.EstimatorSpec(mode, loss=loss, predictions=predictions,
                            train_op=keras.optimizers.SGD(0.1))


def test_user_model_fn_maps_through_var_name_to_prev_var_name(tmp_path):
    name = "baseline_classifier"
    estimator = el.Estimator(_bias_model_fn, model_dir=str(tmp_path / "el"))
    # The legacy bias is [1]; Dense's is [1] too, and its kernel is unused (zero input).
    with pytest.raises(ValueError, match=r"No legacy variable for \['prior/kernel'\]") as error:
        el.migrate.warm_start_from_legacy(
            estimator, models.checkpoint_dir(name), models.input_fn(ROWS, name),
            var_name_to_prev_var_name={"prior/bias": "baseline/bias"})
    assert "['baseline/bias']" not in str(error.value)  # Mapped: not offered as unused.
    with pytest.raises(ValueError, match=r"No legacy variable for \['prior/kernel', "
                                         r"'prior/bias'\].*\['baseline/bias'\]"):
        el.migrate.warm_start_from_legacy(estimator, models.checkpoint_dir(name),
                                          models.input_fn(ROWS, name))
    with pytest.raises(ValueError, match="'prior/bias' to 'bias', which is not in legacy"):
        el.migrate.warm_start_from_legacy(
            estimator, models.checkpoint_dir(name), models.input_fn(ROWS, name),
            var_name_to_prev_var_name={"prior/bias": "bias", "prior/kernel": "baseline/bias"})


class _Prior(keras.layers.Layer):
    def build(self, input_shape):
        self.bias = self.add_weight(shape=(1,), initializer="zeros", name="bias")

    def call(self, inputs):
        return inputs + self.bias


def _prior_model_fn(features, labels, mode):
    """A user model_fn with the baseline's one variable, under another name."""
    logits = _Prior(name="prior")(tf.zeros_like(features["fare"]))
    if mode == el.ModeKeys.PREDICT:
        return el.EstimatorSpec(mode, predictions={"logits": logits})
    loss = el.losses.sigmoid_cross_entropy(tf.cast(labels, tf.float32), logits)
    return el.EstimatorSpec(mode, loss=loss, train_op=keras.optimizers.SGD(0.1))


def test_user_model_fn_reproduces_legacy_predictions(tmp_path):
    name = "baseline_classifier"
    estimator = el.Estimator(_prior_model_fn, model_dir=str(tmp_path / "el"))
    loaded = el.migrate.warm_start_from_legacy(
        estimator, models.checkpoint_dir(name), models.input_fn(ROWS, name),
        var_name_to_prev_var_name={"prior/bias": "baseline/bias"})
    # The optimizer's iteration count (whatever el names it) continues from the legacy step.
    names = dict(loaded.names)
    assert names.pop("prior/bias") == "baseline/bias"
    assert [(n.endswith("/iteration"), legacy) for n, legacy in names.items()] == [
        (True, "global_step")]
    got = _predictions(estimator, name)["logits"]
    np.testing.assert_allclose(got, GOLDEN["models"][name]["predictions"]["logits"], atol=1e-6)
    with pytest.raises(ValueError, match=r"names \['dense/bias'\], which the model does not"):
        el.migrate.legacy_name_map(estimator, models.checkpoint_dir(name),
                                   models.input_fn(ROWS, name),
                                   var_name_to_prev_var_name={"dense/bias": "baseline/bias"})


def test_refuses_a_model_dir_with_a_checkpoint(tmp_path):
    name = "baseline_classifier"
    estimator = models.estimator(name, str(tmp_path / "el"))
    el.migrate.warm_start_from_legacy(estimator, models.checkpoint_dir(name),
                                      models.input_fn(ROWS, name))
    with pytest.raises(ValueError, match="already holds checkpoint"):
        el.migrate.warm_start_from_legacy(estimator, models.checkpoint_dir(name),
                                          models.input_fn(ROWS, name))
    with pytest.raises(ValueError, match="is an object-based checkpoint"):
        el.migrate.warm_start_from_legacy(models.estimator(name, str(tmp_path / "other")),
                                          str(tmp_path / "el"), models.input_fn(ROWS, name))
    with pytest.raises(ValueError, match="neither a checkpoint prefix nor a model_dir"):
        el.migrate.warm_start_from_legacy(models.estimator(name, str(tmp_path / "other")),
                                          str(tmp_path / "nowhere"), models.input_fn(ROWS, name))


# Made by tf.estimator 2.15 (tf.feature_column) for the first 12 golden rows.
_LEGACY_CROSS_IDS = {"column": [23, 12, 12, 4, 1, 12, 14, 14, 12, 1, 14, 12],
                     "raw_key": [26, 6, 6, 29, 26, 6, 14, 14, 6, 26, 14, 6]}


@pytest.mark.parametrize("kind", [
    "column",
    "raw_key",
])
def test_crossed_raw_key_and_column_hash_as_legacy(kind):
    fc = el.feature_column
    rows = ROWS[:12]
    payment = fc.categorical_column_with_vocabulary_list("payment_type", spec.PAYMENT_TYPES,
                                                         num_oov_buckets=1)
    hour = fc.bucketized_column(fc.numeric_column("trip_start_hour"), spec.HOUR_BOUNDARIES)
    cross = fc.crossed_column([payment if kind == "column" else "payment_type", hour], 30)
    x = {k: tf.constant(v) for k, v in models.features(rows).items()}
    ids = tf.sparse.to_dense(cross.sparse_ids(x).ids, default_value=-1).numpy()[:, 0]
    assert ids.tolist() == _LEGACY_CROSS_IDS[kind]
