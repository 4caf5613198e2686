"""tf.estimator's MultiClassHead expectations (head/multi_class_head_test.py).

Inputs and expected numbers are the legacy test's; each case names the legacy test. Most
legacy cases compare within 1e-2 (`tol`), which is kept here.
"""

import numpy as np
import pytest
import tensorflow as tf

from estimator_lib.heads import MetricKeys as keys
from estimator_lib.heads import MultiClassHead, PredictionKeys
from estimator_lib.losses import Reduction
from tests.estimator_lib.legacy_expectations.helpers import assert_metrics, metric_results

TOL = 1e-2
LOGITS = np.array([[10, 0, 0], [0, 10, 0]], np.float32)
LABELS = np.array([[1], [1]], np.int64)
FEATURES = {"x": np.array([[42]], np.int32)}
VOCABULARY = ["aang", "iroh", "zuko"]
PROBABILITIES = [[0.576117, 0.2119416, 0.2119416], [0.2119416, 0.2119416, 0.576117]]


def test_predict():
    # test_predict
    predictions = MultiClassHead(3).predictions(np.array([[1.0, 0, 0], [0, 0, 1.0]], np.float32))
    np.testing.assert_allclose(predictions[PredictionKeys.PROBABILITIES], PROBABILITIES,
                               rtol=1e-5)
    np.testing.assert_array_equal(predictions[PredictionKeys.CLASS_IDS], [[0], [2]])
    np.testing.assert_array_equal(predictions[PredictionKeys.CLASSES], [[b"0"], [b"2"]])
    np.testing.assert_array_equal(predictions[PredictionKeys.ALL_CLASS_IDS], [[0, 1, 2]] * 2)
    np.testing.assert_array_equal(predictions[PredictionKeys.ALL_CLASSES],
                                  [[b"0", b"1", b"2"]] * 2)


def test_predict_with_vocabulary_list():
    # test_predict_with_vocabulary_list
    head = MultiClassHead(3, label_vocabulary=VOCABULARY)
    predictions = head.predictions(np.array([[1.0, 0, 0], [0, 0, 1.0]], np.float32))
    np.testing.assert_array_equal(predictions[PredictionKeys.CLASSES], [[b"aang"], [b"zuko"]])
    np.testing.assert_array_equal(predictions[PredictionKeys.ALL_CLASSES],
                                  [[b"aang", b"iroh", b"zuko"]] * 2)


def test_weight_should_not_impact_prediction():
    # test_weight_should_not_impact_prediction
    head = MultiClassHead(3, weight_column="label_weights")
    predictions = head.predictions(np.array([[1.0, 0, 0], [0, 0, 1.0]], np.float32))
    np.testing.assert_allclose(predictions[PredictionKeys.PROBABILITIES], PROBABILITIES,
                               rtol=1e-5)


@pytest.mark.parametrize("legacy, head_kwargs, labels, expected", [
    ("test_eval_create_loss", {}, LABELS, 5.0),
    ("test_train_create_loss", {}, LABELS, 5.0),
    ("test_train_create_loss_loss_reduction", {"loss_reduction": Reduction.SUM}, LABELS, 10.0),
    ("test_eval_with_label_vocabulary_create_loss", {"label_vocabulary": VOCABULARY},
     np.array([[b"iroh"], [b"iroh"]]), 5.0),
])
def test_loss(legacy, head_kwargs, labels, expected):
    loss = MultiClassHead(3, **head_kwargs).loss(labels, LOGITS, features=FEATURES)
    assert float(loss) == pytest.approx(expected, rel=TOL, abs=TOL)


def test_eval_create_loss_loss_fn():
    # test_eval_create_loss_loss_fn
    head = MultiClassHead(3, loss_fn=lambda labels, logits: tf.constant([[1.0], [2.0]]))
    loss = head.loss(np.array([[1], [2]], np.int64),
                     np.array([[-10.0, 10.0, 0.0], [-15.0, 10.0, 0.0]], np.float32),
                     features=FEATURES)
    assert float(loss) == pytest.approx(1.5)


def test_eval_create_loss_loss_fn_wrong_shape():
    # test_eval_create_loss_loss_fn_wrong_shape: a [2] loss for [2, 3] logits is an error.
    head = MultiClassHead(3, loss_fn=lambda labels, logits: tf.constant([1.0, 2.0]))
    with pytest.raises(ValueError, match="loss_fn"):
        head.loss(np.array([[1], [2]], np.int64),
                  np.array([[-10.0, 10.0, 0.0], [-15.0, 10.0, 0.0]], np.float32),
                  features=FEATURES)


def test_eval():
    # test_eval: loss (10 + 0) / 2, one of two correct.
    results = metric_results(MultiClassHead(3), FEATURES, LOGITS, LABELS)
    assert_metrics(results, {keys.LOSS_MEAN: 5.0, keys.ACCURACY: 0.5}, rtol=TOL, atol=TOL)


def test_eval_metric_ops_with_head_name():
    # test_eval_metric_ops_with_head_name
    results = metric_results(MultiClassHead(3, name="some_multiclass_head"), FEATURES, LOGITS,
                             LABELS)
    assert sorted(results) == [f"{keys.ACCURACY}/some_multiclass_head",
                               f"{keys.LOSS_MEAN}/some_multiclass_head"]


def test_eval_with_regularization_losses():
    # test_eval_with_regularization_losses and test_train_with_regularization_losses
    head = MultiClassHead(3)
    results = metric_results(head, FEATURES, LOGITS, LABELS, regularization_losses=[1.5, 0.5])
    assert_metrics(results, {keys.LOSS_MEAN: 5.0, keys.LOSS_REGULARIZATION: 2.0,
                             keys.ACCURACY: 0.5}, rtol=TOL, atol=TOL)
    loss = head.loss(LABELS, LOGITS, features=FEATURES, regularization_losses=[1.5, 0.5])
    assert float(loss) == pytest.approx(7.0, rel=TOL)


def test_eval_with_label_vocabulary():
    # test_eval_with_label_vocabulary
    head = MultiClassHead(3, label_vocabulary=VOCABULARY)
    results = metric_results(head, FEATURES, LOGITS, np.array([[b"iroh"], [b"iroh"]]))
    assert_metrics(results, {keys.LOSS_MEAN: 5.0, keys.ACCURACY: 0.5}, rtol=TOL, atol=TOL)


def test_weighted_multi_example_eval():
    # test_weighted_multi_example_eval: weighted loss [10, 20, 0] -> 30 / 3 and 30 / 6.
    head = MultiClassHead(3, weight_column="label_weights")
    logits = np.array([[10, 0, 0], [0, 10, 0], [0, 0, 10]], np.float32)
    labels = np.array([[1], [2], [2]], np.int64)
    features = {"x": np.array([[42]], np.int32),
                "label_weights": np.array([[1.0], [2.0], [3.0]], np.float64)}
    assert float(head.loss(labels, logits, features=features)) == pytest.approx(10.0, rel=TOL)
    assert_metrics(metric_results(head, features, logits, labels),
                   {keys.LOSS_MEAN: 5.0, keys.ACCURACY: 0.5}, rtol=TOL, atol=TOL)


def test_invalid_label_values():
    # test_invalid_labels_values (legacy: 'Labels must be <= n_classes - 1' / '>= 0').
    head = MultiClassHead(3)
    for labels in ([[1], [3]], [[-1], [1]]):
        with pytest.raises(ValueError, match="must be in"):
            head.loss(np.array(labels, np.int64), LOGITS, features=FEATURES)
