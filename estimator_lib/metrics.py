"""Functional streaming metrics (TF1 ``tf.compat.v1.metrics`` style) backed by Keras.

In TF1 a metric function returned a ``(value_op, update_op)`` pair. Here each
function creates a Keras metric, feeds it the given batch with
``update_state(labels, predictions, sample_weight=weights)`` and returns the
metric object. ``metric.result()`` is the streaming value over every batch seen
so far; ``metric.update_state(...)`` accumulates another batch.

They are meant to be called inline in a ``model_fn`` to build
``EstimatorSpec.eval_metric_ops``. The Estimator runs ``model_fn`` inside a
``tf.function`` and intercepts variable creation, so re-tracing reuses the same
metric variables and each evaluation step accumulates into them::

    from estimator_lib import metrics

    def model_fn(features, labels, mode):
        logits = my_network(features)
        predicted = tf.argmax(logits, axis=-1)
        ...
        eval_metric_ops = {
            "accuracy": metrics.accuracy(labels, predicted),
            "mean_loss": metrics.mean(per_example_loss),
        }
        return el.EstimatorSpec(mode, loss=loss, eval_metric_ops=eval_metric_ops)

Outside such an interceptor, calling these functions inside a plain
``tf.function`` creates new variables on every trace, which ``tf.function``
rejects; create the metrics outside the function in that case.

Semantics follow Keras where Keras holds the implementation. Notably, the
confusion-matrix metrics (``precision``, ``recall``, ``true_positives``, ...)
count a prediction as positive when it is ``> 0.5`` (TF1 cast predictions to
bool); pass bool or 0/1 predictions for the TF1 behaviour. Labels are cast to
the dtype Keras needs, so integer or bool labels are fine. The regression
metrics (``mean_squared_error``, ``root_mean_squared_error``,
``mean_absolute_error``) treat 1-D ``[batch]`` inputs as ``[batch, 1]``, i.e.
element-wise as in TF1 (Keras alone would average a 1-D batch into a single
example), also in later ``update_state`` calls on the returned object.

:func:`metric_value` reads the current value of either a Keras metric or a
legacy ``(value, update_op)`` pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

__all__ = [
    "accuracy",
    "auc",
    "false_negatives",
    "false_positives",
    "mean",
    "mean_absolute_error",
    "mean_iou",
    "mean_relative_error",
    "mean_squared_error",
    "metric_value",
    "precision",
    "precision_at_thresholds",
    "recall",
    "recall_at_thresholds",
    "root_mean_squared_error",
    "true_negatives",
    "true_positives",
]


# --------------------------------------------------------------------------- helpers


def _name_kwargs(name):
    return {} if name is None else {"name": name}


def _require(value, arg_name: str):
    if value is None:
        raise ValueError(f"`{arg_name}` must not be None; pass a tensor (received None).")
    return value


def _float_predictions(predictions, arg_name: str = "predictions") -> tf.Tensor:
    t = tf.convert_to_tensor(_require(predictions, arg_name))
    if not t.dtype.is_floating:
        t = tf.cast(t, tf.float32)
    return t


def _regression_inputs(labels, predictions):
    """Float predictions, labels cast to their dtype, 1-D inputs made ``[batch, 1]``.

    Keras regression metrics average over the last axis per example, so a 1-D
    ``[batch]`` input would be collapsed into a single "example"; expanding it
    keeps TF1's element-wise semantics (and per-example weights).
    """
    predictions = _float_predictions(predictions)
    labels = tf.cast(_require(labels, "labels"), predictions.dtype)
    if predictions.shape.rank == 1:
        predictions = tf.expand_dims(predictions, -1)
    if labels.shape.rank == 1:
        labels = tf.expand_dims(labels, -1)
    return labels, predictions


class _ElementwiseRegression:
    """Mixin: ``update_state`` casts labels and treats 1-D inputs as ``[batch, 1]``."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _regression_inputs(y_true, y_pred)
        return super().update_state(y_true, y_pred, sample_weight=sample_weight)


class _MeanSquaredError(_ElementwiseRegression, keras.metrics.MeanSquaredError):
    pass


class _RootMeanSquaredError(_ElementwiseRegression, keras.metrics.RootMeanSquaredError):
    pass


class _MeanAbsoluteError(_ElementwiseRegression, keras.metrics.MeanAbsoluteError):
    pass


def _classification_inputs(labels, predictions):
    """Float predictions (bool/int cast to float32) and labels cast to the same dtype."""
    predictions = _float_predictions(predictions)
    labels = tf.cast(_require(labels, "labels"), predictions.dtype)
    return labels, predictions


def _update(metric, *args, weights=None):
    metric.update_state(*args, sample_weight=weights)
    return metric


def _thresholds_list(thresholds, fn_name: str) -> list[float]:
    if thresholds is None:
        raise ValueError(
            f"`{fn_name}` needs `thresholds` (received None): pass a list of floats in "
            f"[0, 1], e.g. `thresholds=[0.25, 0.5, 0.75]`."
        )
    if isinstance(thresholds, (int, float)):
        return [float(thresholds)]
    if isinstance(thresholds, Sequence) and thresholds:
        return [float(t) for t in thresholds]
    raise ValueError(
        f"`thresholds` for `{fn_name}` must be a non-empty list of floats in [0, 1], "
        f"received {thresholds!r}."
    )


# --------------------------------------------------------------------------- public API


def metric_value(metric_or_pair):
    """Returns the current value of a Keras metric or a TF1 ``(value, update_op)`` pair.

    Args:
        metric_or_pair: A Keras metric (anything with ``result()`` and
            ``update_state()``), or a ``(value, update_op)`` tuple/list as in
            TF1's ``eval_metric_ops``.

    Returns:
        ``metric.result()`` for a metric, or the ``value`` element of a pair
        (converted to a tensor when it is not one already).

    Raises:
        TypeError: If ``metric_or_pair`` is neither.

    Example:

        >>> float(metric_value(mean([1.0, 3.0])))
        2.0
        >>> float(metric_value((tf.constant(0.5), tf.no_op())))
        0.5
    """
    if callable(getattr(metric_or_pair, "result", None)) and callable(
        getattr(metric_or_pair, "update_state", None)
    ):
        return metric_or_pair.result()
    if isinstance(metric_or_pair, (tuple, list)) and len(metric_or_pair) == 2:
        value = metric_or_pair[0]
        return value if tf.is_tensor(value) else tf.convert_to_tensor(value)
    raise TypeError(
        f"Expected a Keras metric (with `result()` and `update_state()`) or a "
        f"`(value, update_op)` pair, received {metric_or_pair!r} of type "
        f"{type(metric_or_pair).__name__}. Build `eval_metric_ops` values with the "
        f"functions in `estimator_lib.metrics` or with `keras.metrics` objects."
    )


def accuracy(labels, predictions, weights=None, name=None):
    """Streaming fraction of ``predictions`` that exactly equal ``labels``.

    Uses ``keras.metrics.Accuracy``. As in TF1, ``predictions`` are cast to the
    dtype of ``labels`` before comparing, so pass predicted class ids (e.g.
    ``tf.argmax(logits, -1)``), not probabilities.

    Args:
        labels: Ground-truth tensor (e.g. class ids), shape ``[batch_size]`` or
            ``[batch_size, 1]``.
        predictions: Tensor of predicted values, same shape as ``labels`` (a
            trailing dimension of 1 on either side is squeezed).
        weights: Optional per-example weights, broadcastable to ``labels``.
        name: Optional metric name (defaults to ``"accuracy"``).

    Returns:
        A ``keras.metrics.Accuracy`` already updated with this batch.

    Example:

        ```python
        def model_fn(features, labels, mode):
            logits = my_network(features)
            ...
            eval_metric_ops = {
                "accuracy": metrics.accuracy(labels, tf.argmax(logits, -1)),
            }
            return el.EstimatorSpec(mode, loss=loss, eval_metric_ops=eval_metric_ops)
        ```
    """
    labels = tf.convert_to_tensor(_require(labels, "labels"))
    predictions = tf.convert_to_tensor(_require(predictions, "predictions"))
    if predictions.dtype != labels.dtype:
        predictions = tf.cast(predictions, labels.dtype)
    return _update(
        keras.metrics.Accuracy(**_name_kwargs(name)), labels, predictions, weights=weights
    )


def auc(
    labels,
    predictions,
    weights=None,
    num_thresholds=200,
    curve="ROC",
    summation_method="interpolation",
    name=None,
):
    """Streaming approximate area under the ROC or PR curve (``keras.metrics.AUC``).

    Args:
        labels: Ground-truth 0/1 (or bool) tensor, same shape as ``predictions``.
        predictions: Predicted probabilities in ``[0, 1]``.
        weights: Optional weights, broadcastable to ``labels``.
        num_thresholds: Number of thresholds used to discretize the curve.
        curve: ``"ROC"`` or ``"PR"``.
        summation_method: ``"interpolation"``, ``"minoring"`` or ``"majoring"``
            (Keras values; TF1's ``"trapezoidal"`` corresponds to
            ``"interpolation"``).
        name: Optional metric name (defaults to ``"auc"``).

    Returns:
        A ``keras.metrics.AUC`` already updated with this batch.

    Example:

        ```python
        def model_fn(features, labels, mode):
            logits = my_network(features)
            probabilities = tf.sigmoid(logits)
            ...
            eval_metric_ops = {
                "auc": metrics.auc(labels, probabilities),
                "auc_pr": metrics.auc(labels, probabilities, curve="PR"),
            }
            return el.EstimatorSpec(mode, loss=loss, eval_metric_ops=eval_metric_ops)
        ```
    """
    if summation_method == "trapezoidal":
        summation_method = "interpolation"
    labels, predictions = _classification_inputs(labels, predictions)
    metric = keras.metrics.AUC(
        num_thresholds=num_thresholds,
        curve=curve,
        summation_method=summation_method,
        **_name_kwargs(name),
    )
    return _update(metric, labels, predictions, weights=weights)


def precision(labels, predictions, weights=None, name=None):
    """Streaming precision ``tp / (tp + fp)`` (``keras.metrics.Precision``).

    A prediction counts as positive when it is ``> 0.5``; pass bool or 0/1
    predictions (or probabilities, to threshold them at 0.5).

    Args:
        labels: Ground-truth 0/1 (or bool) tensor, same shape as ``predictions``.
        predictions: Bool, 0/1 or probability tensor.
        weights: Optional weights, broadcastable to ``labels``.
        name: Optional metric name (defaults to ``"precision"``).

    Returns:
        A ``keras.metrics.Precision`` already updated with this batch.

    Example:

        ```python
        def model_fn(features, labels, mode):
            predicted = tf.sigmoid(my_network(features)) > 0.5
            ...
            eval_metric_ops = {"precision": metrics.precision(labels, predicted)}
            return el.EstimatorSpec(mode, loss=loss, eval_metric_ops=eval_metric_ops)
        ```
    """
    labels, predictions = _classification_inputs(labels, predictions)
    return _update(
        keras.metrics.Precision(**_name_kwargs(name)), labels, predictions, weights=weights
    )


def recall(labels, predictions, weights=None, name=None):
    """Streaming recall ``tp / (tp + fn)`` (``keras.metrics.Recall``).

    A prediction counts as positive when it is ``> 0.5``; pass bool or 0/1
    predictions (or probabilities, to threshold them at 0.5).

    Args:
        labels: Ground-truth 0/1 (or bool) tensor, same shape as ``predictions``.
        predictions: Bool, 0/1 or probability tensor.
        weights: Optional weights, broadcastable to ``labels``.
        name: Optional metric name (defaults to ``"recall"``).

    Returns:
        A ``keras.metrics.Recall`` already updated with this batch.

    Example:

        ```python
        def model_fn(features, labels, mode):
            predicted = tf.sigmoid(my_network(features)) > 0.5
            ...
            eval_metric_ops = {"recall": metrics.recall(labels, predicted)}
            return el.EstimatorSpec(mode, loss=loss, eval_metric_ops=eval_metric_ops)
        ```
    """
    labels, predictions = _classification_inputs(labels, predictions)
    return _update(keras.metrics.Recall(**_name_kwargs(name)), labels, predictions, weights=weights)


def precision_at_thresholds(labels, predictions, thresholds, weights=None, name=None):
    """Streaming precision at each of several thresholds.

    A prediction counts as positive at threshold ``t`` when it is ``> t``.
    ``result()`` is a vector with one precision per threshold, shape
    ``[len(thresholds)]`` — except that, following Keras, a single threshold
    gives a scalar.

    Args:
        labels: Ground-truth 0/1 (or bool) tensor, same shape as ``predictions``.
        predictions: Predicted probabilities in ``[0, 1]``.
        thresholds: List of floats in ``[0, 1]``.
        weights: Optional weights, broadcastable to ``labels``.
        name: Optional metric name (defaults to ``"precision"``).

    Returns:
        A ``keras.metrics.Precision`` with ``thresholds`` set, already updated
        with this batch.

    Raises:
        ValueError: If ``thresholds`` is empty/None or (from Keras) outside
            ``[0, 1]``.

    Example:

        ```python
        def model_fn(features, labels, mode):
            probabilities = tf.sigmoid(my_network(features))
            ...
            # eval result is a vector [p@0.25, p@0.5, p@0.75].
            eval_metric_ops = {
                "precision_at_thresholds": metrics.precision_at_thresholds(
                    labels, probabilities, thresholds=[0.25, 0.5, 0.75]),
            }
            return el.EstimatorSpec(mode, loss=loss, eval_metric_ops=eval_metric_ops)
        ```
    """
    thresholds = _thresholds_list(thresholds, "precision_at_thresholds")
    labels, predictions = _classification_inputs(labels, predictions)
    metric = keras.metrics.Precision(thresholds=thresholds, **_name_kwargs(name))
    return _update(metric, labels, predictions, weights=weights)


def recall_at_thresholds(labels, predictions, thresholds, weights=None, name=None):
    """Streaming recall at each of several thresholds.

    A prediction counts as positive at threshold ``t`` when it is ``> t``.
    ``result()`` is a vector with one recall per threshold, shape
    ``[len(thresholds)]`` — except that, following Keras, a single threshold
    gives a scalar.

    Args:
        labels: Ground-truth 0/1 (or bool) tensor, same shape as ``predictions``.
        predictions: Predicted probabilities in ``[0, 1]``.
        thresholds: List of floats in ``[0, 1]``.
        weights: Optional weights, broadcastable to ``labels``.
        name: Optional metric name (defaults to ``"recall"``).

    Returns:
        A ``keras.metrics.Recall`` with ``thresholds`` set, already updated
        with this batch.

    Raises:
        ValueError: If ``thresholds`` is empty/None or (from Keras) outside
            ``[0, 1]``.

    Example:

        ```python
        def model_fn(features, labels, mode):
            probabilities = tf.sigmoid(my_network(features))
            ...
            eval_metric_ops = {
                "recall_at_thresholds": metrics.recall_at_thresholds(
                    labels, probabilities, thresholds=[0.25, 0.5, 0.75]),
            }
            return el.EstimatorSpec(mode, loss=loss, eval_metric_ops=eval_metric_ops)
        ```
    """
    thresholds = _thresholds_list(thresholds, "recall_at_thresholds")
    labels, predictions = _classification_inputs(labels, predictions)
    metric = keras.metrics.Recall(thresholds=thresholds, **_name_kwargs(name))
    return _update(metric, labels, predictions, weights=weights)


def _confusion_count(metric_cls, labels, predictions, weights, name):
    labels, predictions = _classification_inputs(labels, predictions)
    return _update(metric_cls(**_name_kwargs(name)), labels, predictions, weights=weights)


def true_positives(labels, predictions, weights=None, name=None):
    """Streaming (weighted) count of true positives (``keras.metrics.TruePositives``).

    A prediction counts as positive when it is ``> 0.5``.

    Args:
        labels: Ground-truth 0/1 (or bool) tensor, same shape as ``predictions``.
        predictions: Bool, 0/1 or probability tensor.
        weights: Optional weights, broadcastable to ``labels``.
        name: Optional metric name.

    Returns:
        A ``keras.metrics.TruePositives`` already updated with this batch.

    Example:

        ```python
        def model_fn(features, labels, mode):
            predicted = tf.sigmoid(my_network(features)) > 0.5
            ...
            eval_metric_ops = {"tp": metrics.true_positives(labels, predicted)}
            return el.EstimatorSpec(mode, loss=loss, eval_metric_ops=eval_metric_ops)
        ```
    """
    return _confusion_count(keras.metrics.TruePositives, labels, predictions, weights, name)


def false_positives(labels, predictions, weights=None, name=None):
    """Streaming (weighted) count of false positives (``keras.metrics.FalsePositives``).

    A prediction counts as positive when it is ``> 0.5``.

    Args:
        labels: Ground-truth 0/1 (or bool) tensor, same shape as ``predictions``.
        predictions: Bool, 0/1 or probability tensor.
        weights: Optional weights, broadcastable to ``labels``.
        name: Optional metric name.

    Returns:
        A ``keras.metrics.FalsePositives`` already updated with this batch.

    Example:

        ```python
        def model_fn(features, labels, mode):
            predicted = tf.sigmoid(my_network(features)) > 0.5
            ...
            eval_metric_ops = {"fp": metrics.false_positives(labels, predicted)}
            return el.EstimatorSpec(mode, loss=loss, eval_metric_ops=eval_metric_ops)
        ```
    """
    return _confusion_count(keras.metrics.FalsePositives, labels, predictions, weights, name)


def true_negatives(labels, predictions, weights=None, name=None):
    """Streaming (weighted) count of true negatives (``keras.metrics.TrueNegatives``).

    A prediction counts as positive when it is ``> 0.5``.

    Args:
        labels: Ground-truth 0/1 (or bool) tensor, same shape as ``predictions``.
        predictions: Bool, 0/1 or probability tensor.
        weights: Optional weights, broadcastable to ``labels``.
        name: Optional metric name.

    Returns:
        A ``keras.metrics.TrueNegatives`` already updated with this batch.

    Example:

        ```python
        def model_fn(features, labels, mode):
            predicted = tf.sigmoid(my_network(features)) > 0.5
            ...
            eval_metric_ops = {"tn": metrics.true_negatives(labels, predicted)}
            return el.EstimatorSpec(mode, loss=loss, eval_metric_ops=eval_metric_ops)
        ```
    """
    return _confusion_count(keras.metrics.TrueNegatives, labels, predictions, weights, name)


def false_negatives(labels, predictions, weights=None, name=None):
    """Streaming (weighted) count of false negatives (``keras.metrics.FalseNegatives``).

    A prediction counts as positive when it is ``> 0.5``.

    Args:
        labels: Ground-truth 0/1 (or bool) tensor, same shape as ``predictions``.
        predictions: Bool, 0/1 or probability tensor.
        weights: Optional weights, broadcastable to ``labels``.
        name: Optional metric name.

    Returns:
        A ``keras.metrics.FalseNegatives`` already updated with this batch.

    Example:

        ```python
        def model_fn(features, labels, mode):
            predicted = tf.sigmoid(my_network(features)) > 0.5
            ...
            eval_metric_ops = {"fn": metrics.false_negatives(labels, predicted)}
            return el.EstimatorSpec(mode, loss=loss, eval_metric_ops=eval_metric_ops)
        ```
    """
    return _confusion_count(keras.metrics.FalseNegatives, labels, predictions, weights, name)


def mean(values, weights=None, name=None):
    """Streaming (weighted) mean of ``values`` (``keras.metrics.Mean``).

    With weights the result is ``sum(values * weights) / sum(weights)``, the
    weights being broadcast to ``values`` (``[batch_size]`` weights apply to
    every element of an example).

    Args:
        values: Tensor of any shape.
        weights: Optional weights: a scalar, ``[batch_size]``, or broadcastable
            to ``values``.
        name: Optional metric name (defaults to ``"mean"``).

    Returns:
        A ``keras.metrics.Mean`` already updated with this batch.

    Example:

        ```python
        def model_fn(features, labels, mode):
            logits = my_network(features)
            per_example_loss = losses.sparse_softmax_cross_entropy(
                labels, logits, reduction=losses.Reduction.NONE)
            loss = tf.reduce_mean(per_example_loss)
            eval_metric_ops = {"mean_loss": metrics.mean(per_example_loss)}
            return el.EstimatorSpec(mode, loss=loss, eval_metric_ops=eval_metric_ops)
        ```
    """
    values = _float_predictions(values, "values")
    return _update(keras.metrics.Mean(**_name_kwargs(name)), values, weights=weights)


def mean_squared_error(labels, predictions, weights=None, name=None):
    """Streaming mean squared error (``keras.metrics.MeanSquaredError``).

    Args:
        labels: Ground-truth tensor, same shape as ``predictions`` (cast to
            the predictions' dtype).
        predictions: Predicted values.
        weights: Optional per-example weights.
        name: Optional metric name (defaults to ``"mean_squared_error"``).

    Returns:
        A ``keras.metrics.MeanSquaredError`` (a subclass treating 1-D inputs as
        ``[batch, 1]``) already updated with this batch.

    Example:

        ```python
        def model_fn(features, labels, mode):
            predictions = my_network(features)
            ...
            eval_metric_ops = {"mse": metrics.mean_squared_error(labels, predictions)}
            return el.EstimatorSpec(mode, loss=loss, eval_metric_ops=eval_metric_ops)
        ```
    """
    metric = _MeanSquaredError(**_name_kwargs(name))
    return _update(metric, labels, predictions, weights=weights)


def root_mean_squared_error(labels, predictions, weights=None, name=None):
    """Streaming root mean squared error (``keras.metrics.RootMeanSquaredError``).

    Args:
        labels: Ground-truth tensor, same shape as ``predictions`` (cast to
            the predictions' dtype).
        predictions: Predicted values.
        weights: Optional per-example weights.
        name: Optional metric name (defaults to ``"root_mean_squared_error"``).

    Returns:
        A ``keras.metrics.RootMeanSquaredError`` (a subclass treating 1-D inputs as
        ``[batch, 1]``) already updated with this batch.

    Example:

        ```python
        def model_fn(features, labels, mode):
            predictions = my_network(features)
            ...
            eval_metric_ops = {"rmse": metrics.root_mean_squared_error(labels, predictions)}
            return el.EstimatorSpec(mode, loss=loss, eval_metric_ops=eval_metric_ops)
        ```
    """
    metric = _RootMeanSquaredError(**_name_kwargs(name))
    return _update(metric, labels, predictions, weights=weights)


def mean_absolute_error(labels, predictions, weights=None, name=None):
    """Streaming mean absolute error (``keras.metrics.MeanAbsoluteError``).

    Args:
        labels: Ground-truth tensor, same shape as ``predictions`` (cast to
            the predictions' dtype).
        predictions: Predicted values.
        weights: Optional per-example weights.
        name: Optional metric name (defaults to ``"mean_absolute_error"``).

    Returns:
        A ``keras.metrics.MeanAbsoluteError`` (a subclass treating 1-D inputs as
        ``[batch, 1]``) already updated with this batch.

    Example:

        ```python
        def model_fn(features, labels, mode):
            predictions = my_network(features)
            ...
            eval_metric_ops = {"mae": metrics.mean_absolute_error(labels, predictions)}
            return el.EstimatorSpec(mode, loss=loss, eval_metric_ops=eval_metric_ops)
        ```
    """
    metric = _MeanAbsoluteError(**_name_kwargs(name))
    return _update(metric, labels, predictions, weights=weights)


class _MeanRelativeError(keras.metrics.Mean):
    """Mean of ``|labels - predictions| / normalizer`` (0 where ``normalizer == 0``).

    ``update_state(labels, predictions, normalizer, sample_weight=None)``.
    """

    def __init__(self, name="mean_relative_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, normalizer, sample_weight=None):
        y_pred = tf.cast(y_pred, self.dtype)
        y_true = tf.cast(y_true, self.dtype)
        normalizer = tf.cast(normalizer, self.dtype)
        relative = tf.math.divide_no_nan(tf.abs(y_true - y_pred), normalizer)
        return super().update_state(relative, sample_weight=sample_weight)


def mean_relative_error(labels, predictions, normalizer, weights=None, name=None):
    """Streaming mean of ``|labels - predictions| / normalizer``.

    Elements whose ``normalizer`` is 0 contribute a relative error of 0 (as in
    TF1). Keras has no such metric; the returned object is a
    ``keras.metrics.Mean`` subclass whose
    ``update_state(labels, predictions, normalizer, sample_weight=None)``
    accumulates further batches.

    Args:
        labels: Ground-truth tensor, same shape as ``predictions``.
        predictions: Predicted values.
        normalizer: Tensor broadcastable to ``predictions`` (often ``labels``).
        weights: Optional weights, broadcastable to ``predictions``.
        name: Optional metric name (defaults to ``"mean_relative_error"``).

    Returns:
        A ``keras.metrics.Mean`` subclass already updated with this batch.

    Example:

        ```python
        def model_fn(features, labels, mode):
            predictions = my_network(features)
            ...
            eval_metric_ops = {
                "relative_error": metrics.mean_relative_error(
                    labels, predictions, normalizer=labels),
            }
            return el.EstimatorSpec(mode, loss=loss, eval_metric_ops=eval_metric_ops)
        ```
    """
    predictions = _float_predictions(predictions)
    labels = tf.cast(_require(labels, "labels"), predictions.dtype)
    normalizer = _require(normalizer, "normalizer")
    metric = _MeanRelativeError(**_name_kwargs(name))
    metric.update_state(labels, predictions, normalizer, sample_weight=weights)
    return metric


def mean_iou(labels, predictions, num_classes, weights=None, name=None):
    """Streaming mean intersection-over-union (``keras.metrics.MeanIoU``).

    IoU per class is ``tp / (tp + fp + fn)``; the result averages it over the
    classes that appear in labels or predictions.

    Args:
        labels: Ground-truth class ids in ``[0, num_classes)``, any shape
            (flattened).
        predictions: Predicted class ids, same number of elements as ``labels``.
        num_classes: Number of classes.
        weights: Optional weights, broadcastable to ``labels``.
        name: Optional metric name (defaults to ``"mean_iou"``).

    Returns:
        A ``keras.metrics.MeanIoU`` already updated with this batch.

    Example:

        ```python
        def model_fn(features, labels, mode):
            logits = my_segmentation_network(features)
            ...
            eval_metric_ops = {
                "mean_iou": metrics.mean_iou(labels, tf.argmax(logits, -1), num_classes=3),
            }
            return el.EstimatorSpec(mode, loss=loss, eval_metric_ops=eval_metric_ops)
        ```
    """
    labels = _require(labels, "labels")
    predictions = _require(predictions, "predictions")
    metric = keras.metrics.MeanIoU(num_classes=num_classes, **_name_kwargs(name))
    return _update(metric, labels, predictions, weights=weights)
