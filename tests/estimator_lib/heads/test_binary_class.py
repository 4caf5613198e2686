"""BinaryClassHead: loss, predictions, metrics and exports against numpy; label errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from estimator_lib.heads import BinaryClassHead
from tests.estimator_lib.heads import reference as ref

LOGITS = np.array([[1.5], [-0.5], [0.2], [-2.0], [3.0], [-1.2], [0.7], [-0.1]], np.float32)
LABELS = np.array([[1], [0], [0], [1], [1], [0], [1], [0]], np.int64)
WEIGHTS = np.array([1.0, 2.0, 0.5, 0.0, 1.5, 1.0, 3.0, 0.25], np.float32)
FEATURES = {"w": WEIGHTS}
REDUCTIONS = [r for r in el.losses.Reduction.all() if r != el.losses.Reduction.NONE]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS, ids=lambda r: r.name)
def test_loss_matches_numpy(reduction, weighted):
    head = BinaryClassHead(weight_column="w" if weighted else None, loss_reduction=reduction)
    loss = head.loss(LABELS, LOGITS, features=FEATURES)
    expected = ref.reduce(ref.sigmoid_cross_entropy(LABELS, LOGITS),
                          WEIGHTS[:, None] if weighted else None, reduction)
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-5)


def test_labels_of_shape_batch_are_expanded_and_regularization_is_added():
    head = BinaryClassHead()
    loss = head.loss(LABELS[:, 0], LOGITS, regularization_losses=[tf.constant(0.5)])
    expected = ref.sigmoid_cross_entropy(LABELS, LOGITS).mean() + 0.5
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-5)


def test_predictions_match_numpy():
    predictions = BinaryClassHead().predictions(LOGITS)
    p = ref.sigmoid(LOGITS)
    np.testing.assert_allclose(predictions["logits"], LOGITS)
    np.testing.assert_allclose(predictions["logistic"], p, rtol=1e-6)
    np.testing.assert_allclose(predictions["probabilities"], np.hstack([1 - p, p]), rtol=1e-5)
    expected_ids = (LOGITS > 0).astype(np.int64)
    np.testing.assert_array_equal(predictions["class_ids"], expected_ids)
    assert predictions["class_ids"].dtype == tf.int64
    np.testing.assert_array_equal(predictions["classes"].numpy().astype(str),
                                  expected_ids.astype(str))
    np.testing.assert_array_equal(predictions["all_class_ids"], [[0, 1]] * len(LOGITS))
    np.testing.assert_array_equal(predictions["all_classes"].numpy().astype(str),
                                  [["0", "1"]] * len(LOGITS))


def test_metrics_match_numpy():
    head = BinaryClassHead(weight_column="w", thresholds=[0.3, 0.6])
    results = {k: m.result().numpy() for k, m in
               head.update_metrics(head.metrics(), FEATURES, LOGITS, LABELS).items()}
    w = WEIGHTS[:, None]
    p = ref.sigmoid(LOGITS)
    predicted = LOGITS > 0
    label_mean = ref.weighted_mean(LABELS, w)
    pr_auc = keras.metrics.AUC(curve="PR")  # The head must feed it labels, logistic, weights.
    pr_auc.update_state(LABELS, p, sample_weight=w)
    expected = {
        "average_loss": ref.weighted_mean(ref.sigmoid_cross_entropy(LABELS, LOGITS), w),
        "accuracy": ref.accuracy(LABELS, predicted, w),
        "precision": ref.precision(LABELS, predicted, w),
        "recall": ref.recall(LABELS, predicted, w),
        "prediction/mean": ref.weighted_mean(p, w),
        "label/mean": label_mean,
        "accuracy_baseline": max(label_mean, 1 - label_mean),
        "auc": ref.roc_auc(LABELS, p, w),
        "auc_precision_recall": pr_auc.result().numpy(),
    }
    for t in (0.3, 0.6):
        expected[f"accuracy/positive_threshold_{t:g}"] = ref.accuracy(LABELS, p > t, w)
        expected[f"precision/positive_threshold_{t:g}"] = ref.precision(LABELS, p > t, w)
        expected[f"recall/positive_threshold_{t:g}"] = ref.recall(LABELS, p > t, w)
    assert set(results) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(results[key], value, rtol=1e-4, atol=1e-4, err_msg=key)


def test_metrics_stream_over_batches():
    head = BinaryClassHead()
    metrics = head.metrics()
    head.update_metrics(metrics, {}, LOGITS[:3], LABELS[:3])
    head.update_metrics(metrics, {}, LOGITS[3:], LABELS[3:])
    np.testing.assert_allclose(metrics["accuracy"].result(),
                               ref.accuracy(LABELS, LOGITS > 0), rtol=1e-6)
    np.testing.assert_allclose(metrics["auc"].result(),
                               ref.roc_auc(LABELS, ref.sigmoid(LOGITS)), atol=1e-4)


def test_named_head_suffixes_metric_keys():
    head = BinaryClassHead(thresholds=[0.5], name="churn")
    assert set(head.metrics(regularization_losses=[0.1])) == {
        f"{key}/churn" for key in (
            "average_loss", "accuracy", "precision", "recall", "prediction/mean", "label/mean",
            "accuracy_baseline", "auc", "auc_precision_recall", "regularization_loss",
            "accuracy/positive_threshold_0.5", "precision/positive_threshold_0.5",
            "recall/positive_threshold_0.5")}


def test_label_vocabulary_maps_strings_to_class_ids():
    head = BinaryClassHead(label_vocabulary=["no", "yes"])
    strings = np.where(LABELS == 1, "yes", "no")
    np.testing.assert_allclose(head.loss(strings, LOGITS).numpy(),
                               BinaryClassHead().loss(LABELS, LOGITS).numpy(), rtol=1e-6)
    predictions = head.predictions(LOGITS)
    np.testing.assert_array_equal(predictions["classes"].numpy().astype(str),
                                  np.where(LOGITS > 0, "yes", "no"))
    np.testing.assert_array_equal(predictions["all_classes"].numpy()[0].astype(str), ["no", "yes"])
    metrics = head.update_metrics(head.metrics(), {}, LOGITS, strings)
    np.testing.assert_allclose(metrics["label/mean"].result(), LABELS.mean(), rtol=1e-6)


def test_export_outputs():
    head = BinaryClassHead(label_vocabulary=["no", "yes"])
    spec = head.create_estimator_spec({}, el.ModeKeys.PREDICT, LOGITS)
    outputs = spec.export_outputs
    assert set(outputs) == {"serving_default", "classification", "regression", "predict"}
    assert outputs["serving_default"] is outputs["classification"]
    classify = outputs["classification"].outputs()
    assert isinstance(outputs["classification"], el.export.ClassificationOutput)
    np.testing.assert_allclose(classify["scores"], spec.predictions["probabilities"])
    assert classify["classes"].numpy()[0].tolist() == [b"no", b"yes"]
    assert isinstance(outputs["regression"], el.export.RegressionOutput)
    np.testing.assert_allclose(outputs["regression"].outputs()["outputs"], ref.sigmoid(LOGITS)[:, 0],
                               rtol=1e-6)
    assert set(outputs["predict"].outputs()) == set(spec.predictions)


def test_custom_loss_fn_gets_float_labels_and_features():
    seen = {}

    def loss_fn(labels, logits, features):
        seen["labels"], seen["features"] = labels, features
        return tf.square(labels - tf.sigmoid(logits))

    head = BinaryClassHead(loss_fn=loss_fn, loss_reduction="sum")
    loss = head.loss(LABELS, LOGITS, features=FEATURES)
    np.testing.assert_allclose(loss, np.sum((LABELS - ref.sigmoid(LOGITS)) ** 2), rtol=1e-5)
    assert seen["labels"].dtype == tf.float32 and seen["features"] is FEATURES
    with pytest.raises(ValueError, match=r"loss_fn.*\[batch_size, 1\]"):
        BinaryClassHead(loss_fn=lambda labels, logits: tf.reduce_sum(logits)).loss(LABELS, LOGITS)


@pytest.mark.parametrize("labels, error, match", [
    (np.zeros([8, 2], np.int64), ValueError,
     r"BinaryClassHead 'churn': `labels` must have shape \[batch_size, 1\] or \[batch_size\].*"
     r"received shape \(8, 2\)"),
    (np.where(LABELS == 1, 2, 0), ValueError,
     r"BinaryClassHead 'churn': labels must be in \[0, 1\]; received \[2.0\]"),
    (np.where(LABELS == 1, "yes", "no"), TypeError, r"string labels.*Set `label_vocabulary"),
])
def test_bad_labels_raise_naming_head_expected_and_received(labels, error, match):
    with pytest.raises(error, match=match):
        BinaryClassHead(name="churn").loss(labels, LOGITS)


def test_bad_vocabulary_labels():
    head = BinaryClassHead(label_vocabulary=["no", "yes"])
    with pytest.raises(ValueError, match=r"label_vocabulary \['no', 'yes'\]; received unknown "
                                         r"labels \['maybe'\]"):
        head.loss(np.array([["yes"], ["maybe"]]), LOGITS[:2])
    with pytest.raises(TypeError, match="labels must be strings"):
        head.loss(LABELS, LOGITS)


def test_bad_labels_inside_tf_function_raise_at_run_time():
    head = BinaryClassHead()
    loss = tf.function(lambda labels, logits: head.loss(labels, logits))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"BinaryClassHead: labels must be "
                                                             r"in \[0, 1\]") as caught:
        loss(tf.constant(np.where(LABELS == 1, 3, 0)), tf.constant(LOGITS))
    assert "out of range:] [3.000000 3.000000 3.000000" in str(caught.value)  # the bad ones
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"out of range:\] \[nan\]"):
        loss(tf.constant([[np.nan], [1.0]]), tf.constant(LOGITS[:2]))
    labels = tf.constant([["yes"], ["maybe"]])
    vocabulary_loss = tf.function(
        lambda labels, logits: BinaryClassHead(label_vocabulary=["no", "yes"]).loss(labels, logits))
    with pytest.raises(tf.errors.InvalidArgumentError, match="received unknown labels"):
        vocabulary_loss(labels, tf.constant(LOGITS[:2]))


def test_bad_logits_and_weights():
    head = BinaryClassHead(weight_column="w")
    with pytest.raises(ValueError, match=r"`logits` must have shape \[batch_size, 1\].*\(8, 2\)"):
        head.predictions(np.zeros([8, 2], np.float32))
    with pytest.raises(ValueError, match=r"`weight_column` 'w' is not among the features"):
        head.loss(LABELS, LOGITS, features={"x": LOGITS})
    with pytest.raises(ValueError, match=r"weight feature 'w' must have shape"):
        head.loss(LABELS, LOGITS, features={"w": np.ones([8, 3], np.float32)})


@pytest.mark.parametrize("kwargs, error, match", [
    ({"thresholds": [0.0]}, ValueError, r"open interval \(0, 1\)"),
    ({"label_vocabulary": ["a", "b", "c"]}, ValueError, "must have 2 entries"),
    ({"label_vocabulary": "ab"}, TypeError, "list of strings"),
    ({"loss_reduction": el.losses.Reduction.NONE}, ValueError, "Reduction.NONE"),
    ({"loss_reduction": "mean"}, ValueError, "Invalid `reduction`"),
    ({"loss_fn": lambda y, z: y}, ValueError, "loss_fn` must take arguments"),
    ({"weight_column": 3}, TypeError, "weight_column"),
    ({"name": ""}, TypeError, "name"),
])
def test_constructor_validates(kwargs, error, match):
    with pytest.raises(error, match=match):
        BinaryClassHead(**kwargs)
