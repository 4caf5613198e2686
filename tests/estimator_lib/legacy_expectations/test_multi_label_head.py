"""tf.estimator's MultiLabelHead expectations (head/multi_label_head_test.py).

Inputs and expected numbers are the legacy test's; each case names the legacy test. The
legacy eval and train cases compare within 1e-3, kept here.
"""

import numpy as np
import pytest
import tensorflow as tf

from estimator_lib.heads import MetricKeys as keys
from estimator_lib.heads import MultiLabelHead, PredictionKeys
from estimator_lib.losses import Reduction
from tests.estimator_lib.legacy_expectations.helpers import assert_metrics, metric_results

TOL = 1e-3
LOGITS = np.array([[-1.0, 1.0], [-1.5, 1.5]], np.float32)
LABELS = np.array([[1, 0], [1, 1]], np.int64)
LARGE_LOGITS = np.array([[-10.0, 10.0], [-15.0, 10.0]], np.float32)
FEATURES = {"x": np.array([[42]], np.int32)}


def sigmoid_cross_entropy(labels, logits):
    """The legacy test's `_sigmoid_cross_entropy`: per example, averaged over classes."""
    p = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    losses = -labels * np.log(p) - (1 - labels) * np.log(1 - p)
    return np.mean(losses, axis=-1, keepdims=True)


EXPECTED_LOSS = 0.5 * np.sum(sigmoid_cross_entropy(LABELS, LOGITS))
BASE_METRICS = {keys.LOSS_MEAN: EXPECTED_LOSS, keys.AUC: 0.3333, keys.AUC_PR: 0.7689}


def sparse_labels(values):
    return tf.sparse.SparseTensor(values=values, indices=[[0, 0], [1, 0], [1, 1]],
                                  dense_shape=[2, 2])


def test_predict():
    # test_predict / test_weight_should_not_impact_prediction
    logits = np.array([[0.0, 1.0, 2.0, -1.0], [-1.0, -2.0, -3.0, 1.0]], np.float32)
    predictions = MultiLabelHead(4, weight_column="example_weights").predictions(logits)
    np.testing.assert_allclose(predictions[PredictionKeys.PROBABILITIES],
                               1.0 / (1.0 + np.exp(-logits)), rtol=1e-6)
    np.testing.assert_array_equal(predictions[PredictionKeys.CLASSES],
                                  [[b"0", b"1", b"2", b"3"]] * 2)


@pytest.mark.parametrize("legacy, head_kwargs, labels, logits, features, expected", [
    ("test_eval_create_loss", {}, LABELS, LOGITS, FEATURES,
     0.5 * np.sum(sigmoid_cross_entropy(LABELS, np.array([[-1.0, 1.0], [-1.5, 1.0]])))),
    ("test_eval_create_loss_large_logits", {}, LABELS, LARGE_LOGITS, FEATURES,
     0.5 * (20.0 / 2 + 15.0 / 2)),
    ("test_train_create_loss_large_logits", {"weight_column": "example_weights"}, LABELS,
     LARGE_LOGITS, {"example_weights": np.array([[1.0], [2.0]], np.float32)},
     (1.0 * 20.0 / 2.0 + 2.0 * 15.0 / 2.0) / 2.0),
    ("test_train_create_loss_loss_reduction",
     {"weight_column": "example_weights", "loss_reduction": Reduction.SUM}, LABELS,
     LARGE_LOGITS, {"example_weights": np.array([[1.0], [2.0]], np.float32)},
     (1.0 * 20.0 + 2.0 * 15.0) / 2.0),
    ("test_train", {}, LABELS, LARGE_LOGITS, FEATURES, 8.75),
    ("test_train_sparse_labels", {}, sparse_labels([0, 0, 1]), LARGE_LOGITS, FEATURES, 8.75),
    ("test_train_with_label_vocabulary", {"label_vocabulary": ["class0", "class1"]},
     sparse_labels(["class0", "class0", "class1"]), LARGE_LOGITS, FEATURES, 8.75),
], ids=lambda v: v if isinstance(v, str) and v.startswith("test_") else "")
def test_loss(legacy, head_kwargs, labels, logits, features, expected):
    if legacy == "test_eval_create_loss":
        logits = np.array([[-1.0, 1.0], [-1.5, 1.0]], np.float32)
    loss = MultiLabelHead(2, **head_kwargs).loss(labels, logits, features=features)
    assert float(loss) == pytest.approx(expected, rel=TOL, abs=1e-4)


def test_train_with_regularization_losses():
    # test_train_with_regularization_losses: 8.75 + 2.
    loss = MultiLabelHead(2).loss(LABELS, LARGE_LOGITS, features=FEATURES,
                                  regularization_losses=[1.5, 0.5])
    assert float(loss) == pytest.approx(10.75, rel=TOL)


def test_eval_create_loss_loss_fn():
    # test_eval_create_loss_loss_fn
    head = MultiLabelHead(2, loss_fn=lambda labels, logits: tf.constant([[1.0], [2.0]]))
    assert float(head.loss(LABELS, LARGE_LOGITS, features=FEATURES)) == pytest.approx(1.5)


@pytest.mark.parametrize("legacy, head_kwargs, labels", [
    ("test_eval", {}, LABELS),
    ("test_eval_sparse_labels", {}, sparse_labels([0, 0, 1])),
    ("test_eval_with_label_vocabulary", {"label_vocabulary": ["class0", "class1"]},
     sparse_labels(["class0", "class0", "class1"])),
    ("test_eval_with_label_vocabulary_with_multi_hot_input",
     {"label_vocabulary": ["class0", "class1"]}, LABELS),
], ids=lambda v: v if isinstance(v, str) and v.startswith("test_") else "")
def test_eval(legacy, head_kwargs, labels):
    head = MultiLabelHead(2, **head_kwargs)
    assert float(head.loss(labels, LOGITS, features={})) == pytest.approx(EXPECTED_LOSS,
                                                                         rel=TOL, abs=TOL)
    assert_metrics(metric_results(head, {}, LOGITS, labels), BASE_METRICS, rtol=TOL, atol=TOL)


def test_eval_with_regularization_losses():
    # test_eval_with_regularization_losses
    head = MultiLabelHead(2)
    results = metric_results(head, {}, LOGITS, LABELS, regularization_losses=[1.5, 0.5])
    assert_metrics(results, {**BASE_METRICS, keys.LOSS_REGULARIZATION: 2.0}, rtol=TOL,
                   atol=TOL)


def test_eval_with_thresholds():
    # test_eval_with_thresholds
    thresholds = [0.25, 0.5, 0.75]
    expected = dict(BASE_METRICS)
    for threshold, (accuracy, precision, recall) in zip(thresholds, [
            (2 / 4, 2 / 3, 2 / 3), (1 / 4, 1 / 2, 1 / 3), (2 / 4, 1.0, 1 / 3)], strict=True):
        expected[keys.ACCURACY_AT_THRESHOLD % threshold] = accuracy
        expected[keys.PRECISION_AT_THRESHOLD % threshold] = precision
        expected[keys.RECALL_AT_THRESHOLD % threshold] = recall
    results = metric_results(MultiLabelHead(2, thresholds=thresholds), {}, LOGITS, LABELS)
    assert_metrics(results, expected, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("legacy, head_kwargs, labels, names", [
    ("test_eval_with_classes_for_class_based_metrics",
     {"classes_for_class_based_metrics": [0, 1]}, LABELS, ("class0", "class1")),
    ("test_eval_with_classes_for_class_based_metrics_string",
     {"label_vocabulary": ["a", "b"], "classes_for_class_based_metrics": ["a", "b"]},
     sparse_labels(["a", "a", "b"]), ("a", "b")),
], ids=lambda v: v if isinstance(v, str) and v.startswith("test_") else "")
def test_eval_with_class_based_metrics(legacy, head_kwargs, labels, names):
    probabilities = 1.0 / (1.0 + np.exp(-LOGITS.astype(np.float64)))
    expected = dict(BASE_METRICS)
    for index, name in enumerate(names):
        expected[f"probability_mean/{name}"] = probabilities[:, index].sum() / 2.0
        expected[f"auc/{name}"] = [0.0, 1.0][index]
        expected[f"auc_precision_recall/{name}"] = 1.0
    results = metric_results(MultiLabelHead(2, **head_kwargs), {}, LOGITS, labels)
    assert_metrics(results, expected, rtol=TOL, atol=TOL)


def test_eval_with_weights():
    # test_eval_with_weights: loss (1 * 20/2 + 2 * 15/2) / 2 = 12.5.
    head = MultiLabelHead(2, weight_column="example_weights")
    features = {"x": np.array([[41], [42]], np.int32),
                "example_weights": np.array([[1.0], [2.0]], np.float32)}
    assert float(head.loss(LABELS, LARGE_LOGITS, features=features)) == pytest.approx(12.5,
                                                                                     rel=TOL)
    assert_metrics(metric_results(head, features, LARGE_LOGITS, LABELS),
                   {keys.LOSS_MEAN: 12.5 * 2.0 / 3.0, keys.AUC: 0.2, keys.AUC_PR: 0.7280},
                   rtol=TOL, atol=TOL)


@pytest.mark.parametrize("legacy, labels", [
    ("test_train_invalid_indicator_labels", np.array([[2, 0], [1, 1]], np.int64)),
    ("test_train_invalid_sparse_labels", sparse_labels([2, 0, 1])),
], ids=lambda v: v if isinstance(v, str) and v.startswith("test_") else "")
def test_invalid_labels(legacy, labels):
    with pytest.raises(ValueError, match=r"\[0, 1\]|class ids"):
        MultiLabelHead(2).loss(labels, LARGE_LOGITS, features={})
