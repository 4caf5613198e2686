"""tf.estimator's Baseline expectations (canned/baseline_test.py).

Each case writes the legacy test's checkpoint (`baseline/bias`, global step 100), then
evaluates, predicts or trains with the library's BaselineRegressor/Classifier and compares
with the legacy numbers. Training uses SGD with learning rate 0 so the bias stays as the
legacy mock optimizer left it, and records the loss the mock optimizer asserted.
"""

import math

import keras
import numpy as np
import pytest

import estimator_lib as el
from estimator_lib.heads import MetricKeys as keys
from tests.estimator_lib.legacy_expectations.helpers import (
    LossRecorder,
    assert_metrics,
    one_batch,
    sgd_state,
    write_checkpoint,
)

BIAS = "baseline/bias"
CONFIG = el.RunConfig(log_step_count_steps=None, save_checkpoints_secs=None)


def frozen_sgd():
    return keras.optimizers.SGD(0.0)


def evaluate(estimator, input_fn):
    return {k: float(v) for k, v in estimator.evaluate(input_fn, steps=1).items()}


@pytest.mark.parametrize("legacy, bias, kwargs, features, labels, expected", [
    ("test_evaluation_for_simple_data", [13.0], {}, {"age": [[1.0]]}, [[10.0]],
     {keys.LOSS: 9.0, keys.LOSS_MEAN: 9.0, keys.PREDICTION_MEAN: 13.0, keys.LABEL_MEAN: 10.0}),
    ("test_evaluation_batch", [13.0], {}, {"age": [[1.0], [1.0]]}, [[10.0], [10.0]],
     {keys.LOSS: 9.0, keys.LOSS_MEAN: 9.0, keys.PREDICTION_MEAN: 13.0, keys.LABEL_MEAN: 10.0}),
    ("test_evaluation_weights", [13.0], {"weight_column": "weights"},
     {"age": [[1.0], [1.0]], "weights": [[1.0], [2.0]]}, [[10.0], [10.0]],
     {keys.LOSS: 13.5, keys.LOSS_MEAN: 9.0, keys.PREDICTION_MEAN: 13.0,
      keys.LABEL_MEAN: 10.0}),
], ids=lambda v: v if isinstance(v, str) and v.startswith("test_") else "")
def test_regressor_evaluation(tmp_path, legacy, bias, kwargs, features, labels, expected):
    write_checkpoint(tmp_path, {BIAS: bias}, global_step=100)
    regressor = el.BaselineRegressor(model_dir=str(tmp_path), config=CONFIG, **kwargs)
    results = evaluate(regressor, one_batch(
        {k: np.array(v, np.float32) for k, v in features.items()}, np.array(labels, np.float32)))
    assert_metrics(results, {**expected, "global_step": 100})


def test_regressor_evaluation_for_multi_dimensions(tmp_path):
    # test_evaluation_for_multi_dimensions: the bias is the label, so the loss is 0.
    write_checkpoint(tmp_path, {BIAS: [46.0, 58.0]}, global_step=100)
    regressor = el.BaselineRegressor(label_dimension=2, model_dir=str(tmp_path), config=CONFIG)
    results = evaluate(regressor, one_batch({"age": np.array([[2.0, 4.0, 5.0]], np.float32)},
                                            np.array([[46.0, 58.0]], np.float32)))
    assert results[keys.LOSS] == pytest.approx(0.0, abs=1e-6)
    assert sorted(results) == sorted([keys.LOSS, keys.LOSS_MEAN, keys.PREDICTION_MEAN,
                                      keys.LABEL_MEAN, "global_step"])


@pytest.mark.parametrize("legacy, bias, x, expected", [
    ("BaselineRegressorPredictTest.test_1d", [0.2], [[2.0]], [[0.2]]),
    ("BaselineRegressorPredictTest.testMultiDim", [0.2, 0.4, 0.6],
     [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]], [[0.2, 0.4, 0.6], [0.2, 0.4, 0.6]]),
], ids=lambda v: v if isinstance(v, str) and "Test." in v else "")
def test_regressor_predict(tmp_path, legacy, bias, x, expected):
    write_checkpoint(tmp_path, {BIAS: bias}, global_step=100)
    regressor = el.BaselineRegressor(label_dimension=len(bias), model_dir=str(tmp_path),
                                     config=CONFIG)
    rows = list(regressor.predict(one_batch({"x": np.array(x, np.float32)})))
    np.testing.assert_allclose([row["predictions"] for row in rows], expected, rtol=1e-6)


def test_regressor_train_from_checkpoint_multi_batch(tmp_path):
    # testFromCheckpointMultiBatch: logits 5, labels (5, 3): loss ((0 + 4) / 2) = 2.
    write_checkpoint(tmp_path, {BIAS: [5.0], **sgd_state(100)}, global_step=100)
    regressor = el.BaselineRegressor(model_dir=str(tmp_path), optimizer=frozen_sgd,
                                     config=CONFIG)
    recorder = LossRecorder()
    regressor.train(one_batch({"age": np.array([[17.0], [15.0]], np.float32)},
                              np.array([[5.0], [3.0]], np.float32), repeat=True),
                    steps=10, hooks=[recorder])
    assert recorder.losses and all(loss == pytest.approx(2.0) for loss in recorder.losses)
    assert regressor.get_variable_value("global_step") == 110
    assert regressor.get_variable_value("optimizer/iteration") == 110
    np.testing.assert_array_equal(regressor.get_variable_value(BIAS), [5.0])


def softmax_loss(logits, label):
    logits = np.asarray(logits, np.float64)
    return -math.log(np.exp(logits[label]) / np.exp(logits).sum())


# (legacy test, n_classes, labels, expected loss): bias -1 (per class), from step 100.
FROM_CHECKPOINT = [
    ("testBinaryClassesFromCheckpoint", 2, [[1]], 1.3133),
    ("testMultiClassesFromCheckpoint", 4, [[1]], softmax_loss([-1.0] * 4, 1)),
    ("testBinaryClassesFromCheckpointFloatLabels", 2, [[0.8]], 1.1132617),
    ("testBinaryClassesFromCheckpointMultiBatch", 2, [[1], [0]], (1.3133 + 0.3132) / 2),
    ("testMultiClassesFromCheckpointMultiBatch", 4, [[1], [0]],
     (softmax_loss([-1.0] * 4, 1) + softmax_loss([-1.0] * 4, 0)) / 2),
]


@pytest.mark.parametrize("legacy, n_classes, labels, expected", FROM_CHECKPOINT,
                         ids=[c[0] for c in FROM_CHECKPOINT])
def test_classifier_train_from_checkpoint(tmp_path, legacy, n_classes, labels, expected):
    bias = [-1.0] if n_classes == 2 else [-1.0] * n_classes
    write_checkpoint(tmp_path, {BIAS: bias, **sgd_state(100)}, global_step=100)
    classifier = el.BaselineClassifier(n_classes=n_classes, model_dir=str(tmp_path),
                                       optimizer=frozen_sgd, config=CONFIG)
    labels = np.array(labels, np.float32 if isinstance(labels[0][0], float) else np.int64)
    recorder = LossRecorder()
    classifier.train(one_batch({"age": np.full([len(labels), 1], 17.0, np.float32)}, labels,
                               repeat=True), steps=10, hooks=[recorder])
    assert recorder.losses and all(loss == pytest.approx(expected, rel=1e-4)
                                   for loss in recorder.losses)
    assert classifier.get_variable_value("global_step") == 110
    np.testing.assert_array_equal(classifier.get_variable_value(BIAS), bias)


@pytest.mark.parametrize("n_classes", [2, 4], ids=["testBinaryClassesFromScratch",
                                                   "testMultiClassesFromScratch"])
def test_classifier_train_from_scratch(tmp_path, n_classes):
    # _testFromScratch: zero bias, label 1: loss -log(1 / n_classes) for both heads.
    classifier = el.BaselineClassifier(n_classes=n_classes, model_dir=str(tmp_path),
                                       optimizer=frozen_sgd, config=CONFIG)
    recorder = LossRecorder()
    classifier.train(one_batch({"age": np.array([[17.0]], np.float32)},
                               np.array([[1]], np.int64), repeat=True),
                     steps=10, hooks=[recorder])
    assert recorder.losses[-1] == pytest.approx(-math.log(1.0 / n_classes), rel=1e-6)
    assert classifier.get_variable_value("optimizer/iteration") == 10
    np.testing.assert_array_equal(classifier.get_variable_value(BIAS),
                                  [0.0] * (1 if n_classes == 2 else n_classes))


@pytest.mark.parametrize("n_classes", [2, 4], ids=["test_binary_classes_evaluation_for_simple_data",
                                                   "test_multi_classes_evaluation_for_simple_data"])
def test_classifier_evaluation_for_simple_data(tmp_path, n_classes):
    bias = [-1.0] if n_classes == 2 else [-1.0] * n_classes
    write_checkpoint(tmp_path, {BIAS: bias}, global_step=100)
    classifier = el.BaselineClassifier(n_classes=n_classes, model_dir=str(tmp_path),
                                       config=CONFIG)
    results = evaluate(classifier, one_batch({"age": np.array([[1.0]], np.float32)},
                                             np.array([[1]], np.int64)))
    if n_classes == 2:
        expected = {keys.LOSS: 1.3133, keys.LOSS_MEAN: 1.3133, keys.ACCURACY: 0.0,
                    keys.PRECISION: 0.0, keys.RECALL: 0.0, keys.PREDICTION_MEAN: 0.2689,
                    keys.LABEL_MEAN: 1.0, keys.ACCURACY_BASELINE: 1.0, keys.AUC: 0.0,
                    keys.AUC_PR: 1.0}
    else:
        loss = softmax_loss(bias, 1)
        expected = {keys.LOSS: loss, keys.LOSS_MEAN: loss, keys.ACCURACY: 0.0}
    assert_metrics(results, {**expected, "global_step": 100}, rtol=1e-3, atol=1e-6)
