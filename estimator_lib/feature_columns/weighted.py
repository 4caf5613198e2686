"""`weighted_categorical_column`: a categorical column with a weight per value."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from estimator_lib.feature_columns import _inputs
from estimator_lib.feature_columns.base import CategoricalColumn, IdWeights
from estimator_lib.feature_columns.hashed import HashedColumn
from estimator_lib.feature_columns.identity import IdentityColumn
from estimator_lib.feature_columns.vocabulary import VocabularyFileColumn, VocabularyListColumn

_WEIGHTABLE = (VocabularyListColumn, VocabularyFileColumn, HashedColumn, IdentityColumn)


@dataclasses.dataclass(frozen=True)
class WeightedCategoricalColumn(CategoricalColumn):
    """Ids with weights from another feature; see `weighted_categorical_column`.

    Example:
        >>> terms = weighted_categorical_column(
        ...     categorical_column_with_identity("terms", 10), "counts")
        >>> terms.sparse_ids({"terms": tf.constant([[3]]), "counts": tf.constant([[2.0]])})
        ... # IdWeights(ids: [3], weights: [2.0])
    """

    categorical_column: CategoricalColumn
    weight_feature_key: str
    dtype: tf.DType = tf.float32

    def __post_init__(self):
        if not isinstance(self.categorical_column, _WEIGHTABLE):
            raise TypeError(
                "`categorical_column` of weighted_categorical_column must be a vocabulary, hash "
                f"bucket or identity column (one value per weight); received "
                f"{self.categorical_column!r}."
            )
        name = f"{self.categorical_column.name}_weighted_by_{self.weight_feature_key}"
        if not isinstance(self.weight_feature_key, str) or not self.weight_feature_key:
            raise TypeError(
                f"`weight_feature_key` of weighted column {name!r} must be a non-empty string; "
                f"received {self.weight_feature_key!r}."
            )
        if self.weight_feature_key == self.categorical_column.key:
            raise ValueError(
                f"`weight_feature_key` of weighted column {name!r} is the ids' own feature "
                f"{self.weight_feature_key!r}; weights must come from another feature."
            )
        try:
            dtype = tf.as_dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype is None or not dtype.is_floating:
            raise ValueError(
                f"`dtype` of weighted column {name!r} must be a float type; received "
                f"{self.dtype!r}."
            )
        object.__setattr__(self, "dtype", dtype)

    @property
    def name(self) -> str:
        """See base class: `<categorical column name>_weighted_by_<weight_feature_key>`."""
        return f"{self.categorical_column.name}_weighted_by_{self.weight_feature_key}"

    @property
    def num_buckets(self) -> int:
        """The categorical column's `num_buckets`."""
        return self.categorical_column.num_buckets

    @property
    def parse_example_spec(self):
        """See base class."""
        return {**self.categorical_column.parse_example_spec,
                self.weight_feature_key: tf.io.VarLenFeature(self.dtype)}

    def sparse_ids(self, features) -> IdWeights:
        """See base class: the weights are float32, with the same indices as the ids."""
        ids = self.categorical_column.sparse_ids(features).ids
        key = self.categorical_column.key
        raw_ids = _inputs.to_sparse_all(_inputs.get_feature(features, key, self.name), self.name)
        raw_weights = _inputs.to_sparse_all(
            _inputs.get_feature(features, self.weight_feature_key, self.name), self.name)
        if not (raw_weights.dtype.is_floating or raw_weights.dtype.is_integer):
            raise TypeError(
                f"Weighted column {self.name!r} needs numbers in feature "
                f"{self.weight_feature_key!r}; received {raw_weights.dtype.name}."
            )
        # Weights pair with values by position: drop the weights of missing values, as the
        # ids drop those values.
        check = tf.debugging.assert_equal(
            tf.size(raw_ids.values), tf.size(raw_weights.values), message=(
                f"Weighted column {self.name!r}: feature {self.weight_feature_key!r} must have "
                f"one weight per value of feature {key!r} (the same shape, sparse indices or "
                "ragged row lengths)."))
        with tf.control_dependencies([check]):
            weights = tf.boolean_mask(raw_weights.values, _inputs.present(raw_ids.values))
        return IdWeights(ids, _inputs.with_values(ids, tf.cast(weights, tf.float32)))


def weighted_categorical_column(categorical_column: CategoricalColumn, weight_feature_key: str,
                                dtype=tf.float32) -> WeightedCategoricalColumn:
    """A categorical column whose values carry weights from another feature.

    Weight i of an example belongs to its value i (e.g. a term and its frequency). The
    weights scale the value's row in `LinearModel` and embedding lookups and are summed
    by `indicator_column`. As in TF1, the lookups ignore values whose weight is not
    positive.

    Args:
        categorical_column: A vocabulary, hash bucket or identity column.
        weight_feature_key: The feature holding the weights, with the same structure
            as the ids (dense shape, sparse indices or ragged row lengths).
        dtype: Type of the weights, a float type. Default `tf.float32`.

    Returns:
        A `WeightedCategoricalColumn` named `<column name>_weighted_by_<weight_feature_key>`.

    Raises:
        TypeError: If `categorical_column` is of another kind.
        ValueError: If `dtype` is not a float type.

    Example:
        >>> terms = categorical_column_with_hash_bucket("terms", 1000)
        >>> weighted = weighted_categorical_column(terms, "frequencies")
        >>> LinearModel([weighted])({"terms": tf.ragged.constant([["a", "b"]]),
        ...                          "frequencies": tf.ragged.constant([[0.5, 2.0]])})
    """
    return WeightedCategoricalColumn(categorical_column, weight_feature_key, dtype)
