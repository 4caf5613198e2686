"""The feature column interfaces: what a column reads and what it produces.

A feature column says how one model input is read from the features dict and turned
into tensors a model can use. There are two kinds of output:

- `DenseColumn`: a float32 tensor `[batch, output_dimension]` (numeric, bucketized,
  embedding, indicator columns), which `DenseFeatures` concatenates.
- `CategoricalColumn`: sparse int64 ids in `[0, num_buckets)` per example, optionally
  with a weight per id (vocabulary, hash bucket, identity, crossed, weighted columns),
  which `LinearModel` looks up sparsely and embedding/indicator columns densify. Most
  categorical columns can also give their ids as a dense `[batch, k]` tensor when their
  input is dense (`dense_ids`), which lookups prefer: a gather instead of a round trip
  through a SparseTensor.

Columns are frozen dataclasses: immutable, hashable, compared by value and safe to reuse
across models. Trainable state (embedding tables, linear weights) belongs to the layer
that uses a column; a column only says what it needs (`WeightSpec`). Lookup tables for
vocabularies belong to the column: they are created once, outside tf.function.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import tensorflow as tf

_TRANSFORMS = ("sparse_ids", "dense_ids", "dense_tensor")


class FeatureColumn(abc.ABC):
    """A description of one model input: its `name` and how to parse it from tf.Example.

    A subclass's `sparse_ids` and `dense_tensor` are marked for AutoGraph to leave alone
    (when a model_fn calls them directly): they are plain TensorFlow code without
    tensor-dependent Python control flow, and converting them on every trace is slow.

    Example:
        >>> column = numeric_column("age", default_value=0.0)
        >>> column.name, column.parse_example_spec
        ('age', {'age': FixedLenFeature(shape=(1,), dtype=tf.float32, default_value=(0.0,))})
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for method_name in _TRANSFORMS:
            method = cls.__dict__.get(method_name)
            if method is not None and not getattr(method, "__isabstractmethod__", False):
                setattr(cls, method_name, tf.autograph.experimental.do_not_convert(method))

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """The column's name, unique within a model; it also names the column's variables."""

    @property
    @abc.abstractmethod
    def parse_example_spec(self) -> dict[str, tf.io.FixedLenFeature | tf.io.VarLenFeature]:
        """The `tf.io.parse_example` spec of the features this column reads."""


class IdWeights(NamedTuple):
    """A categorical column's output: ids and optional weights, both `[batch, k]` sparse.

    `ids` are int64 in `[0, num_buckets)`; an id of -1 means "no id" (a vocabulary
    miss without `num_oov_buckets`) and is skipped by lookups. `weights`, when present,
    has the same indices as `ids`.

    Example:
        >>> ids = tf.sparse.from_dense(tf.constant([[3, 5]], tf.int64))
        >>> IdWeights(ids, weights=None)
    """

    ids: tf.SparseTensor
    weights: tf.SparseTensor | None = None


class CategoricalColumn(FeatureColumn):
    """A column whose values are ids in `[0, num_buckets)`, several per example allowed.

    Subclasses provide `num_buckets` (an int attribute or property) and `sparse_ids`.

    Example:
        >>> @dataclasses.dataclass(frozen=True)
        ... class Parity(CategoricalColumn):  # id = value % 2
        ...     key: str
        ...     num_buckets = 2
        ...     name = property(lambda self: self.key + "_parity")
        ...     parse_example_spec = property(
        ...         lambda self: {self.key: tf.io.VarLenFeature(tf.int64)})
        ...     def sparse_ids(self, features):
        ...         values = tf.sparse.from_dense(features[self.key])
        ...         return IdWeights(tf.sparse.map_values(tf.math.floormod, values, 2))
    """

    num_buckets: int

    @abc.abstractmethod
    def sparse_ids(self, features: Mapping[str, Any]) -> IdWeights:
        """The ids (and weights) of every example in the batch `features`."""

    def dense_ids(self, features: Mapping[str, Any]) -> tf.Tensor | None:
        """The ids as a dense int64 `[batch, k]` tensor, -1 for "no id"; or None.

        The fast path of lookups (`LinearModel`, embedding columns): when the column's
        input is dense (a `tf.io.FixedLenFeature`, the usual case), its ids are a plain
        tensor, and a lookup is one gather. Position j of an example holds the id of its
        value j, or -1 where `sparse_ids` has no id (a missing value, a vocabulary miss
        without `num_oov_buckets`), so both give the same lookups. Returns None where
        there is no dense form (sparse or ragged input, weighted columns), and lookups
        use `sparse_ids`. The default returns None: a column only needs `sparse_ids`.

        Example:
            >>> weekday = categorical_column_with_identity("weekday", 7)
            >>> weekday.dense_ids({"weekday": tf.constant([[2], [-1]])})  # [[2], [-1]]
        """
        del features
        return None


@dataclasses.dataclass(frozen=True)
class WeightSpec:
    """A variable a dense column needs, created by the layer that uses the column.

    Args:
        scope: Name scope of the variable under the layer (the column's name, or the
            shared collection's name for shared embeddings); columns with the same scope
            share one variable.
        name: The variable's name in `scope`, e.g. "embedding_weights".
        shape: The variable's shape.
        initializer: `initializer(shape, dtype)` giving the initial value.
        trainable: Whether training updates the variable.

    Example:
        >>> WeightSpec("query_embedding", "embedding_weights", (1000, 8),
        ...            keras.initializers.TruncatedNormal(stddev=0.35))
    """

    scope: str
    name: str
    shape: tuple[int, ...]
    initializer: Callable = dataclasses.field(compare=False)
    trainable: bool = True


class DenseColumn(FeatureColumn):
    """A column that becomes a float32 tensor `[batch, output_dimension]`.

    Example:
        >>> @dataclasses.dataclass(frozen=True)
        ... class LogColumn(DenseColumn):  # log(1 + x) of a scalar feature
        ...     key: str
        ...     output_dimension = 1
        ...     name = property(lambda self: self.key + "_log")
        ...     parse_example_spec = property(
        ...         lambda self: {self.key: tf.io.FixedLenFeature([1], tf.float32)})
        ...     def dense_tensor(self, features, weights=None):
        ...         return tf.math.log1p(tf.reshape(features[self.key], [-1, 1]))
    """

    @property
    @abc.abstractmethod
    def output_dimension(self) -> int:
        """The width of `dense_tensor`'s output per example."""

    @property
    def weight_spec(self) -> WeightSpec | None:
        """The variable `dense_tensor` needs (an embedding table), or None."""
        return None

    @abc.abstractmethod
    def dense_tensor(self, features: Mapping[str, Any], weights=None) -> tf.Tensor:
        """The float32 `[batch, output_dimension]` tensor for the batch `features`.

        Args:
            features: Dict of feature name to tensor, SparseTensor or RaggedTensor.
            weights: The `tf.Variable` created from `weight_spec`, if the column has one.
        """
