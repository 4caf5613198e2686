"""What a head reads, checked: the model's logits, the labels and the example weights.

Shapes are checked statically where TensorFlow knows them, with a ValueError at trace time.
Values (class ids out of range, labels not in the vocabulary) can only be checked when the
data flows: eagerly they raise a ValueError at once; inside tf.function they become assert
ops that raise `tf.errors.InvalidArgumentError` with the same message when a bad batch
arrives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import tensorflow as tf

from estimator_lib import _checks


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
