"""Checks and small computations the heads share (labels, logits, weights, loss_fn, metrics).

Shapes are checked statically where TensorFlow knows them, with a ValueError at trace time.
Values (class ids out of range, labels not in the vocabulary) can only be checked when the
data flows: eagerly they raise a ValueError at once; inside tf.function they become assert
ops that raise `tf.errors.InvalidArgumentError` with the same message when a bad batch
arrives.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import re
from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from estimator_lib import _checks, _per_call
from estimator_lib import export as export_lib
from estimator_lib.feature_columns.base import DenseColumn
from estimator_lib.heads.keys import MetricKeys, PredictionKeys, SignatureKeys
from estimator_lib.losses import Reduction, compute_weighted_loss


def shared(method):
    """Decorates a head method of tensors so it runs once per head and inputs within a
    `_per_call.scope()`, which `Head.create_estimator_spec` opens: the loss and, in EVAL,
    the metrics both check the logits and labels and compute the per-example loss, and
    sharing those halves the ops a head adds to a trace (and the time to trace them)."""

    @functools.wraps(method)
    def wrapper(self, *args):
        return _per_call.memoized((id(self), method.__name__, *map(id, args)), args,
                                  lambda: method(self, *args))

    return wrapper


_LOSS_FN_ARGS = ("labels", "logits", "features")


# -- construction-time checks ------------------------------------------------------------------
def check_name(name) -> str | None:
    if name is not None and (not isinstance(name, str) or not name):
        raise TypeError(f"`name` must be a non-empty string or None; received {name!r}.")
    return name


def check_weight_column(weight_column):
    """A feature key (str) or a dense column with a string `key` (e.g. a numeric column)."""
    if weight_column is None or isinstance(weight_column, str):
        return weight_column
    if isinstance(weight_column, DenseColumn) and isinstance(getattr(weight_column, "key", None),
                                                              str):
        return weight_column
    raise TypeError(
        "`weight_column` must be a feature name (str) or a numeric column with a `key` (e.g. "
        f"el.feature_columns.numeric_column('w')); received {weight_column!r}."
    )


def check_loss_reduction(loss_reduction) -> Reduction:
    reduction = Reduction.validate(loss_reduction)
    if reduction == Reduction.NONE:
        raise ValueError(
            "`loss_reduction` must reduce the loss to a scalar; received Reduction.NONE. Use "
            "Reduction.SUM_OVER_BATCH_SIZE (the default), SUM, MEAN or SUM_BY_NONZERO_WEIGHTS."
        )
    return reduction


def check_loss_fn(loss_fn) -> frozenset[str]:
    """Validates `loss_fn(labels, logits[, features])`; returns the arguments it takes."""
    if loss_fn is None:
        return frozenset()
    if not callable(loss_fn):
        raise TypeError(f"`loss_fn` must be callable or None; received {loss_fn!r}.")
    args = frozenset(inspect.signature(loss_fn).parameters)
    missing = [a for a in ("labels", "logits") if a not in args]
    unknown = sorted(args - set(_LOSS_FN_ARGS))
    if missing or unknown:
        raise ValueError(
            f"`loss_fn` must take arguments (labels, logits[, features]); it takes "
            f"{sorted(args)} (missing {missing}, unexpected {unknown})."
        )
    return args


def check_thresholds(thresholds) -> tuple[float, ...]:
    if not thresholds:
        return ()
    if isinstance(thresholds, numbers.Real):
        thresholds = (thresholds,)
    result = []
    for threshold in thresholds:
        if not isinstance(threshold, numbers.Real) or isinstance(threshold, bool):
            raise TypeError(f"`thresholds` must be floats in (0, 1); received {thresholds!r}.")
        if not 0.0 < threshold < 1.0:
            raise ValueError(
                f"`thresholds` must be in the open interval (0, 1); received {threshold!r}."
            )
        result.append(float(threshold))
    return tuple(result)


def check_vocabulary(label_vocabulary, n_classes: int, head: str) -> tuple[str, ...] | None:
    if label_vocabulary is None:
        return None
    if not isinstance(label_vocabulary, list | tuple) or not all(
            isinstance(v, str) for v in label_vocabulary):
        raise TypeError(
            f"{head}: `label_vocabulary` must be a list of strings; received "
            f"{label_vocabulary!r}."
        )
    if len(label_vocabulary) != n_classes:
        raise ValueError(
            f"{head}: `label_vocabulary` must have {n_classes} entries (one per class); "
            f"received {len(label_vocabulary)}: {list(label_vocabulary)!r}."
        )
    if len(set(label_vocabulary)) != len(label_vocabulary):
        raise ValueError(f"{head}: `label_vocabulary` has duplicates: {list(label_vocabulary)!r}.")
    return tuple(label_vocabulary)


def check_n_classes(n_classes, minimum: int, head: str, hint: str = "") -> int:
    if not isinstance(n_classes, numbers.Integral) or isinstance(n_classes, bool):
        raise TypeError(f"{head}: `n_classes` must be an integer; received {n_classes!r}.")
    if n_classes < minimum:
        raise ValueError(
            f"{head}: `n_classes` must be at least {minimum}; received {n_classes}.{hint}"
        )
    return int(n_classes)


def describe(head) -> str:
    """How errors name a head: `BinaryClassHead` or `BinaryClassHead 'churn'`."""
    kind = type(head).__name__
    return kind if head.name is None else f"{kind} {head.name!r}"


def summary_key(key: str, name: str | None) -> str:
    """tf.estimator's metric key: `key`, suffixed with `/<name>` for a named head."""
    return key if name is None else f"{key}/{name}"


def scope_name(head) -> str:
    """A valid tf.name_scope name for the head's ops."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", head.name or "head")


# -- logits, labels, weights ----------------------------------------------------------------
def check_logits(logits, dimension: int, head: str) -> tf.Tensor:
    """Logits as float32 `[D0, ..., DN, dimension]`."""
    if logits is None:
        raise ValueError(f"{head}: `logits` is None; pass the model's output tensor.")
    if isinstance(logits, tf.SparseTensor | tf.RaggedTensor):
        raise TypeError(f"{head}: `logits` must be a dense tensor; received {type(logits).__name__}.")
    logits = tf.convert_to_tensor(logits)
    if logits.dtype != tf.float32:
        if not (logits.dtype.is_floating or logits.dtype.is_integer):
            raise TypeError(f"{head}: `logits` must be numeric; received dtype {logits.dtype.name}.")
        logits = tf.cast(logits, tf.float32)
    shape = logits.shape
    if shape.rank is not None and (shape.rank < 2 or shape[-1] not in (None, dimension)):
        raise ValueError(
            f"{head}: `logits` must have shape [batch_size, {dimension}] (logits_dimension="
            f"{dimension}); received shape {shape}. Make the last layer "
            f"keras.layers.Dense(head.logits_dimension)."
        )
    return logits


def labels_tensor(labels, head: str) -> tf.Tensor:
    if labels is None:
        raise ValueError(
            f"{head}: `labels` is None, but TRAIN and EVAL need labels. Check that input_fn "
            "returns (features, labels)."
        )
    if isinstance(labels, Mapping):
        raise TypeError(
            f"{head}: `labels` must be a tensor; received a dict with keys {sorted(labels)}. "
            "Dict labels are for el.heads.MultiHead."
        )
    if isinstance(labels, tf.SparseTensor | tf.RaggedTensor):
        raise TypeError(
            f"{head}: `labels` must be a dense tensor; received a {type(labels).__name__}. "
            "Convert it with tf.sparse.to_dense (or .to_tensor())."
        )
    return tf.convert_to_tensor(labels)


def dense_labels(labels, logits: tf.Tensor, dimension: int, head: str) -> tf.Tensor:
    """Labels shaped `logits.shape[:-1] + [dimension]`; `[batch]` becomes `[batch, 1]`."""
    labels = labels_tensor(labels, head)
    expected = f"[batch_size, {dimension}]" + (" or [batch_size]" if dimension == 1 else "")
    ranks_known = labels.shape.rank is not None and logits.shape.rank is not None
    if ranks_known and dimension == 1 and labels.shape.rank == logits.shape.rank - 1:
        labels = tf.expand_dims(labels, -1)
    if ranks_known:
        wanted = logits.shape[:-1].concatenate([dimension])
        if not labels.shape.is_compatible_with(wanted):
            raise ValueError(
                f"{head}: `labels` must have shape {expected} to match logits of shape "
                f"{logits.shape}; received shape {labels.shape}."
            )
        if labels.shape.is_fully_defined() and logits.shape[:-1].is_fully_defined():
            return labels
    check = tf.debugging.assert_equal(
        tf.shape(labels)[:-1], tf.shape(logits)[:-1],
        message=f"{head}: `labels` and `logits` differ in batch shape; labels must be {expected}.")
    with tf.control_dependencies([check]):
        return tf.identity(labels)


def reject_strings(labels: tf.Tensor, head: str) -> None:
    if labels.dtype == tf.string:
        raise TypeError(
            f"{head}: received string labels, but the head has no `label_vocabulary`. Set "
            "`label_vocabulary=[...]` (the class names in class-id order) or give integer labels."
        )


def check_range(values: tf.Tensor, low, high, head: str, what: str, fix: str) -> tf.Tensor:
    """`values` unchanged, checked to lie in [low, high]."""
    message = f"{head}: {what} must be in [{low}, {high}]"
    if tf.executing_eagerly():
        array = values.numpy()
        bad = array[(array < low) | (array > high)]
        if bad.size:
            raise ValueError(f"{message}; received {np.unique(bad)[:10].tolist()}. {fix}")
        return values
    bad = tf.logical_not(tf.logical_and(values >= tf.cast(low, values.dtype),
                                        values <= tf.cast(high, values.dtype)))  # NaN is bad
    return _checks.none_bad(values, bad, f"{message}. {fix}")


def vocabulary_ids(labels: tf.Tensor, vocabulary: Sequence[str], head: str) -> tf.Tensor:
    """int64 ids of string labels in `vocabulary`; unknown labels are an error.

    A comparison against the vocabulary constant, not a lookup table: heads have few
    classes, it needs no resource to export or initialize, and works under any strategy.
    """
    if labels.dtype != tf.string:
        raise TypeError(
            f"{head}: with `label_vocabulary` set, labels must be strings from "
            f"{list(vocabulary)!r}; received dtype {labels.dtype.name}. Drop label_vocabulary "
            "to use integer labels."
        )
    matches = tf.equal(tf.expand_dims(labels, -1), tf.constant(list(vocabulary)))
    found = tf.reduce_any(matches, axis=-1)
    ids = tf.argmax(tf.cast(matches, tf.int32), axis=-1)
    message = f"{head}: labels must be in label_vocabulary {list(vocabulary)!r}"
    if tf.executing_eagerly():
        unknown = tf.boolean_mask(labels, tf.logical_not(found)).numpy()
        if unknown.size:
            received = sorted({u.decode() for u in unknown.ravel()})[:10]
            raise ValueError(f"{message}; received unknown labels {received!r}.")
        return ids
    check = tf.debugging.Assert(
        tf.reduce_all(found),
        [f"{message}; received unknown labels:", tf.boolean_mask(labels, tf.logical_not(found))],
        summarize=10)
    with tf.control_dependencies([check]):
        return tf.identity(ids)


def weights(features, weight_column, logits: tf.Tensor, head: str,
            allow_per_logit: bool = False) -> tf.Tensor | None:
    """Example weights `[batch, 1]` (or `[batch, logits_dimension]`) from features, or None."""
    if weight_column is None:
        return None
    key = weight_column if isinstance(weight_column, str) else weight_column.key
    if not isinstance(features, Mapping) or key not in features:
        available = sorted(features) if isinstance(features, Mapping) else type(features).__name__
        raise ValueError(
            f"{head}: `weight_column` {key!r} is not among the features ({available}). Add it "
            "to what input_fn returns, or drop weight_column."
        )
    if isinstance(weight_column, str):
        value = features[key]
        if isinstance(value, tf.SparseTensor | tf.RaggedTensor):
            raise TypeError(f"{head}: weight feature {key!r} must be a dense tensor; received "
                            f"a {type(value).__name__}.")
        value = tf.convert_to_tensor(value)
        if not (value.dtype.is_floating or value.dtype.is_integer):
            raise TypeError(f"{head}: weight feature {key!r} must be numeric; received dtype "
                            f"{value.dtype.name}.")
        value = tf.cast(value, tf.float32)
    else:
        # A column transforms its feature as anywhere else (shape, dtype, normalizer_fn), as
        # tf.estimator's heads do: `[batch, output_dimension]` float32.
        value = weight_column.dense_tensor(features)
    if value.shape.rank is not None and logits.shape.rank is not None \
            and value.shape.rank == logits.shape.rank - 1:
        value = tf.expand_dims(value, -1)
    allowed = [logits.shape[:-1].concatenate([1])]
    if allow_per_logit:
        allowed.append(logits.shape)
    if value.shape.rank is not None and not any(value.shape.is_compatible_with(s) for s in allowed):
        raise ValueError(
            f"{head}: weight feature {key!r} must have shape [batch_size] or [batch_size, 1]"
            + (f" or [batch_size, {logits.shape[-1]}]" if allow_per_logit else "")
            + f" for logits of shape {logits.shape}; received shape {value.shape}."
        )
    return value


def call_loss_fn(loss_fn: Callable, args: frozenset[str], labels, logits, features,
                 dimension: int, head: str) -> tf.Tensor:
    kwargs = {"features": features} if "features" in args else {}
    loss = tf.convert_to_tensor(loss_fn(labels=labels, logits=logits, **kwargs))
    wanted = logits.shape[:-1].concatenate([dimension])
    if not loss.shape.is_compatible_with(wanted):
        raise ValueError(
            f"{head}: `loss_fn` must return the unreduced loss of shape [batch_size, "
            f"{dimension}] (here {wanted}); it returned shape {loss.shape}."
        )
    return tf.cast(loss, tf.float32)


def weighted_loss(unweighted, weights, reduction, regularization_losses) -> tf.Tensor:
    loss = compute_weighted_loss(unweighted, weights, reduction=reduction)
    if regularization_losses:
        loss += regularization_loss(regularization_losses)
    return loss


def regularization_loss(regularization_losses) -> tf.Tensor:
    return tf.add_n([tf.cast(r, tf.float32) for r in regularization_losses])


# -- predictions ---------------------------------------------------------------------------
def all_class_ids(logits: tf.Tensor, n_classes: int) -> tf.Tensor:
    """int32 `[batch, n_classes]`: 0..n-1 for every example."""
    shape = tf.concat([tf.shape(logits)[:-1], [n_classes]], axis=0)
    return tf.broadcast_to(tf.range(n_classes), shape)


def class_names(n_classes: int, vocabulary) -> tf.Tensor:
    return tf.constant(list(vocabulary) if vocabulary else [str(i) for i in range(n_classes)])


def all_classes(logits: tf.Tensor, n_classes: int, vocabulary) -> tf.Tensor:
    """string `[batch, n_classes]`: every class name for every example."""
    shape = tf.concat([tf.shape(logits)[:-1], [n_classes]], axis=0)
    return tf.broadcast_to(class_names(n_classes, vocabulary), shape)


def select(predictions: dict, keys, head: str) -> dict:
    if keys is None:
        return predictions
    keys = [keys] if isinstance(keys, str) else list(keys)
    unknown = [k for k in keys if k not in predictions]
    if unknown:
        raise ValueError(f"{head}: unknown prediction keys {unknown}; valid: {sorted(predictions)}.")
    return {k: predictions[k] for k in keys}


# -- metrics --------------------------------------------------------------------------------
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
    key = summary_key(MetricKeys.LOSS_REGULARIZATION, name)
    return {key: keras.metrics.Mean(name=key)}


@tf.autograph.experimental.do_not_convert
def update_regularization_metric(eval_metrics, regularization_losses, name: str | None) -> None:
    if not regularization_losses:
        return
    key = summary_key(MetricKeys.LOSS_REGULARIZATION, name)
    eval_metrics[key].update_state(regularization_loss(regularization_losses))


# -- training --------------------------------------------------------------------------------
def train_op(head: str, loss, optimizer, train_op_fn):
    """The EstimatorSpec train_op: the optimizer, or what train_op_fn(loss) returns."""
    if optimizer is not None and train_op_fn is not None:
        raise ValueError(
            f"{head}: pass exactly one of `optimizer` and `train_op_fn` in TRAIN mode; "
            "received both."
        )
    if optimizer is not None:
        if isinstance(optimizer, str):
            optimizer = keras.optimizers.get(optimizer)
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise TypeError(
                f"{head}: `optimizer` must be a Keras optimizer (e.g. "
                f"keras.optimizers.Adagrad(0.1)) or its name; received {optimizer!r}."
            )
        return optimizer
    if train_op_fn is not None:
        if not callable(train_op_fn):
            raise TypeError(f"{head}: `train_op_fn` must be callable; received {train_op_fn!r}.")
        result = train_op_fn(loss)
        if not (isinstance(result, keras.optimizers.Optimizer) or callable(result)):
            raise TypeError(
                f"{head}: `train_op_fn(loss)` must return a callable train_op(loss, tape, "
                f"variables) or a Keras optimizer; it returned {result!r}."
            )
        return result
    raise ValueError(
        f"{head}: in TRAIN mode create_estimator_spec needs `optimizer` (e.g. "
        "keras.optimizers.Adagrad(0.1)) or `train_op_fn`; received neither."
    )


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


def classification_export_outputs(predictions, classes_key) -> dict:
    """serving_default and classify (scores = probabilities, classes = `classes_key`) and predict."""
    classification = export_lib.ClassificationOutput(
        scores=predictions[PredictionKeys.PROBABILITIES], classes=predictions[classes_key])
    return {
        SignatureKeys.DEFAULT: classification,
        SignatureKeys.CLASSIFY: classification,
        SignatureKeys.PREDICT: export_lib.PredictOutput(dict(predictions)),
    }
