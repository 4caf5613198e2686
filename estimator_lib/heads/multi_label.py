"""`MultiLabelHead`: multi-label classification (any subset of n classes), sigmoid loss."""

from __future__ import annotations

import keras
import tensorflow as tf

from estimator_lib.heads import _arguments, _inputs, _loss, _metrics, _names, _predictions
from estimator_lib.heads._shared import shared
from estimator_lib.heads._single import SingleHead
from estimator_lib.heads.keys import MetricKeys, PredictionKeys
from estimator_lib.losses import Reduction


class MultiLabelHead(SingleHead):
    """A head for multi-label classification: n_classes independent sigmoid logits.

    Labels are either a multi-hot `[batch_size, n_classes]` tensor of 0/1, or a
    `tf.SparseTensor` / `tf.RaggedTensor` holding each example's class ids (integers in
    [0, n_classes)) or, with `label_vocabulary`, class names. The per-example loss is the
    sigmoid cross-entropy averaged over the classes.

    Predictions (as tf.estimator): `logits`, `probabilities` (sigmoid), `classes` (every
    class name, for each example). Eval metrics: `average_loss`, `auc`,
    `auc_precision_recall`, per threshold t `accuracy/positive_threshold_<t>`,
    `precision/...`, `recall/...`, and for each class c in
    `classes_for_class_based_metrics` `probability_mean/class<c>`, `auc/class<c>`,
    `auc_precision_recall/class<c>` (the class name instead of `class<c>` with a
    vocabulary); all suffixed `/<name>` for a named head. Export outputs:
    `serving_default` and `classification` (Classify), `predict`.

    Args:
        n_classes: Number of classes, at least 2.
        weight_column: Name of the feature holding example weights (`[batch_size]` or
            `[batch_size, 1]`), or a numeric column (whose shape, dtype and normalizer_fn
            apply). Default None.
        thresholds: Floats in (0, 1); per-threshold accuracy/precision/recall metrics.
        label_vocabulary: The class names, for string labels. Default None.
        loss_reduction: An `el.losses.Reduction` other than NONE. Default
            SUM_OVER_BATCH_SIZE.
        loss_fn: Optional `loss_fn(labels, logits[, features])` returning the unreduced
            `[batch_size, 1]` loss; labels arrive multi-hot int64 `[batch_size, n_classes]`.
        classes_for_class_based_metrics: Class ids (or names from the vocabulary) that get
            per-class metrics. Default none.
        name: Optional head name; suffixes the metric keys and names the head in MultiHead.

    Raises:
        ValueError, TypeError: For invalid arguments.

    Example:
        >>> head = MultiLabelHead(3, thresholds=[0.5])
        >>> labels = tf.ragged.constant([[0, 2], [1]])  # Class ids per example.
        >>> loss = head.loss(labels, tf.constant([[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]]))
    """

    def __init__(self, n_classes, *, weight_column=None, thresholds=None, label_vocabulary=None,
                 loss_reduction=Reduction.SUM_OVER_BATCH_SIZE, loss_fn=None,
                 classes_for_class_based_metrics=None, name=None):
        self._name = _arguments.check_name(name)
        head = _names.describe(self)
        self._n_classes = _arguments.check_n_classes(n_classes, 2, head)
        self._weight_column = _arguments.check_weight_column(weight_column)
        self._thresholds = _arguments.check_thresholds(thresholds)
        self._label_vocabulary = _arguments.check_vocabulary(label_vocabulary, self._n_classes, head)
        self._loss_reduction = _arguments.check_loss_reduction(loss_reduction)
        self._loss_fn_args = _arguments.check_loss_fn(loss_fn)
        self._loss_fn = loss_fn
        self._class_metric_ids = self._check_metric_classes(classes_for_class_based_metrics)

    def _check_metric_classes(self, classes) -> tuple[int, ...]:
        head = _names.describe(self)
        result = []
        for c in classes or ():
            if isinstance(c, str):
                if self._label_vocabulary is None or c not in self._label_vocabulary:
                    raise ValueError(
                        f"{head}: `classes_for_class_based_metrics` entry {c!r} is a class name, "
                        f"which needs it in `label_vocabulary` ({self._label_vocabulary!r})."
                    )
                result.append(self._label_vocabulary.index(c))
            elif isinstance(c, int) and not isinstance(c, bool) and 0 <= c < self._n_classes:
                result.append(c)
            else:
                raise ValueError(
                    f"{head}: `classes_for_class_based_metrics` entries must be class ids in "
                    f"[0, {self._n_classes - 1}] or class names; received {c!r}."
                )
        return tuple(result)

    @property
    def logits_dimension(self):
        """See base class."""
        return self._n_classes

    def _class_keys(self, class_id: int) -> tuple[str, str, str]:
        if self._label_vocabulary is None:
            formats = (MetricKeys.PROBABILITY_MEAN_AT_CLASS, MetricKeys.AUC_AT_CLASS,
                       MetricKeys.AUC_PR_AT_CLASS)
            return tuple(self._key(f % class_id) for f in formats)
        formats = (MetricKeys.PROBABILITY_MEAN_AT_NAME, MetricKeys.AUC_AT_NAME,
                   MetricKeys.AUC_PR_AT_NAME)
        return tuple(self._key(f % self._label_vocabulary[class_id]) for f in formats)

    @shared
    def _logits(self, logits):
        return _inputs.check_logits(logits, self._n_classes, _names.describe(self))

    @shared
    def _labels(self, logits, labels):
        """int64 multi-hot labels `[batch, n_classes]`."""
        head = _names.describe(self)
        if isinstance(labels, tf.RaggedTensor):
            labels = labels.to_sparse()
        if isinstance(labels, tf.SparseTensor):
            values = labels.values
            if self._label_vocabulary is not None:
                values = _inputs.vocabulary_ids(values, self._label_vocabulary, head)
            else:
                _inputs.reject_strings(values, head)
                if not values.dtype.is_integer:
                    raise TypeError(
                        f"{head}: sparse labels must hold integer class ids; received dtype "
                        f"{values.dtype.name}."
                    )
                values = _inputs.check_range(tf.cast(values, tf.int64), 0, self._n_classes - 1,
                                            head, "class ids (labels)",
                                            f"n_classes is {self._n_classes}.")
            ids = tf.SparseTensor(labels.indices, tf.cast(values, tf.int64), labels.dense_shape)
            labels = tf.cast(tf.sparse.to_indicator(ids, self._n_classes), tf.int64)
            return _inputs.dense_labels(labels, logits, self._n_classes, head)
        if _inputs.labels_tensor(labels, head).dtype == tf.string:
            raise TypeError(
                f"{head}: string labels must come as a tf.SparseTensor or tf.RaggedTensor of "
                "class names (with `label_vocabulary` set); received a dense string tensor."
            )
        labels = _inputs.dense_labels(labels, logits, self._n_classes, head)
        labels = tf.cast(labels, tf.int64)
        return _inputs.check_range(labels, 0, 1, head, "multi-hot labels",
                                  "Dense labels are multi-hot 0/1; pass class ids as a "
                                  "tf.SparseTensor or tf.RaggedTensor.")

    @shared
    def _unweighted_loss_and_weights(self, logits, labels, features):
        head = _names.describe(self)
        if self._loss_fn is not None:
            unweighted = _loss.call_loss_fn(self._loss_fn, self._loss_fn_args, labels, logits,
                                             features, 1, head)
        else:
            unweighted = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
                labels=tf.cast(labels, tf.float32), logits=logits), axis=-1, keepdims=True)
        return unweighted, _inputs.weights(features, self._weight_column, logits, head)

    def predictions(self, logits, keys=None):
        """See base class."""
        logits = self._logits(logits)
        predictions = {
            PredictionKeys.LOGITS: logits,
            PredictionKeys.PROBABILITIES: tf.sigmoid(logits),
            PredictionKeys.CLASSES: _predictions.all_classes(logits, self._n_classes,
                                                       self._label_vocabulary),
        }
        return _predictions.select(predictions, keys, _names.describe(self))

    def metrics(self, regularization_losses=None):
        """See base class."""
        k = self._key
        metrics = {
            k(MetricKeys.LOSS_MEAN): keras.metrics.Mean(name=k(MetricKeys.LOSS_MEAN)),
            k(MetricKeys.AUC): keras.metrics.AUC(name=k(MetricKeys.AUC)),
            k(MetricKeys.AUC_PR): keras.metrics.AUC(curve="PR", name=k(MetricKeys.AUC_PR)),
        }
        metrics.update(_metrics.regularization_metric(regularization_losses, self._name))
        metrics.update(_metrics.threshold_metrics(self._thresholds, k))
        for class_id in self._class_metric_ids:
            probability_mean, auc, auc_pr = self._class_keys(class_id)
            metrics[probability_mean] = keras.metrics.Mean(name=probability_mean)
            metrics[auc] = keras.metrics.AUC(name=auc)
            metrics[auc_pr] = keras.metrics.AUC(curve="PR", name=auc_pr)
        return metrics

    def update_metrics(self, eval_metrics, features, logits, labels, regularization_losses=None):
        """See base class."""
        logits = self._logits(logits)
        labels = self._labels(logits, labels)
        unweighted, weights = self._unweighted_loss_and_weights(logits, labels, features)
        probabilities = tf.sigmoid(logits)
        k = self._key
        _metrics.update_mean(eval_metrics[k(MetricKeys.LOSS_MEAN)], unweighted, weights)
        _metrics.update(eval_metrics[k(MetricKeys.AUC)], labels, probabilities, weights)
        _metrics.update(eval_metrics[k(MetricKeys.AUC_PR)], labels, probabilities, weights)
        _metrics.update_regularization_metric(eval_metrics, regularization_losses, self._name)
        _metrics.update_threshold_metrics(eval_metrics, self._thresholds, k, labels, probabilities, weights)
        for class_id in self._class_metric_ids:
            probability_mean, auc, auc_pr = self._class_keys(class_id)
            class_probabilities = probabilities[..., class_id:class_id + 1]
            class_labels = labels[..., class_id:class_id + 1]
            _metrics.update_mean(eval_metrics[probability_mean], class_probabilities, weights)
            _metrics.update(eval_metrics[auc], class_labels, class_probabilities, weights)
            _metrics.update(eval_metrics[auc_pr], class_labels, class_probabilities, weights)
        return eval_metrics

    def export_outputs(self, predictions):
        """See base class."""
        return _predictions.classification_export_outputs(predictions, PredictionKeys.CLASSES)
