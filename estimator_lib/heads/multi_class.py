"""`MultiClassHead`: single-label classification over n > 2 classes with a softmax loss."""

from __future__ import annotations

import keras
import tensorflow as tf

from estimator_lib.heads import _arguments, _inputs, _loss, _metrics, _names, _predictions
from estimator_lib.heads._shared import shared
from estimator_lib.heads._single import SingleHead
from estimator_lib.heads.keys import MetricKeys, PredictionKeys
from estimator_lib.losses import Reduction


class MultiClassHead(SingleHead):
    """A head for multi-class classification: n_classes logits, softmax cross-entropy.

    Labels are integer class ids in [0, n_classes), shape `[batch_size, 1]` or
    `[batch_size]`; with `label_vocabulary`, strings from it (in class-id order).

    Predictions: `logits`, `probabilities` (softmax), `class_ids`, `classes` (class names:
    the vocabulary, or the id as a string), `all_class_ids`, `all_classes`. Eval metrics:
    `accuracy`, `average_loss` (suffixed `/<name>` for a named head). Export outputs:
    `serving_default` and `classification` (Classify), `predict`.

    Args:
        n_classes: Number of classes, more than 2 (use BinaryClassHead for 2).
        weight_column: Name of the feature holding example weights (`[batch_size]` or
            `[batch_size, 1]`), or a numeric column (whose shape, dtype and normalizer_fn
            apply). Default None.
        label_vocabulary: The class names, for string labels. Default None.
        loss_reduction: An `el.losses.Reduction` other than NONE. Default
            SUM_OVER_BATCH_SIZE.
        loss_fn: Optional `loss_fn(labels, logits[, features])` returning the unreduced
            `[batch_size, 1]` loss; labels arrive as int64 class ids `[batch_size, 1]`.
        name: Optional head name; suffixes the metric keys and names the head in MultiHead.

    Raises:
        ValueError, TypeError: For invalid arguments.

    Example:
        >>> head = MultiClassHead(3, label_vocabulary=["cat", "dog", "bird"])
        >>> head.predictions(tf.constant([[0.0, 2.0, 1.0]]))["classes"]
        <tf.Tensor: shape=(1, 1), dtype=string, numpy=array([[b'dog']], dtype=object)>
    """

    def __init__(self, n_classes, *, weight_column=None, label_vocabulary=None,
                 loss_reduction=Reduction.SUM_OVER_BATCH_SIZE, loss_fn=None, name=None):
        self._name = _arguments.check_name(name)
        head = _names.describe(self)
        self._n_classes = _arguments.check_n_classes(
            n_classes, 3, head, " For two classes use el.heads.BinaryClassHead.")
        self._weight_column = _arguments.check_weight_column(weight_column)
        self._label_vocabulary = _arguments.check_vocabulary(label_vocabulary, self._n_classes, head)
        self._loss_reduction = _arguments.check_loss_reduction(loss_reduction)
        self._loss_fn_args = _arguments.check_loss_fn(loss_fn)
        self._loss_fn = loss_fn

    @property
    def logits_dimension(self):
        """See base class."""
        return self._n_classes

    @shared
    def _logits(self, logits):
        return _inputs.check_logits(logits, self._n_classes, _names.describe(self))

    @shared
    def _labels(self, logits, labels):
        """int64 class ids `[batch, 1]`."""
        head = _names.describe(self)
        labels = _inputs.dense_labels(labels, logits, 1, head)
        if self._label_vocabulary is not None:
            return _inputs.vocabulary_ids(labels, self._label_vocabulary, head)
        _inputs.reject_strings(labels, head)
        if not labels.dtype.is_integer:
            raise TypeError(
                f"{head}: labels must be integer class ids in [0, {self._n_classes - 1}]; "
                f"received dtype {labels.dtype.name}. Cast them with tf.cast(labels, tf.int64)."
            )
        labels = tf.cast(labels, tf.int64)
        return _inputs.check_range(labels, 0, self._n_classes - 1, head, "class ids (labels)",
                                  f"n_classes is {self._n_classes}.")

    @shared
    def _unweighted_loss_and_weights(self, logits, labels, features):
        head = _names.describe(self)
        if self._loss_fn is not None:
            unweighted = _loss.call_loss_fn(self._loss_fn, self._loss_fn_args, labels, logits,
                                             features, 1, head)
        else:
            unweighted = tf.expand_dims(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.squeeze(labels, -1), logits=logits), -1)
        return unweighted, _inputs.weights(features, self._weight_column, logits, head)

    def predictions(self, logits, keys=None):
        """See base class."""
        logits = self._logits(logits)
        class_ids = tf.expand_dims(tf.argmax(logits, axis=-1), -1)
        if self._label_vocabulary is not None:
            classes = tf.gather(tf.constant(self._label_vocabulary), class_ids)
        else:
            classes = tf.strings.as_string(class_ids)
        predictions = {
            PredictionKeys.LOGITS: logits,
            PredictionKeys.PROBABILITIES: tf.nn.softmax(logits),
            PredictionKeys.CLASS_IDS: class_ids,
            PredictionKeys.CLASSES: classes,
            PredictionKeys.ALL_CLASS_IDS: _predictions.all_class_ids(logits, self._n_classes),
            PredictionKeys.ALL_CLASSES: _predictions.all_classes(logits, self._n_classes,
                                                           self._label_vocabulary),
        }
        return _predictions.select(predictions, keys, _names.describe(self))

    def metrics(self, regularization_losses=None):
        """See base class."""
        loss_mean, accuracy = self._key(MetricKeys.LOSS_MEAN), self._key(MetricKeys.ACCURACY)
        metrics = {
            loss_mean: keras.metrics.Mean(name=loss_mean),
            accuracy: keras.metrics.Accuracy(name=accuracy),
        }
        metrics.update(_metrics.regularization_metric(regularization_losses, self._name))
        return metrics

    def update_metrics(self, eval_metrics, features, logits, labels, regularization_losses=None):
        """See base class."""
        logits = self._logits(logits)
        labels = self._labels(logits, labels)
        unweighted, weights = self._unweighted_loss_and_weights(logits, labels, features)
        class_ids = self.predictions(logits, [PredictionKeys.CLASS_IDS])[PredictionKeys.CLASS_IDS]
        _metrics.update_mean(eval_metrics[self._key(MetricKeys.LOSS_MEAN)], unweighted, weights)
        _metrics.update(eval_metrics[self._key(MetricKeys.ACCURACY)], labels, class_ids, weights)
        _metrics.update_regularization_metric(eval_metrics, regularization_losses, self._name)
        return eval_metrics

    def export_outputs(self, predictions):
        """See base class."""
        return _predictions.classification_export_outputs(predictions, PredictionKeys.ALL_CLASSES)
