"""tf.estimator's BinaryClassHead expectations (head/binary_class_head_test.py).

Inputs and expected numbers are the legacy test's; each case names the legacy test.
"""

import numpy as np
import pytest
import tensorflow as tf

from estimator_lib import feature_columns as fc
from estimator_lib.heads import BinaryClassHead, PredictionKeys
from estimator_lib.heads import MetricKeys as keys
from estimator_lib.losses import Reduction
from tests.estimator_lib.legacy_expectations.helpers import assert_metrics, metric_results

LOGITS = np.array([[45], [-41]], np.float32)
LABELS = np.array([[1], [1]], np.int32)
FEATURES = {"x": np.array([[42]], np.int32)}
# test_eval: loss (0 + 41) / 2; one of two positives predicted.
EVAL_METRICS = {keys.LOSS_MEAN: 20.5, keys.ACCURACY: 0.5, keys.PRECISION: 1.0,
                keys.RECALL: 0.5, keys.PREDICTION_MEAN: 0.5, keys.LABEL_MEAN: 1.0,
                keys.ACCURACY_BASELINE: 1.0, keys.AUC: 0.0, keys.AUC_PR: 1.0}

WEIGHTED_LOGITS = np.array([[45], [-41], [44]], np.int32)
WEIGHTED_LABELS = np.array([[1], [1], [0]], np.int32)
WEIGHTED_FEATURES = {"x": np.array([[42], [43], [44]], np.int32),
                     "label_weights": np.array([[1.0], [0.1], [1.5]], np.float32)}
FLOAT_LOGITS = np.array([[0.5], [-0.3]], np.float32)
FLOAT_LABELS = np.array([[0.8], [0.4]], np.float32)


def test_predict():
    # test_predict
    predictions = BinaryClassHead().predictions(np.array([[0.3], [-0.4]], np.float32))
    np.testing.assert_allclose(predictions[PredictionKeys.LOGISTIC], [[0.574443], [0.401312]],
                               rtol=1e-5)
    np.testing.assert_allclose(predictions[PredictionKeys.PROBABILITIES],
                               [[0.425557, 0.574443], [0.598688, 0.401312]], rtol=1e-5)
    np.testing.assert_array_equal(predictions[PredictionKeys.CLASS_IDS], [[1], [0]])
    np.testing.assert_array_equal(predictions[PredictionKeys.CLASSES], [[b"1"], [b"0"]])
    np.testing.assert_array_equal(predictions[PredictionKeys.ALL_CLASS_IDS], [[0, 1]] * 2)
    np.testing.assert_array_equal(predictions[PredictionKeys.ALL_CLASSES], [[b"0", b"1"]] * 2)


def test_predict_with_vocabulary_list():
    # test_predict_with_vocabulary_list
    head = BinaryClassHead(label_vocabulary=["aang", "iroh"])
    classes = head.predictions(np.array([[1.0], [0.0]], np.float32))[PredictionKeys.CLASSES]
    np.testing.assert_array_equal(classes, [[b"iroh"], [b"aang"]])


def test_weighted_multi_example_predict():
    # test_weighted_multi_example_predict
    predictions = BinaryClassHead(weight_column="label_weights").predictions(WEIGHTED_LOGITS)
    np.testing.assert_allclose(predictions[PredictionKeys.PROBABILITIES],
                               [[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]], atol=1e-6)
    np.testing.assert_array_equal(predictions[PredictionKeys.CLASS_IDS], [[1], [0], [1]])


@pytest.mark.parametrize("legacy, head_kwargs, labels, logits, features, expected", [
    ("test_eval_create_loss", {}, LABELS, LOGITS, FEATURES, 20.5),
    ("test_train_create_loss", {}, LABELS.astype(np.float64), LOGITS, FEATURES, 20.5),
    ("test_train_create_loss_loss_reduction", {"loss_reduction": Reduction.SUM},
     LABELS.astype(np.float64), LOGITS, FEATURES, 41.0),
    ("test_eval_with_vocabulary_list_create_loss", {"label_vocabulary": ["aang", "iroh"]},
     np.array([[b"iroh"], [b"iroh"]]), LOGITS, FEATURES, 20.5),
    ("test_eval_with_thresholds_create_loss", {"thresholds": [0.25, 0.5, 0.75]}, LABELS,
     np.array([[-1], [1]], np.float32), FEATURES, 0.813192855),
    ("test_train_one_dim_create_loss (rank-1 labels and weights)",
     {"weight_column": "label_weights"},
     np.array([1.0, 1.0, 0.0]), WEIGHTED_LOGITS.astype(np.float32),
     {"label_weights": np.array([1.0, 0.1, 1.5])}, 23.366666667),
    ("test_float_labels_train_create_loss", {}, FLOAT_LABELS, FLOAT_LOGITS, FEATURES,
     0.62421611432),
])
def test_loss(legacy, head_kwargs, labels, logits, features, expected):
    loss = BinaryClassHead(**head_kwargs).loss(labels, logits, features=features)
    # The legacy eval cases compare within 1e-2 (0.813192855 is its rounding of 0.8132617).
    tolerance = 1e-2 if legacy.startswith("test_eval") else 1e-6
    assert float(loss) == pytest.approx(expected, rel=tolerance, abs=tolerance)


def test_eval_create_loss_loss_fn():
    # test_eval_create_loss_loss_fn: the loss_fn's [[1], [2]] over batch size 2.
    head = BinaryClassHead(loss_fn=lambda labels, logits: tf.constant([[1.0], [2.0]]))
    loss = head.loss(np.array([[1], [0]], np.int64), np.array([[-10.0], [10.0]], np.float32),
                     features=FEATURES)
    assert float(loss) == pytest.approx(1.5)


def test_eval():
    # test_eval
    head = BinaryClassHead()
    assert_metrics(metric_results(head, FEATURES, LOGITS, LABELS), EVAL_METRICS)
    assert float(head.loss(LABELS, LOGITS, features=FEATURES)) == pytest.approx(20.5)


def test_eval_metric_ops_with_head_name():
    # test_eval_metric_ops_with_head_name: every key suffixed with the head's name.
    head = BinaryClassHead(name="some_binary_head")
    results = metric_results(head, FEATURES, LOGITS, LABELS)
    assert sorted(results) == sorted(f"{k}/some_binary_head" for k in EVAL_METRICS)


def test_eval_with_regularization_losses():
    # test_eval_with_regularization_losses and test_train_with_regularization_losses.
    head = BinaryClassHead()
    results = metric_results(head, FEATURES, LOGITS, LABELS, regularization_losses=[1.5, 0.5])
    assert_metrics(results, {**EVAL_METRICS, keys.LOSS_REGULARIZATION: 2.0})
    loss = head.loss(LABELS, LOGITS, features=FEATURES, regularization_losses=[1.5, 0.5])
    assert float(loss) == pytest.approx(22.5)


def test_eval_with_vocabulary_list():
    # test_eval_with_vocabulary_list
    head = BinaryClassHead(label_vocabulary=["aang", "iroh"])
    results = metric_results(head, FEATURES, LOGITS, np.array([[b"iroh"], [b"iroh"]]))
    assert results[keys.ACCURACY] == pytest.approx(0.5)


def test_eval_with_thresholds():
    # test_eval_with_thresholds (legacy tolerance 1e-2 on the metrics).
    thresholds = [0.25, 0.5, 0.75]
    head = BinaryClassHead(thresholds=thresholds)
    logits = np.array([[-1], [1]], np.float32)
    expected = {**EVAL_METRICS, keys.LOSS_MEAN: 1.62652338 / 2.0}
    for threshold, (accuracy, precision, recall) in zip(
            thresholds, [(1.0, 1.0, 1.0), (0.5, 1.0, 0.5), (0.0, 0.0, 0.0)], strict=True):
        expected[keys.ACCURACY_AT_THRESHOLD % threshold] = accuracy
        expected[keys.PRECISION_AT_THRESHOLD % threshold] = precision
        expected[keys.RECALL_AT_THRESHOLD % threshold] = recall
    assert_metrics(metric_results(head, FEATURES, logits, LABELS), expected, rtol=1e-2, atol=1e-2)
    assert float(head.loss(LABELS, logits, features=FEATURES)) == pytest.approx(1.62652338 / 2)


def test_float_labels_eval():
    # test_float_labels_eval / test_float_labels_eval_create_loss
    head = BinaryClassHead()
    loss = head.loss(FLOAT_LABELS, FLOAT_LOGITS, features=FEATURES)
    assert float(loss) == pytest.approx(0.6242161, abs=1e-5)
    results = metric_results(head, FEATURES, FLOAT_LOGITS, FLOAT_LABELS)
    assert results[keys.LOSS_MEAN] == pytest.approx(0.6242161, abs=1e-5)


def test_float_labels_invalid_values():
    # test_float_labels_invalid_values: a float label above 1 is an error.
    with pytest.raises(ValueError, match="labels"):
        BinaryClassHead().loss(np.array([[1.2], [0.4]], np.float32), FLOAT_LOGITS,
                               features=FEATURES)


def test_weighted_multi_example_eval():
    # test_weighted_multi_example_eval
    head = BinaryClassHead(weight_column="label_weights")
    label_mean = 0.42307692307
    expected = {keys.LOSS_MEAN: 26.9615384615, keys.ACCURACY: 0.38461538461,
                keys.PRECISION: 1.0 / 2.5, keys.RECALL: 1.0 / 1.1,
                keys.PREDICTION_MEAN: 0.96153846153, keys.LABEL_MEAN: label_mean,
                keys.ACCURACY_BASELINE: 1 - label_mean, keys.AUC: 0.45454565,
                keys.AUC_PR: 0.4010627}
    results = metric_results(head, WEIGHTED_FEATURES, WEIGHTED_LOGITS, WEIGHTED_LABELS)
    assert_metrics(results, expected)
    loss = head.loss(WEIGHTED_LABELS, WEIGHTED_LOGITS, features=WEIGHTED_FEATURES)
    assert float(loss) == pytest.approx(23.366666667, rel=1e-6)


def test_weight_with_numeric_column():
    # As RegressionHead's test_weight_with_numeric_column: the column's normalizer applies.
    head = BinaryClassHead(weight_column=fc.numeric_column(
        "label_weights", normalizer_fn=lambda x: x + 1.0))
    features = {"label_weights": np.array([[0.0], [-0.9], [0.5]], np.float32)}
    loss = head.loss(WEIGHTED_LABELS, WEIGHTED_LOGITS, features=features)
    assert float(loss) == pytest.approx(23.366666667, rel=1e-6)
