"""MultiLabelHead: dense, sparse, ragged and string labels; loss and metrics against numpy."""

import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from estimator_lib.heads import MultiLabelHead
from tests.estimator_lib.heads import reference as ref

LOGITS = np.array([[1.0, -1.0, 0.5], [-2.0, 1.0, 0.0], [0.3, 0.7, -0.3], [-0.4, -1.5, 2.0]],
                  np.float32)
MULTI_HOT = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], np.int64)
CLASS_IDS = [[0, 2], [1], [0, 1], [2]]
NAMES = [["r", "b"], ["g"], ["r", "g"], ["b"]]
WEIGHTS = np.array([1.0, 2.0, 0.5, 0.0], np.float32)


def _loss_per_example():
    return ref.sigmoid_cross_entropy(MULTI_HOT, LOGITS).mean(axis=-1, keepdims=True)


@pytest.mark.parametrize("reduction", [r for r in el.losses.Reduction.all()
                                       if r != el.losses.Reduction.NONE], ids=lambda r: r.name)
def test_weighted_loss_matches_numpy(reduction):
    head = MultiLabelHead(3, weight_column="w", loss_reduction=reduction)
    loss = head.loss(MULTI_HOT, LOGITS, features={"w": WEIGHTS})
    expected = ref.reduce(_loss_per_example(), WEIGHTS[:, None], reduction)
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("labels, vocabulary", [
    (tf.ragged.constant(CLASS_IDS, dtype=tf.int64), None),
    (tf.ragged.constant(CLASS_IDS, dtype=tf.int64).to_sparse(), None),
    (tf.ragged.constant(NAMES), ["r", "g", "b"]),
    (tf.ragged.constant(NAMES).to_sparse(), ["r", "g", "b"]),
], ids=["ragged_ids", "sparse_ids", "ragged_names", "sparse_names"])
def test_sparse_and_ragged_labels_equal_multi_hot(labels, vocabulary):
    head = MultiLabelHead(3, label_vocabulary=vocabulary)
    np.testing.assert_allclose(head.loss(labels, LOGITS), np.mean(_loss_per_example()), rtol=1e-5)


def test_predictions():
    predictions = MultiLabelHead(3, label_vocabulary=["r", "g", "b"]).predictions(LOGITS)
    assert set(predictions) == {"logits", "probabilities", "classes"}  # As tf.estimator.
    np.testing.assert_allclose(predictions["probabilities"], ref.sigmoid(LOGITS), rtol=1e-6)
    np.testing.assert_array_equal(predictions["classes"].numpy().astype(str),
                                  [["r", "g", "b"]] * 4)


def test_metrics_match_numpy():
    head = MultiLabelHead(3, weight_column="w", thresholds=[0.5],
                          classes_for_class_based_metrics=[2], name="tags")
    metrics = head.update_metrics(head.metrics(), {"w": WEIGHTS}, LOGITS, MULTI_HOT)
    results = {k: m.result().numpy() for k, m in metrics.items()}
    p, w = ref.sigmoid(LOGITS), WEIGHTS[:, None]
    expected = {
        "average_loss/tags": ref.weighted_mean(_loss_per_example(), w),
        "auc/tags": ref.roc_auc(MULTI_HOT, p, w),  # Micro-averaged over all labels.
        "accuracy/positive_threshold_0.5/tags": ref.accuracy(MULTI_HOT, p > 0.5, w),
        "precision/positive_threshold_0.5/tags": ref.precision(MULTI_HOT, p > 0.5, w),
        "recall/positive_threshold_0.5/tags": ref.recall(MULTI_HOT, p > 0.5, w),
        "probability_mean/class2/tags": ref.weighted_mean(p[:, 2:], w),
        "auc/class2/tags": ref.roc_auc(MULTI_HOT[:, 2:], p[:, 2:], w),
    }
    assert set(results) == set(expected) | {"auc_precision_recall/tags",
                                            "auc_precision_recall/class2/tags"}
    for key, value in expected.items():
        np.testing.assert_allclose(results[key], value, rtol=1e-4, atol=1e-4, err_msg=key)


def test_class_metric_keys_use_class_names_with_a_vocabulary():
    head = MultiLabelHead(3, label_vocabulary=["r", "g", "b"], classes_for_class_based_metrics=["g"])
    assert {"probability_mean/g", "auc/g", "auc_precision_recall/g"} <= set(head.metrics())


def test_export_outputs():
    spec = MultiLabelHead(3).create_estimator_spec({}, "infer", LOGITS)
    assert set(spec.export_outputs) == {"serving_default", "classification", "predict"}
    classify = spec.export_outputs["classification"].outputs()
    np.testing.assert_allclose(classify["scores"], ref.sigmoid(LOGITS), rtol=1e-6)
    assert classify["classes"].numpy()[0].astype(str).tolist() == ["0", "1", "2"]


@pytest.mark.parametrize("labels, error, match", [
    (np.array([[1, 0, 2], [0, 1, 0], [1, 1, 0], [0, 0, 1]]), ValueError,
     r"MultiLabelHead: multi-hot labels must be in \[0, 1\]; received \[2\]"),
    (tf.ragged.constant([[0], [3], [1], [2]], dtype=tf.int64), ValueError,
     r"class ids \(labels\) must be in \[0, 2\]; received \[3\]"),
    (np.array([["a"], ["b"], ["c"], ["a"]]), TypeError, "dense string tensor"),
    (tf.ragged.constant([["a"], ["b"], ["c"], ["a"]]), TypeError, "label_vocabulary"),
    (np.zeros([4, 2], np.int64), ValueError, r"`labels` must have shape \[batch_size, 3\]"),
])
def test_bad_labels(labels, error, match):
    with pytest.raises(error, match=match):
        MultiLabelHead(3).loss(labels, LOGITS)


def test_constructor_validates():
    with pytest.raises(ValueError, match="at least 2"):
        MultiLabelHead(1)
    with pytest.raises(ValueError, match=r"class ids in \[0, 2\]"):
        MultiLabelHead(3, classes_for_class_based_metrics=[3])
    with pytest.raises(ValueError, match="needs it in `label_vocabulary`"):
        MultiLabelHead(3, classes_for_class_based_metrics=["r"])
