"""`categorical_column_with_hash_bucket`: values hashed into a fixed number of ids."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from estimator_lib.feature_columns import _inputs
from estimator_lib.feature_columns.base import CategoricalColumn, IdWeights


@dataclasses.dataclass(frozen=True)
class HashedColumn(CategoricalColumn):
    """Values hashed into `hash_bucket_size` ids; see `categorical_column_with_hash_bucket`.

    Example:
        >>> query = categorical_column_with_hash_bucket("query", 100)
        >>> query.sparse_ids({"query": tf.constant(["shoes"])}).ids.values
        ... # tf.strings.to_hash_bucket_fast(["shoes"], 100)
    """

    key: str
    hash_bucket_size: int
    dtype: tf.DType = tf.string

    def __post_init__(self):
        _inputs.check_key(self.key, "categorical_column_with_hash_bucket")
        if (not isinstance(self.hash_bucket_size, int) or isinstance(self.hash_bucket_size, bool)
                or self.hash_bucket_size < 1):
            raise ValueError(
                f"`hash_bucket_size` of categorical column {self.key!r} must be a positive "
                f"integer; received {self.hash_bucket_size!r}."
            )
        object.__setattr__(self, "dtype", _inputs.check_column_dtype(self.key, self.dtype))

    @property
    def name(self) -> str:
        """See base class."""
        return self.key

    @property
    def num_buckets(self) -> int:
        """`hash_bucket_size`."""
        return self.hash_bucket_size

    @property
    def parse_example_spec(self):
        """See base class."""
        return {self.key: tf.io.VarLenFeature(tf.string if self.dtype == tf.string else tf.int64)}

    def sparse_ids(self, features) -> IdWeights:
        """See base class."""
        values = _inputs.categorical_values(features, self.key, self.name, self.dtype)
        return IdWeights(_inputs.with_values(values, self._hash(values.values)))

    def dense_ids(self, features) -> tf.Tensor | None:
        """See base class."""
        values = _inputs.dense_categorical_values(features, self.key, self.name, self.dtype)
        if values is None:
            return None
        return tf.where(_inputs.present(values), self._hash(values), tf.constant(-1, tf.int64))

    def _hash(self, values: tf.Tensor) -> tf.Tensor:
        strings = values if values.dtype == tf.string else tf.strings.as_string(values)
        return tf.strings.to_hash_bucket_fast(strings, self.hash_bucket_size)


def categorical_column_with_hash_bucket(key: str, hash_bucket_size: int,
                                        dtype=tf.string) -> HashedColumn:
    """A categorical column whose ids are hashes of the values.

    The id of a value is `tf.strings.to_hash_bucket_fast(value, hash_bucket_size)`
    (integers are hashed through their decimal string, as in TF1). Use it when the
    vocabulary is large or unknown; distinct values may share an id.

    Args:
        key: The feature name. '' (strings) and -1 (integers) mean missing.
        hash_bucket_size: Number of ids, positive.
        dtype: tf.string (default) or an integer type.

    Returns:
        A `HashedColumn`.

    Raises:
        ValueError: If `hash_bucket_size` is not a positive integer or `dtype` is neither
            string nor integer.

    Example:
        >>> query = categorical_column_with_hash_bucket("query", hash_bucket_size=100_000)
        >>> LinearModel([query])({"query": tf.constant(["shoes", "red shoes"])})
    """
    return HashedColumn(key, hash_bucket_size, dtype)
