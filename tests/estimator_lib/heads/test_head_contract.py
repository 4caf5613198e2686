"""The shared head contract (estimator_lib/testing/head_checks.py) over every head."""

import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el  # noqa: F401
from estimator_lib import heads
from estimator_lib.testing import head_checks
from estimator_lib.testing.head_checks import HeadSample

X = np.array([[0.5], [-1.0], [2.0], [0.0]], np.float32)
WEIGHTS = np.array([1.0, 2.0, 0.5, 0.0], np.float32)  # [batch]: expanded by the heads.


def _binary():
    return heads.BinaryClassHead(), HeadSample(
        {"x": X}, [[1.5], [-0.5], [0.2], [-2.0]], [[1], [0], [0], [1]])


def _binary_vocabulary_weighted():
    head = heads.BinaryClassHead(weight_column="w", thresholds=[0.3, 0.6],
                                 label_vocabulary=["no", "yes"], name="churn")
    return head, HeadSample({"x": X, "w": WEIGHTS}, [[1.5], [-0.5], [0.2], [-2.0]],
                            ["yes", "no", "no", "yes"])


def _multi_class():
    head = heads.MultiClassHead(3, weight_column="w", label_vocabulary=["a", "b", "c"])
    return head, HeadSample({"x": X, "w": WEIGHTS},
                            [[1.0, 0.0, -1.0], [0.0, 2.0, 0.0], [0.3, 0.2, 0.1], [-1.0, 0.0, 1.0]],
                            [["a"], ["b"], ["c"], ["c"]])


def _regression():
    head = heads.RegressionHead(label_dimension=2, weight_column="w", name="fare")
    return head, HeadSample({"x": X, "w": WEIGHTS},
                            [[1.0, 2.0], [0.0, -1.0], [0.5, 0.5], [3.0, 1.0]],
                            [[1.5, 2.0], [0.0, 1.0], [0.0, 0.5], [2.0, 1.0]])


def _regression_link():
    head = heads.RegressionHead(inverse_link_fn=tf.exp, loss_reduction="sum")
    return head, HeadSample({"x": X}, [[0.1], [0.2], [-0.3], [0.0]], [1.0, 1.5, 0.5, 1.0])


def _multi_label_dense():
    head = heads.MultiLabelHead(3, thresholds=[0.5], classes_for_class_based_metrics=[0, 2])
    return head, HeadSample({"x": X},
                            [[1.0, -1.0, 0.5], [-2.0, 1.0, 0.0], [0.3, 0.3, -0.3], [0.0, 0.0, 2.0]],
                            [[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]])


def _multi_label_sparse_vocabulary():
    head = heads.MultiLabelHead(3, weight_column="w", label_vocabulary=["r", "g", "b"],
                                classes_for_class_based_metrics=["g"], name="colors")
    labels = tf.sparse.from_dense(tf.constant([["r", "b"], ["g", ""], ["r", "g"], ["b", ""]]))
    return head, HeadSample({"x": X, "w": WEIGHTS},
                            [[1.0, -1.0, 0.5], [-2.0, 1.0, 0.0], [0.3, 0.3, -0.3], [0.0, 0.0, 2.0]],
                            labels)


def _multi_head():
    head = heads.MultiHead([heads.MultiClassHead(3, name="color"),
                            heads.BinaryClassHead(name="big", weight_column="w")],
                           head_weights=[1.0, 0.5])
    return head, HeadSample(
        {"x": X, "w": WEIGHTS},
        {"color": [[1.0, 0.0, -1.0], [0.0, 2.0, 0.0], [0.3, 0.2, 0.1], [-1.0, 0.0, 1.0]],
         "big": [[0.3], [-1.0], [2.0], [0.0]]},
        {"color": [0, 1, 2, 2], "big": [1, 0, 1, 0]})


CASES = [_binary, _binary_vocabulary_weighted, _multi_class, _regression, _regression_link,
         _multi_label_dense, _multi_label_sparse_vocabulary, _multi_head]


@pytest.mark.parametrize("check", head_checks.all_checks(), ids=lambda c: c.__name__)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__.strip("_"))
def test_head_contract(case, check):
    head, sample = case()
    check(head, sample)


def test_check_head_catches_a_broken_head():
    class ForgetfulHead(heads.BinaryClassHead):
        def metrics(self, regularization_losses=None):  # Drops the regularization metric.
            return super().metrics()

    _, sample = _binary()
    with pytest.raises(AssertionError, match="regularization_loss"):
        head_checks.check_head(ForgetfulHead(), sample)
