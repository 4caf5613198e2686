"""`RegressionHead`: regression on one or more real targets with a squared-error loss."""

from __future__ import annotations

import numbers

import keras
import tensorflow as tf

from estimator_lib import export as export_lib
from estimator_lib.heads import _arguments, _inputs, _loss, _metrics, _names, _predictions
from estimator_lib.heads._shared import shared
from estimator_lib.heads._single import SingleHead
from estimator_lib.heads.keys import MetricKeys, PredictionKeys, SignatureKeys
from estimator_lib.losses import Reduction


class RegressionHead(SingleHead):
    """A head for regression: `label_dimension` outputs, mean squared error.

    Labels are numbers of shape `[batch_size, label_dimension]` (or `[batch_size]` when
    label_dimension is 1). With `inverse_link_fn` (a generalized linear model), the
    prediction is `inverse_link_fn(logits)` and the loss compares labels with the logits
    unless a `loss_fn` is given (as tf.estimator).

    Predictions: `predictions` (and `logits` when inverse_link_fn is set). Eval metrics:
    `average_loss`, `label/mean`, `prediction/mean` (suffixed `/<name>` for a named head).
    Export outputs: `serving_default` and `regression` (Regress) for one label dimension,
    `predict`; with several label dimensions `serving_default` is the Predict signature
    (TF Serving's Regress API returns one value per example).

    Args:
        label_dimension: Number of regression targets per example. Default 1.
        weight_column: Name of the feature holding example weights (`[batch_size]`,
            `[batch_size, 1]` or `[batch_size, label_dimension]`), or a numeric column
            (whose shape, dtype and normalizer_fn apply). Default None.
        loss_reduction: An `el.losses.Reduction` other than NONE. Default
            SUM_OVER_BATCH_SIZE (the weighted sum over batch_size * label_dimension).
        loss_fn: Optional `loss_fn(labels, logits[, features])` returning the unreduced
            `[batch_size, label_dimension]` loss.
        inverse_link_fn: Optional function from logits to predictions (e.g. tf.exp).
        name: Optional head name; suffixes the metric keys and names the head in MultiHead.

    Raises:
        ValueError, TypeError: For invalid arguments.

    Example:
        >>> head = RegressionHead(label_dimension=2)
        >>> float(head.loss(tf.constant([[1.0, 2.0]]), tf.constant([[1.0, 4.0]])))  # 4 / 2
        2.0
    """

    def __init__(self, label_dimension=1, *, weight_column=None,
                 loss_reduction=Reduction.SUM_OVER_BATCH_SIZE, loss_fn=None,
                 inverse_link_fn=None, name=None):
        self._name = _arguments.check_name(name)
        if (not isinstance(label_dimension, numbers.Integral) or isinstance(label_dimension, bool)
                or label_dimension < 1):
            raise ValueError(
                f"`label_dimension` must be a positive integer; received {label_dimension!r}."
            )
        if inverse_link_fn is not None and not callable(inverse_link_fn):
            raise TypeError(f"`inverse_link_fn` must be callable or None; received "
                            f"{inverse_link_fn!r}.")
        self._label_dimension = int(label_dimension)
        self._weight_column = _arguments.check_weight_column(weight_column)
        self._loss_reduction = _arguments.check_loss_reduction(loss_reduction)
        self._loss_fn_args = _arguments.check_loss_fn(loss_fn)
        self._loss_fn = loss_fn
        self._inverse_link_fn = inverse_link_fn

    @property
    def logits_dimension(self):
        """See base class."""
        return self._label_dimension

    @shared
    def _logits(self, logits):
        return _inputs.check_logits(logits, self._label_dimension, _names.describe(self))

    @shared
    def _labels(self, logits, labels):
        head = _names.describe(self)
        labels = _inputs.dense_labels(labels, logits, self._label_dimension, head)
        if not (labels.dtype.is_floating or labels.dtype.is_integer or labels.dtype == tf.bool):
            raise TypeError(
                f"{head}: regression labels must be numeric; received dtype {labels.dtype.name}. "
                "Parse them as floats in input_fn."
            )
        return tf.cast(labels, tf.float32)

    @shared
    def _unweighted_loss_and_weights(self, logits, labels, features):
        head = _names.describe(self)
        if self._loss_fn is not None:
            unweighted = _loss.call_loss_fn(self._loss_fn, self._loss_fn_args, labels, logits,
                                             features, self._label_dimension, head)
        else:
            unweighted = tf.math.squared_difference(logits, labels)
        weights = _inputs.weights(features, self._weight_column, logits, head, allow_per_logit=True)
        return unweighted, weights

    def predictions(self, logits, keys=None):
        """See base class."""
        logits = self._logits(logits)
        if self._inverse_link_fn is None:
            predictions = {PredictionKeys.PREDICTIONS: logits}
        else:
            predictions = {PredictionKeys.PREDICTIONS: self._inverse_link_fn(logits),
                           PredictionKeys.LOGITS: logits}
        return _predictions.select(predictions, keys, _names.describe(self))

    def metrics(self, regularization_losses=None):
        """See base class."""
        keys = [self._key(k) for k in (MetricKeys.LOSS_MEAN, MetricKeys.PREDICTION_MEAN,
                                       MetricKeys.LABEL_MEAN)]
        metrics = {key: keras.metrics.Mean(name=key) for key in keys}
        metrics.update(_metrics.regularization_metric(regularization_losses, self._name))
        return metrics

    def update_metrics(self, eval_metrics, features, logits, labels, regularization_losses=None):
        """See base class."""
        logits = self._logits(logits)
        labels = self._labels(logits, labels)
        unweighted, weights = self._unweighted_loss_and_weights(logits, labels, features)
        predicted = self.predictions(logits)[PredictionKeys.PREDICTIONS]
        _metrics.update_mean(eval_metrics[self._key(MetricKeys.LOSS_MEAN)], unweighted, weights)
        _metrics.update_mean(eval_metrics[self._key(MetricKeys.PREDICTION_MEAN)], predicted, weights)
        _metrics.update_mean(eval_metrics[self._key(MetricKeys.LABEL_MEAN)], labels, weights)
        _metrics.update_regularization_metric(eval_metrics, regularization_losses, self._name)
        return eval_metrics

    def export_outputs(self, predictions):
        """See base class."""
        predict = export_lib.PredictOutput(dict(predictions))
        if self._label_dimension != 1:
            return {SignatureKeys.DEFAULT: predict, SignatureKeys.PREDICT: predict}
        regression = export_lib.RegressionOutput(predictions[PredictionKeys.PREDICTIONS])
        return {
            SignatureKeys.DEFAULT: regression,
            SignatureKeys.REGRESS: regression,
            SignatureKeys.PREDICT: predict,
        }
