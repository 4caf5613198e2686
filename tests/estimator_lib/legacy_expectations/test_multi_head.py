"""tf.estimator's MultiHead expectations (head/multi_head_test.py).

Inputs and expected numbers are the legacy test's (tolerance 1e-3, as there); each case
names the legacy test. One deliberate difference: predictions are keyed by the string
`"<head>/<key>"` where tf.estimator used the tuple `(head, key)` (see MultiHead's
docstring), so these cases read `predictions["head1/logits"]`.
"""

import numpy as np
import pytest

from estimator_lib.heads import MetricKeys as keys
from estimator_lib.heads import MultiHead, MultiLabelHead, RegressionHead
from tests.estimator_lib.legacy_expectations.helpers import assert_metrics, metric_results

TOL = 1e-3
LOGITS = {"head1": np.array([[-10.0, 10.0], [-15.0, 10.0]], np.float32),
          "head2": np.array([[20.0, -20.0, 20.0], [-30.0, 20.0, -20.0]], np.float32)}
LABELS = {"head1": np.array([[1, 0], [1, 1]], np.int64),
          "head2": np.array([[0, 1, 0], [1, 1, 0]], np.int64)}
FEATURES = {"x": np.array([[42]], np.int32)}
WEIGHTED_FEATURES = {**FEATURES, "weights1": np.array([[1.0], [2.0]], np.float32),
                     "weights2": np.array([[2.0], [3.0]])}


def two_label_heads(weighted=False, head_weights=(1.0, 2.0)):
    head1 = MultiLabelHead(2, name="head1", weight_column="weights1" if weighted else None)
    head2 = MultiLabelHead(3, name="head2", weight_column="weights2" if weighted else None)
    return MultiHead([head1, head2], head_weights=list(head_weights))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def test_predict_two_heads_logits_tensor():
    # test_predict_two_heads_logits_tensor: one [2, 5] tensor split 2 + 3.
    multi_head = MultiHead([MultiLabelHead(2, name="head1"), MultiLabelHead(3, name="head2")])
    logits = np.array([[-1.0, 1.0, 2.0, -2.0, 2.0], [-1.5, 1.0, -3.0, 2.0, -2.0]], np.float32)
    predictions = multi_head.predictions(logits)
    np.testing.assert_allclose(predictions["head1/logits"], logits[:, :2])
    np.testing.assert_allclose(predictions["head2/logits"], logits[:, 2:])
    np.testing.assert_allclose(predictions["head1/probabilities"], sigmoid(logits[:, :2]),
                               rtol=1e-6)
    np.testing.assert_allclose(predictions["head2/probabilities"], sigmoid(logits[:, 2:]),
                               rtol=1e-6)


def test_predict_two_heads_logits_tensor_multi_dim():
    # test_predict_two_heads_logits_tensor_multi_dim: logits [2, 2, 5] split 2 + 3.
    multi_head = MultiHead([RegressionHead(2, name="head1"), RegressionHead(3, name="head2")])
    logits = np.array([[[-1.0, 1.0, 2.0, -2.0, 2.0]] * 2, [[-1.5, 1.0, -3.0, 2.0, -2.0]] * 2],
                      np.float32)
    predictions = multi_head.predictions(logits)
    np.testing.assert_allclose(predictions["head1/predictions"], logits[..., :2])
    np.testing.assert_allclose(predictions["head2/predictions"], logits[..., 2:])


def test_eval_two_heads_with_weights():
    # test_eval_two_heads_with_weights: head losses 8.75 and 15, head weights 1 and 2.
    multi_head = two_label_heads()
    loss = multi_head.loss(LABELS, LOGITS, features=FEATURES)
    assert float(loss) == pytest.approx(8.75 + 2 * 15.0, rel=TOL, abs=TOL)
    expected = {f"{keys.LOSS}/head1": 8.75, f"{keys.LOSS}/head2": 15.0,
                f"{keys.LOSS_MEAN}/head1": 8.75, f"{keys.LOSS_MEAN}/head2": 15.0,
                f"{keys.AUC}/head1": 0.1667, f"{keys.AUC}/head2": 0.3333,
                f"{keys.AUC_PR}/head1": 0.60228, f"{keys.AUC_PR}/head2": 0.40152}
    assert_metrics(metric_results(multi_head, FEATURES, LOGITS, LABELS), expected, rtol=TOL,
                   atol=TOL)


def test_train_loss_one_head():
    # test_train_loss_one_head: ((10 + 10) / 2 + (15 + 0) / 2) / 2 = 8.75.
    multi_head = MultiHead([MultiLabelHead(2, name="head1")])
    loss = multi_head.loss({"head1": LABELS["head1"]}, {"head1": LOGITS["head1"]},
                           features=FEATURES)
    assert float(loss) == pytest.approx(8.75, rel=TOL)


@pytest.mark.parametrize("logits", [
    LOGITS, np.concatenate([LOGITS["head1"], LOGITS["head2"]], axis=1),
], ids=["test_train_loss_two_heads_with_weights", "test_train_loss_logits_tensor"])
def test_train_loss_two_heads_with_weights(logits):
    # head1 (1 * 10 + 2 * 7.5) / 2 = 12.5; head2 (2 * 20 + 3 * 10) / 2 = 35;
    # 1 * 12.5 + 2 * 35 = 82.5.
    loss = two_label_heads(weighted=True).loss(LABELS, logits, features=WEIGHTED_FEATURES)
    assert float(loss) == pytest.approx(82.5, rel=TOL)


def test_train_loss_logits_tensor_wrong_shape():
    # test_train_loss_logits_tensor_wrong_shape: [2, 6] logits for heads of 2 + 3.
    logits = np.zeros([2, 6], np.float32)
    with pytest.raises(ValueError, match="logits"):
        two_label_heads(weighted=True).loss(LABELS, logits, features=WEIGHTED_FEATURES)
