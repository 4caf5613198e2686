"""tf.estimator's RegressionHead expectations (head/regression_head_test.py), on el.heads.

Inputs and expected numbers are the legacy test's; each case names the legacy test it
comes from.
"""

import numpy as np
import pytest
import tensorflow as tf

from estimator_lib import feature_columns as fc
from estimator_lib.heads import MetricKeys, RegressionHead
from estimator_lib.losses import Reduction

LOGITS = np.array([[45.0], [41.0]], np.float32)
LABELS = np.array([[43], [44]], np.int32)
FEATURES = {"x": np.array([[42.0]], np.float32)}

WEIGHTED_LOGITS = np.array([[45], [41], [44]], np.int32)
WEIGHTED_LABELS = np.array([[35], [42], [45]], np.int32)
WEIGHTED_FEATURES = {"x": np.array([[42], [43], [44]], np.int32),
                     "label_weights": np.array([[1.0], [0.1], [1.5]], np.float32)}


def metric_results(head, features, logits, labels, regularization_losses=None):
    metrics = head.update_metrics(head.metrics(regularization_losses), features, logits, labels,
                                  regularization_losses=regularization_losses)
    return {key: float(metric.result()) for key, metric in metrics.items()}


@pytest.mark.parametrize("reduction, expected", [
    (Reduction.SUM_OVER_BATCH_SIZE, 6.5),  # test_train_create_loss: (4 + 9) / 2
    (Reduction.SUM, 13.0),                 # test_train_create_loss_loss_reduction
])
def test_loss(reduction, expected):
    head = RegressionHead(loss_reduction=reduction)
    assert float(head.loss(LABELS, LOGITS, features=FEATURES)) == pytest.approx(expected)


def test_eval_create_loss_loss_fn():
    # test_eval_create_loss_loss_fn: the loss_fn's [2, 2] loss summed over batch * dimension.
    loss = np.array([[0.0, 1.0], [2.0, 3.0]], np.float32)
    head = RegressionHead(label_dimension=2, loss_fn=lambda labels, logits: tf.constant(loss))
    value = head.loss(np.array([[1.0, 0.0], [2.0, -1.0]], np.float32),
                      np.array([[-1.0, 1.0], [-2.0, 2.0]], np.float32), features=FEATURES)
    assert float(value) == pytest.approx(6.0 / 4.0)


def test_eval_metrics():
    # test_eval: loss 6.5, average_loss 6.5.
    head = RegressionHead()
    results = metric_results(head, FEATURES, LOGITS, LABELS)
    assert results[MetricKeys.LOSS_MEAN] == pytest.approx(6.5)
    assert float(head.loss(LABELS, LOGITS, features=FEATURES)) == pytest.approx(6.5)


def test_eval_with_regularization_losses():
    # test_eval_with_regularization_losses and test_train_with_regularization_losses.
    head = RegressionHead()
    results = metric_results(head, FEATURES, LOGITS, LABELS, regularization_losses=[1.5, 0.5])
    assert results == pytest.approx({
        MetricKeys.LOSS_MEAN: 6.5, MetricKeys.LOSS_REGULARIZATION: 2.0,
        MetricKeys.PREDICTION_MEAN: 43.0, MetricKeys.LABEL_MEAN: 43.5})
    loss = head.loss(LABELS, LOGITS, features=FEATURES, regularization_losses=[1.5, 0.5])
    assert float(loss) == pytest.approx(8.5)


def test_predict_with_inverse_link_fn():
    # test_predict_with_inverse_link_fn: predictions = logits - 10, logits kept.
    head = RegressionHead(inverse_link_fn=lambda logits: logits - 10.0)
    predictions = head.predictions(np.array([[45], [41]], np.int32))
    np.testing.assert_allclose(predictions["predictions"], [[35.0], [31.0]])
    np.testing.assert_allclose(predictions["logits"], [[45.0], [41.0]])
    assert predictions["predictions"].dtype == tf.float32


def test_weighted_multi_example_eval():
    # test_weighted_multi_example_eval: 1*(35-45)^2 + .1*(42-41)^2 + 1.5*(45-44)^2 = 101.6;
    # loss = 101.6 / 3, average_loss = 101.6 / 2.6.
    head = RegressionHead(weight_column="label_weights")
    loss = head.loss(WEIGHTED_LABELS, WEIGHTED_LOGITS, features=WEIGHTED_FEATURES)
    assert float(loss) == pytest.approx(33.8666667, rel=1e-6)
    results = metric_results(head, WEIGHTED_FEATURES, WEIGHTED_LOGITS, WEIGHTED_LABELS)
    assert results[MetricKeys.LOSS_MEAN] == pytest.approx(39.0769231, rel=1e-6)


def test_weight_with_numeric_column():
    # test_weight_with_numeric_column: the column's normalizer_fn (x + 1) turns the raw
    # weights (0, -0.9, 0.5) into (1, 0.1, 1.5), so the loss is again 101.6 / 3.
    head = RegressionHead(weight_column=fc.numeric_column(
        "label_weights", normalizer_fn=lambda x: x + 1.0))
    features = {"x": WEIGHTED_FEATURES["x"],
                "label_weights": np.array([[0.0], [-0.9], [0.5]], np.float32)}
    loss = head.loss(WEIGHTED_LABELS, WEIGHTED_LOGITS, features=features)
    assert float(loss) == pytest.approx(33.8666667, rel=1e-6)
    results = metric_results(head, features, WEIGHTED_LOGITS, WEIGHTED_LABELS)
    assert results[MetricKeys.LOSS_MEAN] == pytest.approx(39.0769231, rel=1e-6)


def test_weight_column_keeps_its_dtype_and_shape():
    # A weight column of integers read as [batch] is cast and shaped like any numeric column.
    head = RegressionHead(weight_column=fc.numeric_column("w", dtype=tf.int64,
                                                          normalizer_fn=lambda x: x * 2))
    features = {"w": np.array([1, 0, 2], np.int64)}
    loss = head.loss(WEIGHTED_LABELS, WEIGHTED_LOGITS, features=features)
    assert float(loss) == pytest.approx((2 * 100 + 0 * 1 + 4 * 1) / 3)


def test_weight_column_must_be_a_dense_column():
    with pytest.raises(TypeError, match="numeric column"):
        RegressionHead(weight_column=fc.categorical_column_with_identity("w", 3))


def test_weighted_multi_value_train():
    # test_weighted_multi_value_train(_create_loss): per-dimension weights [1, .1, 1.5] on
    # one example of three dimensions: 101.6 / 3.
    head = RegressionHead(3, weight_column="label_weights")
    features = {"label_weights": np.array([[1.0, 0.1, 1.5]])}
    loss = head.loss(np.array([[35.0, 42.0, 45.0]]), np.array([[45.0, 41.0, 44.0]]),
                     features=features)
    assert float(loss) == pytest.approx(33.8666667, rel=1e-6)


def test_weighted_multi_batch_eval_eager():
    # test_weighted_multi_batch_eval_eager: the same three examples in three batches of one.
    head = RegressionHead(weight_column="label_weights")
    metrics = head.metrics()
    for logit, label, weight in zip([45.0, 41.0, 44.0], [35.0, 42.0, 45.0], [1.0, 0.1, 1.5],
                                    strict=True):
        head.update_metrics(metrics, {"label_weights": np.array([[weight]])},
                            np.array([[logit]]), np.array([[label]]))
    results = {key: float(metric.result()) for key, metric in metrics.items()}
    assert results == pytest.approx({
        MetricKeys.LOSS_MEAN: 39.076923,
        MetricKeys.PREDICTION_MEAN: (45 + 41 * 0.1 + 44 * 1.5) / 2.6,
        MetricKeys.LABEL_MEAN: (35 + 42 * 0.1 + 45 * 1.5) / 2.6}, rel=1e-6)


def test_weighted_multi_batch_train_eager():
    # test_weighted_multi_batch_train_eager: batch losses 100, .1 and 1.5.
    head = RegressionHead(weight_column="label_weights")
    for logit, label, weight, expected in zip([45.0, 41.0, 44.0], [35.0, 42.0, 45.0],
                                              [1.0, 0.1, 1.5], [100.0, 0.1, 1.5], strict=True):
        loss = head.loss(np.array([[label]]), np.array([[logit]]),
                         features={"label_weights": np.array([[weight]])})
        assert float(loss) == pytest.approx(expected, rel=1e-6)


MULTI_DIM_LOGITS = np.array([[[0.0, 1.0, 2.0], [10.0, 11.0, 12.0]],
                             [[20.0, 21.0, 22.0], [30.0, 31.0, 32.0]]])
MULTI_DIM_LABELS = np.array([[[1.0, 2.0, 3.0], [12.0, 13.0, 14.0]],
                             [[23.0, 24.0, 25.0], [34.0, 35.0, 36.0]]])


def test_multi_dim_weighted_train():
    # test_multi_dim_weighted_train(_create_loss): logits [2, 2, 3], weights [2, 2]:
    # (1*3*1 + 1.5*3*4 + 2*3*9 + 2.5*3*16) / 12 = 16.25.
    head = RegressionHead(3, weight_column="label_weights")
    loss = head.loss(MULTI_DIM_LABELS, MULTI_DIM_LOGITS,
                     features={"label_weights": np.array([[1.0, 1.5], [2.0, 2.5]])})
    assert float(loss) == pytest.approx(16.25, rel=1e-6)


@pytest.mark.parametrize("weights", [
    np.array([[1.0], [2.0]]),                                        # wrong inner dimension
    np.array([[[1.0, 1.1], [1.5, 1.6]], [[2.0, 2.1], [2.5, 2.6]]]),  # wrong outer dimension
], ids=["test_multi_dim_train_weights_wrong_inner_dim",
        "test_multi_dim_train_weights_wrong_outer_dim"])
def test_multi_dim_train_weights_wrong_shape(weights):
    head = RegressionHead(3, weight_column="label_weights")
    with pytest.raises(ValueError, match="shape"):
        head.loss(MULTI_DIM_LABELS, MULTI_DIM_LOGITS, features={"label_weights": weights})
