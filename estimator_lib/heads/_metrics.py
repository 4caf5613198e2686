"""The heads' EVAL metrics: streaming updates with weights, the accuracy baseline, the
regularization loss and the metrics at each classification threshold."""

from __future__ import annotations

import keras
import tensorflow as tf

from estimator_lib.heads import _loss, _names
from estimator_lib.heads.keys import MetricKeys


class AccuracyBaseline(keras.metrics.Mean):
    """The accuracy of always predicting the majority class: max(label mean, 1 - label mean).

    Update it with the 0/1 labels (and weights); it streams the weighted label mean.

    Example:
        >>> metric = AccuracyBaseline()
        >>> metric.update_state([1.0, 0.0, 1.0])
        >>> round(float(metric.result()), 4)  # 2 of 3 labels are 1.
        0.6667
    """

    def result(self):
        mean = super().result()
        return tf.maximum(mean, 1.0 - mean)


# Keras metric code needs no AutoGraph (it has no Python control flow on tensors), and
# converting it costs seconds per trace; the Estimator traces model_fn several times.
@tf.autograph.experimental.do_not_convert
def update_mean(metric, values, weights=None) -> None:
    """Element-wise weighted mean: `sum(values * w) / sum(w)`, w broadcast to values."""
    values = tf.cast(values, tf.float32)
    if weights is None:
        metric.update_state(tf.reshape(values, [-1]))
        return
    weights = tf.broadcast_to(weights, tf.shape(values))
    metric.update_state(tf.reshape(values, [-1]), sample_weight=tf.reshape(weights, [-1]))


@tf.autograph.experimental.do_not_convert
def update(metric, labels, predictions, weights=None) -> None:
    """`metric.update_state` with float inputs and weights broadcast to the predictions."""
    predictions = tf.cast(predictions, tf.float32)
    labels = tf.cast(labels, tf.float32)
    if weights is not None:
        weights = tf.broadcast_to(weights, tf.shape(predictions))
    metric.update_state(labels, predictions, sample_weight=weights)


def regularization_metric(regularization_losses, name: str | None):
    """`{key: Mean}` for the regularization loss, or {} when there is none."""
    if not regularization_losses:
        return {}
    key = _names.summary_key(MetricKeys.LOSS_REGULARIZATION, name)
    return {key: keras.metrics.Mean(name=key)}


@tf.autograph.experimental.do_not_convert
def update_regularization_metric(eval_metrics, regularization_losses, name: str | None) -> None:
    if not regularization_losses:
        return
    key = _names.summary_key(MetricKeys.LOSS_REGULARIZATION, name)
    eval_metrics[key].update_state(_loss.regularization_loss(regularization_losses))


_THRESHOLD_KEYS = ("ACCURACY_AT_THRESHOLD", "PRECISION_AT_THRESHOLD", "RECALL_AT_THRESHOLD")


def threshold_metrics(thresholds, key) -> dict:
    """Accuracy, precision and recall at each threshold, named by `key` (the head's suffixer)."""
    metrics = {}
    for t in thresholds:
        accuracy, precision, recall = (key(getattr(MetricKeys, name) % t) for name in _THRESHOLD_KEYS)
        metrics[accuracy] = keras.metrics.BinaryAccuracy(name=accuracy, threshold=t)
        metrics[precision] = keras.metrics.Precision(name=precision, thresholds=t)
        metrics[recall] = keras.metrics.Recall(name=recall, thresholds=t)
    return metrics


def update_threshold_metrics(eval_metrics, thresholds, key, labels, probabilities, weights):
    """Updates the metrics `threshold_metrics` made."""
    for t in thresholds:
        for name in _THRESHOLD_KEYS:
            update(eval_metrics[key(getattr(MetricKeys, name) % t)], labels, probabilities, weights)
