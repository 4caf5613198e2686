"""MultiClassHead: softmax loss, predictions, metrics and exports against numpy."""

import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from estimator_lib.heads import MultiClassHead
from tests.estimator_lib.heads import reference as ref

LOGITS = np.array([[1.0, 0.0, -1.0], [0.0, 2.0, 0.5], [0.3, 0.2, 0.9], [-1.0, 0.0, 1.0],
                   [2.0, -1.0, 0.0]], np.float32)
LABELS = np.array([[0], [1], [2], [0], [1]], np.int64)
WEIGHTS = np.array([[1.0], [2.0], [0.0], [0.5], [1.5]], np.float32)  # [batch, 1] also works.
VOCABULARY = ["cat", "dog", "bird"]


def _cross_entropy(labels, logits):
    return -np.log(np.take_along_axis(ref.softmax(logits), np.asarray(labels), axis=-1))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", [r for r in el.losses.Reduction.all()
                                       if r != el.losses.Reduction.NONE], ids=lambda r: r.name)
def test_loss_matches_numpy(reduction, weighted):
    head = MultiClassHead(3, weight_column="w" if weighted else None, loss_reduction=reduction)
    loss = head.loss(LABELS[:, 0], LOGITS, features={"w": WEIGHTS})
    expected = ref.reduce(_cross_entropy(LABELS, LOGITS), WEIGHTS if weighted else None, reduction)
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-5)


def test_predictions_match_numpy():
    predictions = MultiClassHead(3, label_vocabulary=VOCABULARY).predictions(LOGITS)
    ids = LOGITS.argmax(axis=-1)[:, None]
    np.testing.assert_allclose(predictions["probabilities"], ref.softmax(LOGITS), rtol=1e-5)
    np.testing.assert_array_equal(predictions["class_ids"], ids)
    np.testing.assert_array_equal(predictions["classes"].numpy().astype(str),
                                  np.array(VOCABULARY)[ids])
    np.testing.assert_array_equal(predictions["all_class_ids"], [[0, 1, 2]] * 5)
    np.testing.assert_array_equal(predictions["all_classes"].numpy().astype(str), [VOCABULARY] * 5)
    unnamed = MultiClassHead(3).predictions(LOGITS)["classes"].numpy().astype(str)
    np.testing.assert_array_equal(unnamed, ids.astype(str))


def test_metrics_match_numpy():
    head = MultiClassHead(3, weight_column="w")
    metrics = head.update_metrics(head.metrics(), {"w": WEIGHTS}, LOGITS, LABELS)
    assert set(metrics) == {"accuracy", "average_loss"}
    np.testing.assert_allclose(metrics["accuracy"].result(),
                               ref.accuracy(LABELS, LOGITS.argmax(-1)[:, None], WEIGHTS), rtol=1e-6)
    np.testing.assert_allclose(metrics["average_loss"].result(),
                               ref.weighted_mean(_cross_entropy(LABELS, LOGITS), WEIGHTS), rtol=1e-5)


def test_label_vocabulary_maps_strings_to_class_ids():
    head = MultiClassHead(3, label_vocabulary=VOCABULARY, name="pet")
    strings = np.array(VOCABULARY)[LABELS]
    np.testing.assert_allclose(head.loss(strings, LOGITS), MultiClassHead(3).loss(LABELS, LOGITS),
                               rtol=1e-6)
    metrics = head.update_metrics(head.metrics(), {}, LOGITS, strings)
    assert set(metrics) == {"accuracy/pet", "average_loss/pet"}
    np.testing.assert_allclose(metrics["accuracy/pet"].result(),
                               ref.accuracy(LABELS, LOGITS.argmax(-1)[:, None]), rtol=1e-6)
    with pytest.raises(ValueError, match=r"MultiClassHead 'pet': labels must be in "
                                         r"label_vocabulary .*received unknown labels \['fish'\]"):
        head.loss(np.array([["cat"], ["fish"]]), LOGITS[:2])


def test_export_outputs():
    spec = MultiClassHead(3, label_vocabulary=VOCABULARY).create_estimator_spec(
        {}, "infer", LOGITS)
    assert set(spec.export_outputs) == {"serving_default", "classification", "predict"}
    classify = spec.export_outputs["serving_default"]
    assert isinstance(classify, el.export.ClassificationOutput)
    assert classify.outputs()["classes"].numpy()[0].astype(str).tolist() == VOCABULARY
    np.testing.assert_allclose(classify.outputs()["scores"], ref.softmax(LOGITS), rtol=1e-5)


@pytest.mark.parametrize("labels, error, match", [
    (np.array([[0], [3], [1], [-1], [2]]), ValueError,
     r"MultiClassHead: class ids \(labels\) must be in \[0, 2\]; received \[-1, 3\]\. "
     r"n_classes is 3"),
    (LABELS.astype(np.float32), TypeError, r"integer class ids.*received dtype float32"),
    (np.array(VOCABULARY)[LABELS], TypeError, r"string labels.*label_vocabulary"),
    (np.zeros([5, 3], np.int64), ValueError, r"`labels` must have shape \[batch_size, 1\]"),
])
def test_bad_labels(labels, error, match):
    with pytest.raises(error, match=match):
        MultiClassHead(3).loss(labels, LOGITS)


def test_out_of_range_labels_inside_tf_function():
    head = MultiClassHead(3)
    loss = tf.function(lambda labels, logits: head.loss(labels, logits))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"must be in \[0, 2\]"):
        loss(tf.constant([[0], [7], [1], [1], [2]], tf.int64), tf.constant(LOGITS))


def test_constructor_validates():
    with pytest.raises(ValueError, match="at least 3.*BinaryClassHead"):
        MultiClassHead(2)
    with pytest.raises(TypeError, match="integer"):
        MultiClassHead(3.0)
    with pytest.raises(ValueError, match="must have 3 entries"):
        MultiClassHead(3, label_vocabulary=["a", "b"])
    with pytest.raises(ValueError, match="duplicates"):
        MultiClassHead(3, label_vocabulary=["a", "b", "a"])
