"""Reading features for columns: checks, the missing-key error and the conversion to sparse values.

Categorical inputs may be dense (`[batch]` or `[batch, k]`), a `tf.SparseTensor` or a
`tf.RaggedTensor`; every form becomes a rank-2 SparseTensor `[batch, k]`. In every form
an empty string (string features) or -1 (integer features) means "missing" and is
dropped, so the same values give the same ids whatever the form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import tensorflow as tf


def check_key(key, what: str) -> None:
    """Raises TypeError unless `key` (a feature name given to `what`) is a non-empty string."""
    if not isinstance(key, str) or not key:
        raise TypeError(f"`key` of {what} must be a non-empty string; received {key!r}.")


def check_column_dtype(key: str, dtype) -> tf.DType:
    """`dtype` as a tf.DType; ValueError unless it is tf.string or an integer type."""
    try:
        dtype = tf.as_dtype(dtype)
    except TypeError:
        dtype = None
    if dtype is None or not (dtype == tf.string or dtype.is_integer):
        raise ValueError(
            f"`dtype` of categorical column {key!r} must be tf.string or an integer type; "
            f"received {dtype!r}."
        )
    return dtype


def get_feature(features: Mapping[str, Any], key: str, column_name: str):
    """`features[key]`, or an error naming the column and the available keys."""
    if not isinstance(features, Mapping):
        raise TypeError(
            f"Feature column {column_name!r} reads a dict of features; received "
            f"{type(features).__name__}. Make input_fn return a dict of feature name to tensor."
        )
    if key not in features:
        raise ValueError(
            f"Feature column {column_name!r} needs the feature {key!r}, which is not among the "
            f"features {sorted(map(str, features))}. Check the column's key against the "
            "feature names input_fn returns."
        )
    return features[key]


def _dense_batch(value, column_name: str) -> tf.Tensor:
    """A dense batch as a tensor of rank >= 2 (a rank-1 batch gets a second axis)."""
    dense = tf.convert_to_tensor(value)
    if dense.shape.rank is None or dense.shape.rank == 0:
        raise ValueError(
            f"Feature column {column_name!r} needs a batch of values (rank >= 1); "
            f"received a tensor of shape {dense.shape}. Batch the input."
        )
    if dense.shape.rank == 1:
        dense = dense[:, tf.newaxis]
    return dense


def to_sparse_all(value, column_name: str) -> tf.SparseTensor:
    """Every entry of a dense, sparse or ragged batch, as a rank-2 SparseTensor."""
    if isinstance(value, tf.RaggedTensor):
        sparse = value.to_sparse()
    elif isinstance(value, tf.SparseTensor):
        sparse = value
    else:
        dense = _dense_batch(value, column_name)
        indices = tf.where(tf.ones(tf.shape(dense), tf.bool))  # Row-major, as reshape.
        sparse = tf.SparseTensor(indices, tf.reshape(dense, [-1]),
                                 tf.shape(dense, out_type=tf.int64))
    rank = sparse.indices.shape[-1]
    if rank == 1:
        sparse = tf.sparse.expand_dims(sparse, -1)
    elif rank is None or rank > 2:
        sparse = tf.sparse.reshape(sparse, tf.stack([sparse.dense_shape[0], -1]))
    return sparse


def present(values: tf.Tensor) -> tf.Tensor:
    """True where a value is not missing ('' for strings, -1 for integers)."""
    return tf.not_equal(values, "" if values.dtype == tf.string else -1)


def check_categorical_dtype(dtype: tf.DType, column_name: str, key: str,
                            expected: tf.DType | None = None) -> None:
    """Raises TypeError unless `dtype` is a string or integer type (matching `expected`)."""
    kind = "string" if dtype == tf.string else "integer" if dtype.is_integer else None
    if kind is None:
        raise TypeError(
            f"Feature column {column_name!r} needs string or integer values in feature "
            f"{key!r}; received {dtype.name}. Use numeric_column for numbers, or cast the feature."
        )
    if expected is not None:
        expected_kind = "string" if expected == tf.string else "integer"
        if kind != expected_kind:
            raise TypeError(
                f"Feature column {column_name!r} has dtype {expected.name}, but feature {key!r} "
                f"holds {dtype.name} values. Cast the feature, or build the column with a "
                f"matching `dtype`."
            )


def categorical_values(features: Mapping[str, Any], key: str, column_name: str,
                       expected: tf.DType | None = None) -> tf.SparseTensor:
    """Feature `key` as a `[batch, k]` SparseTensor (int64 or string), missing values dropped."""
    sparse = to_sparse_all(get_feature(features, key, column_name), column_name)
    check_categorical_dtype(sparse.dtype, column_name, key, expected)
    if sparse.dtype.is_integer and sparse.dtype != tf.int64:
        sparse = tf.SparseTensor(sparse.indices, tf.cast(sparse.values, tf.int64),
                                 sparse.dense_shape)
    return tf.sparse.retain(sparse, present(sparse.values))


def dense_categorical_values(features: Mapping[str, Any], key: str, column_name: str,
                             expected: tf.DType | None = None) -> tf.Tensor | None:
    """Feature `key` as a dense `[batch, k]` tensor (int64 or string), or None if not dense.

    The dense twin of `categorical_values`, with the same checks and the same order of
    values (row-major), but missing values kept: `present` tells them apart.
    """
    value = get_feature(features, key, column_name)
    if isinstance(value, tf.SparseTensor | tf.RaggedTensor):
        return None
    dense = _dense_batch(value, column_name)
    check_categorical_dtype(dense.dtype, column_name, key, expected)
    if dense.shape.rank > 2:
        width = dense.shape[1:].num_elements()
        dense = tf.reshape(dense, [-1, width] if width is not None
                           else tf.stack([tf.shape(dense)[0], -1]))
    if dense.dtype.is_integer and dense.dtype != tf.int64:
        dense = tf.cast(dense, tf.int64)
    return dense


def with_values(sparse: tf.SparseTensor, values: tf.Tensor) -> tf.SparseTensor:
    """A SparseTensor with the indices and shape of `sparse` and new `values`."""
    return tf.SparseTensor(sparse.indices, values, sparse.dense_shape)
