"""Tests for estimator_lib.losses (TF1 tf.compat.v1.losses semantics)."""

import numpy as np
import pytest
import tensorflow as tf

from estimator_lib import losses
from estimator_lib.losses import Reduction

LABELS = np.array([[1.0], [2.0], [3.0], [4.0]], dtype=np.float32)
PREDS = np.array([[1.5], [1.0], [5.0], [4.0]], dtype=np.float32)
SQ = (PREDS - LABELS) ** 2  # [[0.25], [1.0], [4.0], [0.0]]


def _np_sigmoid_ce(labels, logits):
    # max(x, 0) - x * z + log(1 + exp(-|x|)), the stable TF formula.
    return np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))


def _np_softmax_ce(labels, logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return -(labels * log_softmax).sum(axis=-1)


# --------------------------------------------------------------------------- Reduction


def test_reduction_is_str_enum_with_tf1_values():
    assert Reduction.NONE == "none"
    assert Reduction.SUM == "sum"
    assert Reduction.MEAN == "weighted_mean"
    assert Reduction.SUM_OVER_BATCH_SIZE == "weighted_sum_over_batch_size"
    assert Reduction.SUM_BY_NONZERO_WEIGHTS == "weighted_sum_by_nonzero_weights"
    assert isinstance(Reduction.SUM, str)
    assert len(Reduction.all()) == 5
    assert Reduction.validate("weighted_mean") is Reduction.MEAN
    assert Reduction.validate(Reduction.SUM) is Reduction.SUM


def test_bad_reduction_string_lists_valid_values():
    with pytest.raises(ValueError) as excinfo:
        losses.mean_squared_error(LABELS, PREDS, reduction="mean")
    message = str(excinfo.value)
    assert "'mean'" in message
    assert "`reduction`" in message
    for r in Reduction:
        assert repr(r.value) in message


def test_bad_reduction_type_is_value_error():
    with pytest.raises(ValueError, match="Invalid `reduction`: 3"):
        losses.compute_weighted_loss([1.0], reduction=3)


# --------------------------------------------------------------------------- reductions


def test_compute_weighted_loss_all_reductions():
    values = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=np.float32)
    weights = np.array([[0.5], [0.0], [2.0]], dtype=np.float32)
    full_w = np.broadcast_to(weights, values.shape)
    weighted = values * full_w
    total = weighted.sum()  # 0.5*3 + 2*11 = 23.5

    def run(reduction):
        return losses.compute_weighted_loss(values, weights, reduction=reduction).numpy()

    np.testing.assert_allclose(run(Reduction.NONE), weighted)
    np.testing.assert_allclose(run(Reduction.SUM), total)
    np.testing.assert_allclose(run(Reduction.MEAN), total / full_w.sum())  # / 5
    np.testing.assert_allclose(run(Reduction.SUM_OVER_BATCH_SIZE), total / values.size)  # / 6
    np.testing.assert_allclose(run(Reduction.SUM_BY_NONZERO_WEIGHTS), total / 4)  # 4 non-zero
    # The default is SUM_BY_NONZERO_WEIGHTS, and strings work like the enum.
    np.testing.assert_allclose(losses.compute_weighted_loss(values, weights).numpy(), total / 4)
    np.testing.assert_allclose(run("weighted_mean"), total / 5)


def test_all_zero_weights_give_zero_not_nan():
    for reduction in (Reduction.MEAN, Reduction.SUM_BY_NONZERO_WEIGHTS):
        loss = losses.mean_squared_error(LABELS, PREDS, weights=0.0, reduction=reduction)
        assert float(loss) == 0.0


def test_none_weights_mean_one():
    loss = losses.compute_weighted_loss([2.0, 4.0], weights=None)
    assert float(loss) == pytest.approx(3.0)


# --------------------------------------------------------------------------- regression losses


def test_mse_sum_by_nonzero_weights_with_zero_weights():
    weights = np.array([1.0, 0.0, 2.0, 0.0], dtype=np.float32)
    loss = losses.mean_squared_error(LABELS, PREDS, weights=weights)
    expected = (0.25 * 1 + 4.0 * 2) / 2  # two non-zero weights
    assert float(loss) == pytest.approx(expected)


def test_mse_reductions_none_sum_mean():
    weights = np.array([[1.0], [0.0], [2.0], [3.0]], dtype=np.float32)
    none = losses.mean_squared_error(LABELS, PREDS, weights, reduction=Reduction.NONE)
    np.testing.assert_allclose(none.numpy(), SQ * weights)
    assert none.shape == (4, 1)
    total = float((SQ * weights).sum())  # 8.25
    assert float(losses.mean_squared_error(LABELS, PREDS, weights, reduction="sum")) == (
        pytest.approx(total)
    )
    assert float(losses.mean_squared_error(LABELS, PREDS, weights, reduction="weighted_mean")) == (
        pytest.approx(total / 6.0)
    )
    assert float(
        losses.mean_squared_error(LABELS, PREDS, weights, reduction=Reduction.SUM_OVER_BATCH_SIZE)
    ) == pytest.approx(total / 4.0)


@pytest.mark.parametrize(
    "weights",
    [
        np.array([1.0, 0.0, 2.0, 3.0], np.float32),  # [batch]
        np.array([[1.0], [0.0], [2.0], [3.0]], np.float32),  # [batch, 1] == full shape
    ],
)
def test_weights_batch_shapes_broadcast(weights):
    loss = losses.mean_squared_error(LABELS, PREDS, weights=weights, reduction="sum")
    assert float(loss) == pytest.approx(0.25 + 8.0 + 0.0)


def test_weights_broadcast_over_feature_dimension():
    labels = np.zeros((2, 3), np.float32)
    preds = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32)
    sq = preds**2
    for weights in ([1.0, 0.0], [[1.0], [0.0]]):  # [batch] and [batch, 1]
        loss = losses.mean_squared_error(labels, preds, weights=weights)
        assert float(loss) == pytest.approx(sq[0].sum() / 3)
    # Scalar weight: every element present.
    loss = losses.mean_squared_error(labels, preds, weights=2.0)
    assert float(loss) == pytest.approx(2.0 * sq.sum() / 6)
    # Full-shape weights.
    full = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 2.0]], np.float32)
    loss = losses.mean_squared_error(labels, preds, weights=full)
    assert float(loss) == pytest.approx((1 + 9 + 72) / 3)
    # [1, d] per-column weights.
    loss = losses.mean_squared_error(labels, preds, weights=[[1.0, 0.0, 0.0]], reduction="sum")
    assert float(loss) == pytest.approx(1 + 16)


def test_weights_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError) as excinfo:
        losses.mean_squared_error(LABELS, PREDS, weights=[1.0, 2.0, 3.0])
    message = str(excinfo.value)
    assert "(3,)" in message and "(4, 1)" in message and "`weights`" in message


def test_labels_predictions_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError) as excinfo:
        losses.mean_squared_error(LABELS, PREDS[:, 0])
    message = str(excinfo.value)
    assert "(4,)" in message and "(4, 1)" in message
    assert "`labels`" in message and "`predictions`" in message


def test_none_labels_rejected():
    with pytest.raises(ValueError, match="`labels` must not be None"):
        losses.mean_squared_error(None, PREDS)


def test_absolute_difference():
    weights = np.array([1.0, 1.0, 0.0, 1.0], np.float32)
    loss = losses.absolute_difference(LABELS, PREDS, weights=weights)
    assert float(loss) == pytest.approx((0.5 + 1.0 + 0.0) / 3)


def test_huber_loss_matches_numpy():
    delta = 0.75
    err = np.abs(PREDS - LABELS)
    expected = np.where(err <= delta, 0.5 * err**2, 0.5 * delta**2 + delta * (err - delta))
    loss = losses.huber_loss(LABELS, PREDS, delta=delta, reduction=Reduction.NONE)
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-6)
    mean_loss = losses.huber_loss(LABELS, PREDS, delta=delta, reduction="weighted_mean")
    assert float(mean_loss) == pytest.approx(expected.mean())


def test_log_loss_matches_numpy():
    labels = np.array([[1.0], [0.0], [1.0]], np.float32)
    preds = np.array([[0.9], [0.2], [0.3]], np.float32)
    eps = 1e-7
    expected = -labels * np.log(preds + eps) - (1 - labels) * np.log(1 - preds + eps)
    weights = np.array([1.0, 2.0, 0.0], np.float32)
    loss = losses.log_loss(labels, preds, weights=weights)
    assert float(loss) == pytest.approx((expected[0, 0] + 2 * expected[1, 0]) / 2, rel=1e-5)


def test_hinge_loss_matches_numpy():
    labels = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    logits = np.array([[2.0, 0.5], [-3.0, 0.25]], np.float32)
    expected = np.maximum(0.0, 1.0 - (2 * labels - 1) * logits)  # [[0, 1.5], [0, 0.75]]
    loss = losses.hinge_loss(labels, logits, reduction=Reduction.NONE)
    np.testing.assert_allclose(loss.numpy(), expected)
    assert float(losses.hinge_loss(labels, logits)) == pytest.approx(expected.mean())


def test_integer_labels_are_cast():
    loss = losses.mean_squared_error(np.array([[1], [2]], np.int64), [[1.5], [2.5]])
    assert loss.dtype == tf.float32
    assert float(loss) == pytest.approx(0.25)


def test_float64_is_kept():
    loss = losses.mean_squared_error(LABELS.astype(np.float64), PREDS.astype(np.float64))
    assert loss.dtype == tf.float64
    assert float(loss) == pytest.approx(SQ.mean())


# --------------------------------------------------------------------------- cross-entropies

CE_LABELS = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], np.float32)
CE_LOGITS = np.array([[2.0, -1.0, 0.5], [0.3, 1.5, -2.0]], np.float32)


def test_sigmoid_cross_entropy_matches_numpy():
    expected = _np_sigmoid_ce(CE_LABELS, CE_LOGITS)
    none = losses.sigmoid_cross_entropy(CE_LABELS, CE_LOGITS, reduction=Reduction.NONE)
    np.testing.assert_allclose(none.numpy(), expected, rtol=1e-6)
    weights = np.array([1.0, 0.0], np.float32)  # [batch] on [batch, classes]
    loss = losses.sigmoid_cross_entropy(CE_LABELS, CE_LOGITS, weights=weights)
    assert float(loss) == pytest.approx(expected[0].sum() / 3, rel=1e-6)


def test_sigmoid_cross_entropy_label_smoothing():
    smoothing = 0.2
    smoothed = CE_LABELS * (1 - smoothing) + 0.5 * smoothing
    expected = _np_sigmoid_ce(smoothed, CE_LOGITS).mean()
    loss = losses.sigmoid_cross_entropy(CE_LABELS, CE_LOGITS, label_smoothing=smoothing)
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def test_label_smoothing_out_of_range():
    with pytest.raises(ValueError, match=r"`label_smoothing` must be in \[0, 1\], received 1.5"):
        losses.sigmoid_cross_entropy(CE_LABELS, CE_LOGITS, label_smoothing=1.5)


def test_sigmoid_cross_entropy_shape_mismatch():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 2\)"):
        losses.sigmoid_cross_entropy(CE_LABELS[:, :2], CE_LOGITS)


def test_softmax_cross_entropy_matches_numpy_with_smoothing_and_weights():
    onehot = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], np.float32)
    smoothing = 0.3
    smoothed = onehot * (1 - smoothing) + smoothing / 3
    expected = _np_softmax_ce(smoothed, CE_LOGITS)
    none = losses.softmax_cross_entropy(
        onehot, CE_LOGITS, label_smoothing=smoothing, reduction=Reduction.NONE
    )
    assert none.shape == (2,)
    np.testing.assert_allclose(none.numpy(), expected, rtol=1e-6)
    weighted = losses.softmax_cross_entropy(
        onehot, CE_LOGITS, weights=[3.0, 1.0], label_smoothing=smoothing, reduction="weighted_mean"
    )
    assert float(weighted) == pytest.approx((3 * expected[0] + expected[1]) / 4, rel=1e-6)


def test_softmax_cross_entropy_no_gradient_into_labels():
    onehot = tf.constant([[0.0, 1.0, 0.0]])
    logits = tf.constant([[1.0, 2.0, 3.0]])
    with tf.GradientTape() as tape:
        tape.watch([onehot, logits])
        loss = losses.softmax_cross_entropy(onehot, logits)
    g_labels, g_logits = tape.gradient(loss, [onehot, logits])
    assert g_labels is None
    softmax = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    np.testing.assert_allclose(g_logits.numpy()[0], softmax - [0.0, 1.0, 0.0], rtol=1e-5)


def test_sparse_softmax_cross_entropy_matches_onehot():
    ids = np.array([1, 2], np.int64)
    onehot = np.eye(3, dtype=np.float32)[ids]
    expected = _np_softmax_ce(onehot, CE_LOGITS)
    loss = losses.sparse_softmax_cross_entropy(ids, CE_LOGITS, reduction=Reduction.NONE)
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-6)
    # [batch, 1] labels and weights are squeezed; int32 labels work.
    loss = losses.sparse_softmax_cross_entropy(
        ids.reshape(2, 1).astype(np.int32), CE_LOGITS, weights=[[0.0], [2.0]]
    )
    assert float(loss) == pytest.approx(2 * expected[1], rel=1e-6)


def test_sparse_softmax_cross_entropy_bad_label_shape():
    with pytest.raises(ValueError) as excinfo:
        losses.sparse_softmax_cross_entropy(CE_LABELS, CE_LOGITS)
    message = str(excinfo.value)
    assert "(2, 3)" in message and "softmax_cross_entropy" in message


# --------------------------------------------------------------------------- graph mode


def test_losses_in_tf_function_with_unknown_batch():
    @tf.function(
        input_signature=[
            tf.TensorSpec([None, 1], tf.float32),
            tf.TensorSpec([None, 1], tf.float32),
            tf.TensorSpec([None], tf.float32),
        ]
    )
    def weighted_mse(labels, predictions, weights):
        return losses.mean_squared_error(labels, predictions, weights=weights)

    weights = np.array([1.0, 0.0, 2.0, 0.0], np.float32)
    assert float(weighted_mse(LABELS, PREDS, weights)) == pytest.approx((0.25 + 8.0) / 2)
    with pytest.raises(tf.errors.InvalidArgumentError):
        weighted_mse(LABELS, PREDS, weights[:3])
