"""`BinaryClassHead`: single-label binary classification with a sigmoid cross-entropy loss."""

from __future__ import annotations

import keras
import tensorflow as tf

from estimator_lib import export as export_lib
from estimator_lib.heads import _arguments, _inputs, _loss, _metrics, _names, _predictions
from estimator_lib.heads._shared import shared
from estimator_lib.heads._single import SingleHead
from estimator_lib.heads.keys import MetricKeys, PredictionKeys, SignatureKeys
from estimator_lib.losses import Reduction


class BinaryClassHead(SingleHead):
    """A head for binary classification: one logit per example, sigmoid cross-entropy.

    Labels are 0/1 (floats in [0, 1] are accepted as soft labels), shape `[batch_size, 1]`
    or `[batch_size]`; with `label_vocabulary`, strings from it (the first is class 0).

    Predictions: `logits`, `logistic` (sigmoid), `probabilities` ([1 - p, p]), `class_ids`,
    `classes` (class names: the vocabulary, or "0"/"1"), `all_class_ids`, `all_classes`.
    Eval metrics: `accuracy`, `precision`, `recall`, `auc`, `auc_precision_recall`,
    `prediction/mean`, `label/mean`, `accuracy_baseline`, `average_loss`, and per
    threshold t `accuracy/positive_threshold_<t>`, `precision/...`, `recall/...`
    (suffixed `/<name>` for a named head). Export outputs: `serving_default` and
    `classification` (Classify), `regression` (Regress, the logistic), `predict`.

    Args:
        weight_column: Name of the feature holding example weights (`[batch_size]` or
            `[batch_size, 1]`), or a numeric column (whose shape, dtype and normalizer_fn
            apply). Default None.
        thresholds: Floats in (0, 1); per-threshold accuracy/precision/recall metrics.
        label_vocabulary: The two class names, for string labels. Default None.
        loss_reduction: An `el.losses.Reduction` other than NONE. Default
            SUM_OVER_BATCH_SIZE (the weighted sum over the batch size).
        loss_fn: Optional `loss_fn(labels, logits[, features])` returning the unreduced
            `[batch_size, 1]` loss; labels arrive as float 0/1.
        name: Optional head name; suffixes the metric keys and names the head in MultiHead.

    Raises:
        ValueError, TypeError: For invalid arguments.

    Example:
        >>> head = BinaryClassHead(thresholds=[0.3], label_vocabulary=["no", "yes"])
        >>> def model_fn(features, labels, mode):
        ...     logits = keras.layers.Dense(head.logits_dimension)(features["x"])
        ...     return head.create_estimator_spec(features, mode, logits, labels,
        ...                                       optimizer=keras.optimizers.Adagrad(0.1))
    """

    def __init__(self, *, weight_column=None, thresholds=None, label_vocabulary=None,
                 loss_reduction=Reduction.SUM_OVER_BATCH_SIZE, loss_fn=None, name=None):
        self._name = _arguments.check_name(name)
        self._weight_column = _arguments.check_weight_column(weight_column)
        self._thresholds = _arguments.check_thresholds(thresholds)
        self._label_vocabulary = _arguments.check_vocabulary(label_vocabulary, 2, _names.describe(self))
        self._loss_reduction = _arguments.check_loss_reduction(loss_reduction)
        self._loss_fn_args = _arguments.check_loss_fn(loss_fn)
        self._loss_fn = loss_fn

    @property
    def logits_dimension(self):
        """See base class."""
        return 1

    @property
    def thresholds(self) -> tuple[float, ...]:
        return self._thresholds

    @shared
    def _logits(self, logits):
        return _inputs.check_logits(logits, 1, _names.describe(self))

    @shared
    def _labels(self, logits, labels):
        """float32 0/1 labels `[batch, 1]`."""
        head = _names.describe(self)
        labels = _inputs.dense_labels(labels, logits, 1, head)
        if self._label_vocabulary is not None:
            return tf.cast(_inputs.vocabulary_ids(labels, self._label_vocabulary, head), tf.float32)
        _inputs.reject_strings(labels, head)
        labels = tf.cast(labels, tf.float32)
        return _inputs.check_range(labels, 0, 1, head, "labels",
                                  "Binary labels are 0/1 (or probabilities in between).")

    @shared
    def _unweighted_loss_and_weights(self, logits, labels, features):
        head = _names.describe(self)
        if self._loss_fn is not None:
            unweighted = _loss.call_loss_fn(self._loss_fn, self._loss_fn_args, labels, logits,
                                             features, 1, head)
        else:
            unweighted = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
        return unweighted, _inputs.weights(features, self._weight_column, logits, head)

    def predictions(self, logits, keys=None):
        """See base class."""
        logits = self._logits(logits)
        logistic = tf.sigmoid(logits)
        two_class_logits = tf.concat([tf.zeros_like(logits), logits], axis=-1)
        class_ids = tf.expand_dims(tf.argmax(two_class_logits, axis=-1), -1)
        if self._label_vocabulary is not None:
            classes = tf.gather(tf.constant(self._label_vocabulary), class_ids)
        else:
            classes = tf.strings.as_string(class_ids)
        keys_ = PredictionKeys
        predictions = {
            keys_.LOGITS: logits,
            keys_.LOGISTIC: logistic,
            keys_.PROBABILITIES: tf.nn.softmax(two_class_logits),
            keys_.CLASS_IDS: class_ids,
            keys_.CLASSES: classes,
            keys_.ALL_CLASS_IDS: _predictions.all_class_ids(logits, 2),
            keys_.ALL_CLASSES: _predictions.all_classes(logits, 2, self._label_vocabulary),
        }
        return _predictions.select(predictions, keys, _names.describe(self))

    def metrics(self, regularization_losses=None):
        """See base class."""
        k = self._key
        metrics = {
            k(MetricKeys.LOSS_MEAN): keras.metrics.Mean(name=k(MetricKeys.LOSS_MEAN)),
            k(MetricKeys.ACCURACY): keras.metrics.Accuracy(name=k(MetricKeys.ACCURACY)),
            k(MetricKeys.PRECISION): keras.metrics.Precision(name=k(MetricKeys.PRECISION)),
            k(MetricKeys.RECALL): keras.metrics.Recall(name=k(MetricKeys.RECALL)),
            k(MetricKeys.PREDICTION_MEAN): keras.metrics.Mean(name=k(MetricKeys.PREDICTION_MEAN)),
            k(MetricKeys.LABEL_MEAN): keras.metrics.Mean(name=k(MetricKeys.LABEL_MEAN)),
            k(MetricKeys.ACCURACY_BASELINE): _metrics.AccuracyBaseline(
                name=k(MetricKeys.ACCURACY_BASELINE)),
            k(MetricKeys.AUC): keras.metrics.AUC(name=k(MetricKeys.AUC)),
            k(MetricKeys.AUC_PR): keras.metrics.AUC(curve="PR", name=k(MetricKeys.AUC_PR)),
        }
        metrics.update(_metrics.regularization_metric(regularization_losses, self._name))
        metrics.update(_metrics.threshold_metrics(self._thresholds, k))
        return metrics

    def update_metrics(self, eval_metrics, features, logits, labels, regularization_losses=None):
        """See base class."""
        logits = self._logits(logits)
        labels = self._labels(logits, labels)
        unweighted, weights = self._unweighted_loss_and_weights(logits, labels, features)
        predictions = self.predictions(logits, [PredictionKeys.LOGISTIC, PredictionKeys.CLASS_IDS])
        logistic = predictions[PredictionKeys.LOGISTIC]
        class_ids = predictions[PredictionKeys.CLASS_IDS]
        k = self._key
        _metrics.update_mean(eval_metrics[k(MetricKeys.LOSS_MEAN)], unweighted, weights)
        for key in (MetricKeys.ACCURACY, MetricKeys.PRECISION, MetricKeys.RECALL):
            _metrics.update(eval_metrics[k(key)], labels, class_ids, weights)
        _metrics.update_mean(eval_metrics[k(MetricKeys.PREDICTION_MEAN)], logistic, weights)
        _metrics.update_mean(eval_metrics[k(MetricKeys.LABEL_MEAN)], labels, weights)
        _metrics.update_mean(eval_metrics[k(MetricKeys.ACCURACY_BASELINE)], labels, weights)
        _metrics.update(eval_metrics[k(MetricKeys.AUC)], labels, logistic, weights)
        _metrics.update(eval_metrics[k(MetricKeys.AUC_PR)], labels, logistic, weights)
        _metrics.update_regularization_metric(eval_metrics, regularization_losses, self._name)
        _metrics.update_threshold_metrics(eval_metrics, self._thresholds, k, labels, logistic, weights)
        return eval_metrics

    def export_outputs(self, predictions):
        """See base class."""
        outputs = _predictions.classification_export_outputs(predictions, PredictionKeys.ALL_CLASSES)
        outputs[SignatureKeys.REGRESS] = export_lib.RegressionOutput(
            predictions[PredictionKeys.LOGISTIC])
        return outputs
