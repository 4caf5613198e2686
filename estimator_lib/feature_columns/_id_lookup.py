"""Looking up a categorical column's ids in a table: a gather, or a sparse lookup.

`LinearModel` (the weights of a categorical column) and embedding columns (the
embedding table) read the rows of an example's ids and combine them. When the column
gives dense ids (`CategoricalColumn.dense_ids`: its input is a dense tensor), that is
one `tf.gather` plus a mask for the positions without an id; otherwise it is
`tf.nn.safe_embedding_lookup_sparse` over `sparse_ids`. Both give the same result, and
the gradient with respect to the table is an `IndexedSlices` either way: only the
looked-up rows are read and updated, so tables of millions of rows stay sparse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from estimator_lib.feature_columns.base import CategoricalColumn


def lookup(table: tf.Tensor, column: CategoricalColumn, features: Mapping[str, Any],
           combiner: str, max_norm: float | None = None) -> tf.Tensor:
    """`[batch, table width]`: the table rows of each example's ids, combined by `combiner`.

    Args:
        table: `[column.num_buckets, width]` float32 tensor (a variable's value).
        column: The categorical column giving the ids (and weights).
        features: The batch's features dict.
        combiner: "sum", "mean" or "sqrtn" of an example's rows (weighted by the
            column's weights, if any). An example without ids gets zeros.
        max_norm: If set, rows with a larger L2 norm are scaled down to it first.
    """
    if max_norm is None:
        ids = column.dense_ids(features)
        if ids is not None:
            return dense_lookup(table, ids, combiner)
    id_weights = column.sparse_ids(features)
    return tf.nn.safe_embedding_lookup_sparse(table, id_weights.ids, id_weights.weights,
                                              combiner=combiner, max_norm=max_norm)


def dense_lookup(table: tf.Tensor, ids: tf.Tensor, combiner: str) -> tf.Tensor:
    """`lookup` of dense int64 ids `[batch, k]`, where -1 means no id."""
    if ids.shape[1] == 1:  # One id per example (the usual case): nothing to combine.
        ids = tf.reshape(ids, [-1])
        valid = ids >= 0
        rows = tf.gather(table, tf.maximum(ids, 0))  # [batch, width]
        # A select, not a product: a row holding inf or nan must not leak into examples
        # without an id.
        return tf.where(valid[:, tf.newaxis], rows, tf.zeros([], rows.dtype))
    valid = (ids >= 0)[:, :, tf.newaxis]
    rows = tf.gather(table, tf.maximum(ids, 0))  # [batch, k, width]
    total = tf.reduce_sum(tf.where(valid, rows, tf.zeros([], rows.dtype)), axis=1)
    if combiner == "sum":
        return total
    count = tf.maximum(tf.reduce_sum(tf.cast(valid, rows.dtype), axis=1), 1.0)
    return total / (count if combiner == "mean" else tf.sqrt(count))
