"""tf.estimator's wide & deep expectations (canned/dnn_linear_combined_test.py), and one
SGD step from a known checkpoint (the step the legacy linear/DNN train tests checked
through mock optimizers), on el.DNNLinearCombined*.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from estimator_lib import feature_columns as fc
from estimator_lib.losses import Reduction
from tests.estimator_lib.legacy_expectations.helpers import (
    LossRecorder,
    one_batch,
    sgd_state,
    write_checkpoint,
)

CONFIG = el.RunConfig(log_step_count_steps=None, save_checkpoints_secs=None, tf_random_seed=1)
X = fc.numeric_column("x")
WIDE_AND_DEEP = {"linear/x/weights": [[1.0]], "linear/bias_weights": [2.0],
                 "dnn_hiddenlayer_0/kernel": [[3.0]], "dnn_hiddenlayer_0/bias": [4.0],
                 "dnn_logits/kernel": [[5.0]], "dnn_logits/bias": [6.0]}


def test_dnn_and_linear_logits_are_added(tmp_path):
    # test_dnn_and_linear_logits_are_added: linear 10 * 1 + 2 = 12, dnn (10 * 3 + 4) * 5 + 6
    # = 176, logits 188.
    write_checkpoint(tmp_path, WIDE_AND_DEEP, global_step=1)
    estimator = el.DNNLinearCombinedRegressor(
        linear_feature_columns=[X], dnn_feature_columns=[X], dnn_hidden_units=[1],
        model_dir=str(tmp_path), config=CONFIG)
    row = next(estimator.predict(one_batch({"x": np.array([[10.0]], np.float32)})))
    np.testing.assert_allclose(row["predictions"], [188.0])


def test_one_sgd_step_from_a_known_checkpoint_updates_both_parts(tmp_path):
    # As test_train_op_calls_both_dnn_and_linear (each part's optimizer trains its own
    # variables), with the step worked out: x = 10, label 200, logits 188, loss
    # (188 - 200)^2 = 144, dloss/dlogits = -24. Learning rate 0.001 for both parts:
    #   linear: w 1 + 0.001 * 24 * 10 = 1.24, bias 2 + 0.024 = 2.024;
    #   dnn: logits kernel 5 + 0.001 * 24 * 34 = 5.816, logits bias 6.024,
    #        hidden kernel 3 + 0.001 * 24 * 5 * 10 = 4.2, hidden bias 4 + 0.001 * 24 * 5 = 4.12.
    values = dict(WIDE_AND_DEEP)
    for part in ("linear_optimizer", "dnn_optimizer"):
        values.update({k.replace("optimizer", part, 1): v
                       for k, v in sgd_state(1, 0.001).items()})
    write_checkpoint(tmp_path, values, global_step=1)
    estimator = el.DNNLinearCombinedRegressor(
        linear_feature_columns=[X], dnn_feature_columns=[X], dnn_hidden_units=[1],
        linear_optimizer=lambda: keras.optimizers.SGD(0.001),
        dnn_optimizer=lambda: keras.optimizers.SGD(0.001), model_dir=str(tmp_path),
        config=CONFIG)
    recorder = LossRecorder()
    estimator.train(one_batch({"x": np.array([[10.0]], np.float32)},
                              np.array([[200.0]], np.float32), repeat=True),
                    steps=1, hooks=[recorder])
    assert recorder.losses == [pytest.approx(144.0)]
    expected = {"linear/x/weights": [[1.24]], "linear/bias_weights": [2.024],
                "dnn_logits/kernel": [[5.816]], "dnn_logits/bias": [6.024],
                "dnn_hiddenlayer_0/kernel": [[4.2]], "dnn_hiddenlayer_0/bias": [4.12]}
    for name, value in expected.items():
        np.testing.assert_allclose(estimator.get_variable_value(name), value, rtol=1e-5,
                                   err_msg=name)
    assert estimator.get_variable_value("global_step") == 2
    assert estimator.get_variable_value("linear_optimizer/iteration") == 2
    assert estimator.get_variable_value("dnn_optimizer/iteration") == 2


def test_linear_train_from_checkpoint_loss(tmp_path):
    # linear_testing_utils BaseLinearRegressorTrainingTest.testFromCheckpoint: age weight
    # 10, bias 5, age 17, label 5: loss (17 * 10 + 5 - 5)^2 = 28900, from step 100.
    write_checkpoint(tmp_path, {"linear/age/weights": [[10.0]], "linear/bias_weights": [5.0],
                                **sgd_state(100)}, global_step=100)
    estimator = el.LinearRegressor(feature_columns=[fc.numeric_column("age")],
                                   optimizer=lambda: keras.optimizers.SGD(0.0),
                                   model_dir=str(tmp_path), config=CONFIG)
    recorder = LossRecorder()
    estimator.train(one_batch({"age": np.array([[17.0]], np.float32)},
                              np.array([[5.0]], np.float32), repeat=True),
                    steps=10, hooks=[recorder])
    assert recorder.losses and all(x == pytest.approx(28900.0) for x in recorder.losses)
    assert estimator.get_variable_value("global_step") == 110


def test_linear_train_from_checkpoint_multi_batch_loss(tmp_path):
    # testFromCheckpointMultiBatch: ages (17, 15), labels (5, 3): logits (175, 155),
    # summed squared error (170^2 + 152^2) = 52004 with the legacy file's SUM reduction.
    write_checkpoint(tmp_path, {"linear/age/weights": [[10.0]], "linear/bias_weights": [5.0],
                                **sgd_state(100)}, global_step=100)
    estimator = el.LinearRegressor(feature_columns=[fc.numeric_column("age")],
                                   optimizer=lambda: keras.optimizers.SGD(0.0),
                                   loss_reduction=Reduction.SUM,
                                   model_dir=str(tmp_path), config=CONFIG)
    recorder = LossRecorder()
    estimator.train(one_batch({"age": np.array([[17.0], [15.0]], np.float32)},
                              np.array([[5.0], [3.0]], np.float32), repeat=True),
                    steps=10, hooks=[recorder])
    assert recorder.losses[-1] == pytest.approx(52004.0)


def city_input_fn():
    features = {"age": np.array([[23.0], [31.0]], np.float32),
                "city": np.array([["Palo Alto"], ["Mountain View"]], object)}
    return tf.data.Dataset.from_tensors((features, np.array([[0], [1]], np.int64))).repeat()


def columns():
    city = fc.categorical_column_with_vocabulary_list("city", ["Mountain View", "Palo Alto"])
    return [fc.numeric_column("age")], [fc.embedding_column(city, 5)]


def frozen():
    return keras.optimizers.SGD(0.0)


@pytest.mark.parametrize("make, kwargs", [
    (el.DNNLinearCombinedClassifier, {"n_classes": 4}),
    (el.DNNLinearCombinedRegressor, {}),
], ids=["test_classifier_basic_warm_starting", "test_regressor_basic_warm_starting"])
def test_basic_warm_starting(tmp_path, make, kwargs):
    # Warm-started with learning rate 0, every model variable equals the source's.
    linear, deep = columns()
    source = make(linear_feature_columns=linear, dnn_feature_columns=deep,
                  dnn_hidden_units=[256, 128], model_dir=str(tmp_path / "source"),
                  linear_optimizer="SGD", dnn_optimizer="SGD", config=CONFIG, **kwargs)
    labels_fn = city_input_fn if make is el.DNNLinearCombinedClassifier else (
        lambda: city_input_fn().map(lambda f, y: (f, tf.cast(y, tf.float32))))
    source.train(labels_fn, max_steps=1)
    warm = make(linear_feature_columns=linear, dnn_feature_columns=deep,
                dnn_hidden_units=[256, 128], model_dir=str(tmp_path / "warm"),
                linear_optimizer=frozen, dnn_optimizer=frozen,
                warm_start_from=source.model_dir, config=CONFIG, **kwargs)
    warm.train(labels_fn, max_steps=1)
    model_variables = [n for n in warm.get_variable_names()
                       if not n.startswith(("linear_optimizer/", "dnn_optimizer/"))]
    assert "dnn_input/city_embedding/embedding_weights" in model_variables
    for name in model_variables:
        np.testing.assert_allclose(warm.get_variable_value(name),
                                   source.get_variable_value(name), err_msg=name)


def test_warm_starting_selective_variables(tmp_path):
    # test_warm_starting_selective_variables: '.*(dnn).*' warm-starts the deep part only;
    # the linear part keeps its zero initialization (learning rate 0).
    linear, deep = columns()
    source = el.DNNLinearCombinedClassifier(
        linear_feature_columns=linear, dnn_feature_columns=deep, dnn_hidden_units=[256, 128],
        n_classes=4, model_dir=str(tmp_path / "source"), linear_optimizer="SGD",
        dnn_optimizer="SGD", config=CONFIG)
    source.train(city_input_fn, max_steps=1)
    warm = el.DNNLinearCombinedClassifier(
        linear_feature_columns=linear, dnn_feature_columns=deep, dnn_hidden_units=[256, 128],
        n_classes=4, model_dir=str(tmp_path / "warm"), linear_optimizer=frozen,
        dnn_optimizer=frozen, config=CONFIG,
        warm_start_from=el.WarmStartSettings(source.model_dir, vars_to_warm_start=".*(dnn).*"))
    warm.train(city_input_fn, max_steps=1)
    for name in warm.get_variable_names():
        if name.startswith(("dnn_optimizer/", "linear_optimizer/")) or name == "global_step":
            continue
        value = warm.get_variable_value(name)
        if "dnn" in name:
            np.testing.assert_allclose(value, source.get_variable_value(name), err_msg=name)
        else:
            np.testing.assert_array_equal(value, np.zeros_like(value), err_msg=name)
