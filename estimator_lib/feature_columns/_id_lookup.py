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

from estimator_lib import _per_call
from estimator_lib.feature_columns.base import CategoricalColumn


def shared_ids():
    """Within this, each column's dense ids are computed once per batch, and their
    distinct values once (a `_per_call.scope()`).

    A wide & deep model looks up the same categorical columns twice (the linear part's
    weights and the DNN part's embeddings); this shares the vocabulary lookups, range
    checks and `tf.unique` between the two, as one Keras preprocessing layer feeding two
    embeddings would; crossed columns share their bucketized inputs' ids the same way.
    Use it around one model_fn call (one batch). `LinearModel` and `DenseFeatures` use it
    around their own call; inside an outer one, they share its memo.
    """
    return _per_call.scope()


def dense_ids(column: CategoricalColumn, features: Mapping[str, Any]) -> tf.Tensor | None:
    """`column.dense_ids(features)`, computed once per batch inside `shared_ids`."""
    inputs = tuple(features.get(key) for key in sorted(column.parse_example_spec))
    try:
        key = ("ids", hash(column), column, *map(id, inputs))
    except TypeError:  # An unhashable custom column: keyed by identity.
        key = ("ids", id(column), None, *map(id, inputs))
    # The column is kept with the ids too: an unhashable one is keyed by its id.
    return _per_call.memoized(key, (inputs, column), lambda: column.dense_ids(features))


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
        ids = dense_ids(column, features)
        if ids is not None:
            return dense_lookup(table, ids, combiner)
    id_weights = column.sparse_ids(features)
    return tf.nn.safe_embedding_lookup_sparse(table, id_weights.ids, id_weights.weights,
                                              combiner=combiner, max_norm=max_norm)


def dense_lookup(table, ids: tf.Tensor, combiner: str) -> tf.Tensor:
    """`lookup` of dense int64 ids `[batch, k]`, where -1 means no id."""
    width = table.shape[1] if table.shape[1] is not None else tf.shape(table)[1]
    if ids.shape[1] == 1:  # One id per example (the usual case): nothing to combine.
        rows = _gather_unique(table, ids)  # [batch, width]
        # A select, not a product: a row holding inf or nan must not leak into examples
        # without an id. `ids >= 0` is [batch, 1] and broadcasts over the row.
        return tf.where(ids >= 0, rows, tf.zeros([], rows.dtype))
    valid = (ids >= 0)[:, :, tf.newaxis]
    rows = tf.reshape(_gather_unique(table, ids),
                      [-1, ids.shape[1] if ids.shape[1] is not None else tf.shape(ids)[1], width])
    total = tf.reduce_sum(tf.where(valid, rows, tf.zeros([], rows.dtype)), axis=1)
    if combiner == "sum":
        return total
    count = tf.maximum(tf.reduce_sum(tf.cast(valid, rows.dtype), axis=1), 1.0)
    return total / (count if combiner == "mean" else tf.sqrt(count))


def _gather_unique(table, ids: tf.Tensor) -> tf.Tensor:
    """`tf.gather(table, ids)` of the flattened ids (-1 read as 0), each distinct row read once.

    As in `tf.nn.embedding_lookup_sparse`: the table's gradient is then an
    `IndexedSlices` with each row once, its gradients summed. Optimizers that update
    `IndexedSlices` slice by slice (Keras 3's Ftrl, Adagrad and Adam mishandle repeated
    rows) see the same gradient as from the sparse lookup. A variable is gathered from
    directly, never read whole (a read after sparse updates copies the whole table).
    """
    unique_ids, positions = _unique(ids)
    return tf.gather(tf.gather(table, unique_ids), positions)


def _unique(ids: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    return _per_call.memoized(("unique", ids.ref()), ids,
                              lambda: tf.unique(tf.maximum(tf.reshape(ids, [-1]), 0)))
