"""`bucketized_column`: a numeric column cut into ranges by boundaries."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from estimator_lib.feature_columns import _inputs
from estimator_lib.feature_columns.base import CategoricalColumn, DenseColumn, IdWeights
from estimator_lib.feature_columns.numeric import NumericColumn


@dataclasses.dataclass(frozen=True)
class BucketizedColumn(DenseColumn, CategoricalColumn):
    """`source_column` discretized by `boundaries`; see `bucketized_column`.

    Example:
        >>> age = bucketized_column(numeric_column("age"), [18.0, 65.0])
        >>> age.bucket_indices({"age": tf.constant([70.0])})  # [[2]]
    """

    source_column: NumericColumn
    boundaries: tuple[float, ...]

    def __post_init__(self):
        if not isinstance(self.source_column, NumericColumn):
            raise TypeError(
                "`source_column` of bucketized_column must be a numeric_column; received "
                f"{self.source_column!r}."
            )
        name = f"{self.source_column.name}_bucketized"
        try:
            boundaries = tuple(float(b) for b in self.boundaries)
        except (TypeError, ValueError):
            boundaries = None
        if not boundaries:
            raise ValueError(
                f"`boundaries` of bucketized column {name!r} must be a non-empty list of "
                f"numbers; received {self.boundaries!r}."
            )
        if any(a >= b for a, b in zip(boundaries, boundaries[1:], strict=False)):
            raise ValueError(
                f"`boundaries` of bucketized column {name!r} must be sorted in strictly "
                f"increasing order; received {list(self.boundaries)!r}. Sort them and drop "
                "duplicates."
            )
        object.__setattr__(self, "boundaries", boundaries)

    @property
    def name(self) -> str:
        """See base class."""
        return f"{self.source_column.name}_bucketized"

    @property
    def parse_example_spec(self):
        """See base class."""
        return self.source_column.parse_example_spec

    @property
    def buckets_per_value(self) -> int:
        """`len(boundaries) + 1`: the buckets of one source value."""
        return len(self.boundaries) + 1

    @property
    def num_buckets(self) -> int:
        """Buckets over all values of an example: each position gets its own range."""
        return self.buckets_per_value * self.source_column.output_dimension

    @property
    def output_dimension(self) -> int:
        """See base class."""
        return self.num_buckets

    def bucket_indices(self, features) -> tf.Tensor:
        """int64 `[batch, values per example]`: the bucket of each value, 0..len(boundaries).

        Bucket i holds `boundaries[i-1] <= value < boundaries[i]`.
        """
        values = self.source_column.values(features)
        buckets = tf.raw_ops.Bucketize(input=values, boundaries=list(self.boundaries))
        return tf.reshape(tf.cast(buckets, tf.int64), [-1, self.source_column.output_dimension])

    def dense_tensor(self, features, weights=None) -> tf.Tensor:
        """See base class. One-hot buckets, one block of `len(boundaries) + 1` per value."""
        one_hot = tf.one_hot(self.bucket_indices(features), self.buckets_per_value,
                             dtype=tf.float32)
        return tf.reshape(one_hot, [-1, self.output_dimension])

    def sparse_ids(self, features) -> IdWeights:
        """See base class. Value j of an example in bucket b has id `j * (len(boundaries) + 1) + b`."""
        buckets = self.bucket_indices(features)
        offsets = tf.range(self.source_column.output_dimension, dtype=tf.int64)
        ids = _inputs.to_sparse_all(buckets + offsets * self.buckets_per_value, self.name)
        return IdWeights(ids)

    def dense_ids(self, features) -> tf.Tensor:
        """See base class: always dense, the ids of `sparse_ids` as `[batch, values per example]`."""
        buckets = self.bucket_indices(features)
        if self.source_column.output_dimension == 1:
            return buckets
        offsets = tf.range(self.source_column.output_dimension, dtype=tf.int64)
        return buckets + offsets * self.buckets_per_value


def bucketized_column(source_column: NumericColumn, boundaries) -> BucketizedColumn:
    """A numeric column discretized into ranges.

    With boundaries `[0., 10., 100.]` the buckets are `(-inf, 0)`, `[0, 10)`,
    `[10, 100)` and `[100, +inf)`. As a dense column it is one-hot; as a categorical
    column (in `LinearModel`, `crossed_column`, `embedding_column`) it gives bucket ids.
    For a source of shape `(n,)` every value is bucketized apart, into its own block of
    `len(boundaries) + 1` buckets.

    Args:
        source_column: A `numeric_column`.
        boundaries: Sorted, strictly increasing list of floats.

    Returns:
        A `BucketizedColumn`, named `<source name>_bucketized`.

    Raises:
        TypeError: If `source_column` is not a numeric column.
        ValueError: If `boundaries` is empty or not strictly increasing.

    Example:
        >>> age = bucketized_column(numeric_column("age"), [18.0, 35.0, 65.0])
        >>> DenseFeatures([age])({"age": tf.constant([20.0, 70.0])})
        ... # [[0, 1, 0, 0], [0, 0, 0, 1]]
    """
    return BucketizedColumn(source_column, boundaries)
