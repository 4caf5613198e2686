"""Small helpers shared by the feature column tests."""

import numpy as np
import tensorflow as tf

ABSENT = -9  # Marks the positions of a SparseTensor that hold no id.


def dense_ids(column, features) -> np.ndarray:
    """A categorical column's ids as a dense array, `ABSENT` where there is none."""
    ids = column.sparse_ids(features).ids
    return tf.sparse.to_dense(ids, default_value=ABSENT).numpy()


def as_forms(rows, dtype):
    """The list-of-lists `rows` as dense (padded with the missing value), sparse and ragged."""
    missing = "" if dtype == tf.string else -1
    width = max(len(row) for row in rows)
    dense = tf.constant([row + [missing] * (width - len(row)) for row in rows], dtype)
    ragged = tf.ragged.constant(rows, dtype)
    return {"dense": dense, "sparse": ragged.to_sparse(), "ragged": ragged}


def table_initializer(values):
    """An embedding initializer that returns `values` (a numpy array)."""

    def initializer(shape, dtype=None):
        assert tuple(shape) == values.shape
        return tf.constant(values, tf.float32)

    return initializer
