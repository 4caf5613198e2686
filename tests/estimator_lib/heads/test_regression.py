"""RegressionHead: squared-error loss, predictions, metrics and exports against numpy."""

import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from estimator_lib.heads import RegressionHead
from tests.estimator_lib.heads import reference as ref

LOGITS = np.array([[1.0, 2.0], [0.0, -1.0], [0.5, 0.5], [3.0, 1.0]], np.float32)
LABELS = np.array([[1.5, 2.0], [0.0, 1.0], [0.0, 0.5], [2.0, 1.0]], np.float32)
WEIGHTS = np.array([1.0, 2.0, 0.0, 0.5], np.float32)
PER_LOGIT_WEIGHTS = np.array([[1.0, 0.0], [2.0, 1.0], [0.5, 0.5], [0.0, 3.0]], np.float32)


@pytest.mark.parametrize("weights", [None, WEIGHTS, PER_LOGIT_WEIGHTS],
                         ids=["unweighted", "per_example", "per_logit"])
@pytest.mark.parametrize("reduction", [r for r in el.losses.Reduction.all()
                                       if r != el.losses.Reduction.NONE], ids=lambda r: r.name)
def test_loss_matches_numpy(reduction, weights):
    head = RegressionHead(2, weight_column=None if weights is None else "w",
                          loss_reduction=reduction)
    loss = head.loss(LABELS, LOGITS, features={"w": weights})
    broadcast = None if weights is None else (weights[:, None] if weights.ndim == 1 else weights)
    # SUM_OVER_BATCH_SIZE divides by batch_size * label_dimension (tf.estimator's rule).
    expected = ref.reduce((LOGITS - LABELS) ** 2, broadcast, reduction)
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-5)


def test_metrics_match_numpy():
    head = RegressionHead(2, weight_column="w")
    metrics = head.update_metrics(head.metrics(), {"w": WEIGHTS}, LOGITS, LABELS)
    w = WEIGHTS[:, None]
    assert set(metrics) == {"average_loss", "label/mean", "prediction/mean"}
    np.testing.assert_allclose(metrics["average_loss"].result(),
                               ref.weighted_mean((LOGITS - LABELS) ** 2, w), rtol=1e-5)
    np.testing.assert_allclose(metrics["label/mean"].result(), ref.weighted_mean(LABELS, w),
                               rtol=1e-5)
    np.testing.assert_allclose(metrics["prediction/mean"].result(), ref.weighted_mean(LOGITS, w),
                               rtol=1e-5)


def test_inverse_link_fn_predictions_and_metrics():
    head = RegressionHead(inverse_link_fn=tf.exp, name="count")
    logits, labels = LOGITS[:, :1], LABELS[:, :1]
    predictions = head.predictions(logits)
    assert set(predictions) == {"predictions", "logits"}
    np.testing.assert_allclose(predictions["predictions"], np.exp(logits), rtol=1e-6)
    np.testing.assert_allclose(predictions["logits"], logits)
    metrics = head.update_metrics(head.metrics(), {}, logits, labels[:, 0])  # [batch] labels.
    np.testing.assert_allclose(metrics["prediction/mean/count"].result(), np.exp(logits).mean(),
                               rtol=1e-6)
    # As tf.estimator: without loss_fn, the loss compares the labels with the logits.
    np.testing.assert_allclose(metrics["average_loss/count"].result(),
                               np.mean((logits - labels) ** 2), rtol=1e-6)


@pytest.mark.parametrize("label_dimension, keys", [
    (1, {"serving_default", "regression", "predict"}),
    (2, {"serving_default", "predict"}),
])
def test_export_outputs(label_dimension, keys):
    head = RegressionHead(label_dimension)
    spec = head.create_estimator_spec({}, "infer", LOGITS[:, :label_dimension])
    assert set(spec.export_outputs) == keys
    default = spec.export_outputs["serving_default"]
    if label_dimension == 1:
        assert isinstance(default, el.export.RegressionOutput)
        np.testing.assert_allclose(default.outputs()["outputs"], LOGITS[:, 0])
    else:  # TF Serving's Regress API returns one number per example.
        assert isinstance(default, el.export.PredictOutput)


def test_bad_labels_and_arguments():
    head = RegressionHead(2, name="xy")
    with pytest.raises(ValueError, match=r"RegressionHead 'xy': `labels` must have shape "
                                         r"\[batch_size, 2\].*received shape \(4, 3\)"):
        head.loss(np.zeros([4, 3], np.float32), LOGITS)
    with pytest.raises(TypeError, match="regression labels must be numeric"):
        head.loss(np.full([4, 2], "1.0"), LOGITS)
    with pytest.raises(ValueError, match="label_dimension"):
        RegressionHead(0)
    with pytest.raises(TypeError, match="inverse_link_fn"):
        RegressionHead(inverse_link_fn="exp")
