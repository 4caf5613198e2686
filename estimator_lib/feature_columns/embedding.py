"""Embedding columns: categorical ids mapped to learned dense vectors.

The table `[num_buckets, dimension]` is created by the layer that uses the column
(`DenseFeatures` names it `<layer>/<column name>/embedding_weights`); the column only
describes it (`weight_spec`) and does the lookup (`_id_lookup`: a gather of dense ids,
or `tf.nn.safe_embedding_lookup_sparse`): an example's ids are combined by `combiner`,
weighted by a weighted column's weights, and an example without ids gets zeros.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import keras
import tensorflow as tf

from estimator_lib.feature_columns import _id_lookup
from estimator_lib.feature_columns.base import CategoricalColumn, DenseColumn, WeightSpec

COMBINERS = ("mean", "sqrtn", "sum")


def _check_embedding_args(name: str, categorical_column, dimension, combiner, initializer,
                          max_norm) -> None:
    if not isinstance(categorical_column, CategoricalColumn):
        raise TypeError(
            f"`categorical_column` of embedding column {name!r} must be a categorical column "
            f"(e.g. categorical_column_with_hash_bucket); received {categorical_column!r}."
        )
    if not isinstance(dimension, int) or isinstance(dimension, bool) or dimension < 1:
        raise ValueError(
            f"`dimension` of embedding column {name!r} must be a positive integer; received "
            f"{dimension!r}."
        )
    if combiner not in COMBINERS:
        raise ValueError(
            f"`combiner` of embedding column {name!r} must be one of {list(COMBINERS)}; "
            f"received {combiner!r}."
        )
    if initializer is not None and not callable(initializer):
        raise TypeError(
            f"`initializer` of embedding column {name!r} must be callable(shape, dtype) or "
            f"None; received {initializer!r}."
        )
    if max_norm is not None and (not isinstance(max_norm, int | float) or max_norm <= 0):
        raise ValueError(
            f"`max_norm` of embedding column {name!r} must be a positive number or None; "
            f"received {max_norm!r}."
        )


def _default_initializer(dimension: int):
    # TF1's default: truncated normal with standard deviation 1/sqrt(dimension).
    return keras.initializers.TruncatedNormal(stddev=1.0 / math.sqrt(dimension))


class _Embedding(DenseColumn):
    """The lookup shared by embedding and shared-embedding columns."""

    categorical_column: CategoricalColumn
    dimension: int
    combiner: str
    initializer: Callable | None
    max_norm: float | None
    trainable: bool

    @property
    def parse_example_spec(self):
        """See base class."""
        return self.categorical_column.parse_example_spec

    @property
    def output_dimension(self) -> int:
        """See base class."""
        return self.dimension

    def _spec(self, scope: str) -> WeightSpec:
        return WeightSpec(
            scope=scope, name="embedding_weights",
            shape=(self.categorical_column.num_buckets, self.dimension),
            initializer=(_default_initializer(self.dimension) if self.initializer is None
                         else self.initializer),
            trainable=self.trainable)

    def dense_tensor(self, features, weights=None) -> tf.Tensor:
        """See base class. `weights` is the embedding table."""
        if weights is None:
            raise ValueError(
                f"Embedding column {self.name!r} needs its embedding table; use it through "
                "DenseFeatures or LinearModel, which create it."
            )
        output = _id_lookup.lookup(weights, self.categorical_column, features, self.combiner,
                                   self.max_norm)
        return tf.ensure_shape(output, [None, self.dimension])


@dataclasses.dataclass(frozen=True)
class EmbeddingColumn(_Embedding):
    """A categorical column looked up in its own table; see `embedding_column`.

    Example:
        >>> column = embedding_column(categorical_column_with_identity("docid", 100), 8)
        >>> column.weight_spec.shape
        (100, 8)
    """

    categorical_column: CategoricalColumn
    dimension: int
    combiner: str = "mean"
    initializer: Callable | None = None
    max_norm: float | None = None
    trainable: bool = True

    def __post_init__(self):
        name = f"{getattr(self.categorical_column, 'name', '?')}_embedding"
        _check_embedding_args(name, self.categorical_column, self.dimension, self.combiner,
                              self.initializer, self.max_norm)

    @property
    def name(self) -> str:
        """See base class: `<categorical column name>_embedding`."""
        return f"{self.categorical_column.name}_embedding"

    @property
    def weight_spec(self) -> WeightSpec:
        """See base class: the table, `[num_buckets, dimension]`, scoped by the column name."""
        return self._spec(self.name)


@dataclasses.dataclass(frozen=True)
class SharedEmbeddingColumn(_Embedding):
    """A categorical column looked up in a table shared with others; see `shared_embeddings`.

    Example:
        >>> query, title = shared_embeddings([query_words, title_words], 16)
        >>> query.weight_spec.scope == title.weight_spec.scope
        True
    """

    categorical_column: CategoricalColumn
    dimension: int
    shared_embedding_collection_name: str
    combiner: str = "mean"
    initializer: Callable | None = None
    max_norm: float | None = None
    trainable: bool = True

    def __post_init__(self):
        name = f"{getattr(self.categorical_column, 'name', '?')}_shared_embedding"
        _check_embedding_args(name, self.categorical_column, self.dimension, self.combiner,
                              self.initializer, self.max_norm)

    @property
    def name(self) -> str:
        """See base class: `<categorical column name>_shared_embedding`."""
        return f"{self.categorical_column.name}_shared_embedding"

    @property
    def weight_spec(self) -> WeightSpec:
        """See base class: the shared table, scoped by the collection name."""
        return self._spec(self.shared_embedding_collection_name)


def embedding_column(categorical_column: CategoricalColumn, dimension: int,
                     combiner: str = "mean", initializer: Callable | None = None,
                     max_norm: float | None = None, trainable: bool = True) -> EmbeddingColumn:
    """A dense column: the categorical column's ids looked up in a learned table.

    Args:
        categorical_column: Any categorical column (vocabulary, hash bucket, identity,
            crossed, bucketized, weighted).
        dimension: Width of the embedding vectors, positive.
        combiner: How an example's several ids combine: "mean" (default), "sqrtn"
            (sum divided by the square root of the sum of squared weights) or "sum".
        initializer: `fn(shape, dtype)` for the table. Default: truncated normal with
            standard deviation `1 / sqrt(dimension)`.
        max_norm: If set, looked-up vectors with a larger L2 norm are scaled down to it.
        trainable: Whether the table is trained. Default True.

    Returns:
        An `EmbeddingColumn` named `<categorical column name>_embedding`.

    Raises:
        ValueError: For a `dimension` below 1 or an unknown `combiner`.
        TypeError: If `categorical_column` is not a categorical column.

    Example:
        >>> docid = categorical_column_with_hash_bucket("docid", 10_000)
        >>> DenseFeatures([embedding_column(docid, dimension=32)])({"docid": ids})  # [batch, 32]
    """
    return EmbeddingColumn(categorical_column, dimension, combiner, initializer, max_norm,
                           trainable)


def shared_embeddings(categorical_columns: Sequence[CategoricalColumn], dimension: int,
                      combiner: str = "mean", initializer: Callable | None = None,
                      shared_embedding_collection_name: str | None = None,
                      max_norm: float | None = None,
                      trainable: bool = True) -> list[SharedEmbeddingColumn]:
    """Embedding columns that share one table, e.g. for a query and a document vocabulary.

    The table is created once per layer (`DenseFeatures` or `LinearModel`) that uses the
    columns, named `<layer>/<shared_embedding_collection_name>/embedding_weights`.

    Args:
        categorical_columns: Categorical columns with the same `num_buckets`.
        dimension, combiner, initializer, max_norm, trainable: As in `embedding_column`.
        shared_embedding_collection_name: Name of the shared table. Default: the sorted
            column names joined by `_`, plus `_shared_embedding`.

    Returns:
        One `SharedEmbeddingColumn` per categorical column, in order.

    Raises:
        ValueError: For no columns, duplicate columns, or different `num_buckets`.

    Example:
        >>> query, title = shared_embeddings([query_words, title_words], dimension=16)
        >>> DenseFeatures([query, title])(features)  # [batch, 32], one table
    """
    columns = list(categorical_columns) if not isinstance(categorical_columns, str) else []
    if not columns:
        raise ValueError(
            "`categorical_columns` of shared_embeddings must be a non-empty list of categorical "
            f"columns; received {categorical_columns!r}."
        )
    for column in columns:
        if not isinstance(column, CategoricalColumn):
            raise TypeError(
                "`categorical_columns` of shared_embeddings must hold categorical columns; "
                f"received {column!r}."
            )
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise ValueError(f"shared_embeddings received duplicate columns: {names}.")
    buckets = {c.name: c.num_buckets for c in columns}
    if len(set(buckets.values())) != 1:
        raise ValueError(
            f"The columns of shared_embeddings must have the same num_buckets to share a table; "
            f"received {buckets}. Give them vocabularies or hash sizes of the same size."
        )
    if shared_embedding_collection_name is None:
        shared_embedding_collection_name = "_".join(sorted(names)) + "_shared_embedding"
    if not isinstance(shared_embedding_collection_name, str) or not shared_embedding_collection_name:
        raise TypeError(
            "`shared_embedding_collection_name` must be a non-empty string; received "
            f"{shared_embedding_collection_name!r}."
        )
    return [SharedEmbeddingColumn(column, dimension, shared_embedding_collection_name, combiner,
                                  initializer, max_norm, trainable) for column in columns]


shared_embedding_columns = shared_embeddings  # TF1's name.
