"""`indicator_column`: a categorical column as multi-hot counts."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from estimator_lib.feature_columns.base import CategoricalColumn, DenseColumn


@dataclasses.dataclass(frozen=True)
class IndicatorColumn(DenseColumn):
    """Multi-hot counts of a categorical column; see `indicator_column`.

    Example:
        >>> weekday = indicator_column(categorical_column_with_identity("weekday", 3))
        >>> weekday.dense_tensor({"weekday": tf.constant([[2, 2]])})  # [[0., 0., 2.]]
    """

    categorical_column: CategoricalColumn

    def __post_init__(self):
        if not isinstance(self.categorical_column, CategoricalColumn):
            raise TypeError(
                "`categorical_column` of indicator_column must be a categorical column; "
                f"received {self.categorical_column!r}."
            )

    @property
    def name(self) -> str:
        """See base class: `<categorical column name>_indicator`."""
        return f"{self.categorical_column.name}_indicator"

    @property
    def parse_example_spec(self):
        """See base class."""
        return self.categorical_column.parse_example_spec

    @property
    def output_dimension(self) -> int:
        """See base class: the categorical column's `num_buckets`."""
        return self.categorical_column.num_buckets

    def dense_tensor(self, features, weights=None) -> tf.Tensor:
        """See base class: `[batch, num_buckets]`, the count (or summed weight) of each id."""
        id_weights = self.categorical_column.sparse_ids(features)
        ids = id_weights.ids
        values = (tf.ones_like(ids.values, tf.float32) if id_weights.weights is None
                  else tf.cast(id_weights.weights.values, tf.float32))
        valid = ids.values >= 0  # -1: a value without an id.
        rows = tf.boolean_mask(ids.indices[:, 0], valid)
        positions = tf.stack([rows, tf.boolean_mask(ids.values, valid)], axis=1)
        shape = tf.stack([ids.dense_shape[0], tf.constant(self.output_dimension, tf.int64)])
        # scatter_nd adds up repeated ids, which gives the counts.
        counts = tf.scatter_nd(positions, tf.boolean_mask(values, valid), shape)
        return tf.ensure_shape(counts, [None, self.output_dimension])


def indicator_column(categorical_column: CategoricalColumn) -> IndicatorColumn:
    """A dense column: for each bucket of a categorical column, how often an example has it.

    Single-valued inputs give a one-hot vector; multivalent inputs give counts (a
    weighted column gives the summed weights). Missing values and ids of -1 count for
    nothing. The output is `[batch, num_buckets]`, so keep `num_buckets` small; use an
    `embedding_column` for large vocabularies.

    Args:
        categorical_column: Any categorical column.

    Returns:
        An `IndicatorColumn` named `<categorical column name>_indicator`.

    Raises:
        TypeError: If `categorical_column` is not a categorical column.

    Example:
        >>> tags = categorical_column_with_vocabulary_list("tags", ["a", "b", "c"])
        >>> DenseFeatures([indicator_column(tags)])(
        ...     {"tags": tf.ragged.constant([["a", "a", "c"], []])})  # [[2, 0, 1], [0, 0, 0]]
    """
    return IndicatorColumn(categorical_column)
