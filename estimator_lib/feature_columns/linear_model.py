"""`LinearModel`: the Keras layer computing a linear function of feature columns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import keras
import tensorflow as tf

from estimator_lib.feature_columns import _id_lookup, _layers
from estimator_lib.feature_columns.base import CategoricalColumn, DenseColumn, FeatureColumn
from estimator_lib.feature_columns.embedding import COMBINERS


class LinearModel(keras.layers.Layer):
    """Logits `[batch, units]`: a weighted sum of feature columns plus a bias.

    A categorical column has weights `[num_buckets, units]`, looked up sparsely: only
    the rows of an example's ids are read (a gather of the column's `dense_ids` when its
    input is dense, else `tf.nn.safe_embedding_lookup_sparse`) and their gradient is an
    `IndexedSlices`, so a column with millions of buckets never makes a dense
    `[batch, num_buckets]` tensor. Several ids of one example combine by
    `sparse_combiner`; a weighted column's weights scale them. A dense column has
    weights `[output_dimension, units]` and is multiplied in.

    Variables (zeros at the start), named by column as in TF1:
    `<layer name>/<column name>/weights` and `<layer name>/bias_weights`; an embedding
    column also gets its table, `<layer name>/<column name>/embedding_weights`.

    Args:
        feature_columns: Categorical and dense columns.
        units: Number of outputs per example. Default 1.
        sparse_combiner: How several ids of one example combine: "sum" (default),
            "mean" or "sqrtn".
        trainable: Whether the weights are trained. Default True.
        name: Layer name. Default "linear_model".
        **kwargs: Other `keras.layers.Layer` arguments.

    Raises:
        TypeError: For an item that is not a feature column.
        ValueError: For no columns, duplicate names, bad `units` or `sparse_combiner`.

    Example:
        >>> query = categorical_column_with_hash_bucket("query", 1_000_000)
        >>> docid = categorical_column_with_hash_bucket("docid", 1_000_000)
        >>> wide = LinearModel([query, docid, crossed_column(["query", "docid"], 1_000_000)])
        >>> logits = wide({"query": queries, "docid": docids})  # [batch, 1]
    """

    def __init__(self, feature_columns: Iterable[FeatureColumn], *, units: int = 1,
                 sparse_combiner: str = "sum", trainable: bool = True, name: str | None = None,
                 **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        self._feature_columns = _layers.sorted_columns(
            feature_columns, "LinearModel", (CategoricalColumn, DenseColumn),
            "It takes categorical and dense feature columns.")
        if not isinstance(units, int) or isinstance(units, bool) or units < 1:
            raise ValueError(f"`units` of LinearModel must be a positive integer; received {units!r}.")
        if sparse_combiner not in COMBINERS:
            raise ValueError(
                f"`sparse_combiner` of LinearModel must be one of {list(COMBINERS)}; received "
                f"{sparse_combiner!r}."
            )
        self.units = units
        self.sparse_combiner = sparse_combiner

    @property
    def feature_columns(self) -> tuple[FeatureColumn, ...]:
        """The columns, sorted by name."""
        return self._feature_columns

    @property
    def bias(self):
        """The bias variable, `[units]` (after the first call)."""
        return self._bias_weights

    def build(self, input_shape=None):
        """Creates the weights (input shapes are not needed)."""
        dense = [c for c in self._feature_columns if not isinstance(c, CategoricalColumn)]
        self._tables, self._table_scopes = _layers.make_tables(self, dense)
        self._column_weights = {}
        for column in self._feature_columns:
            rows = (column.num_buckets if isinstance(column, CategoricalColumn)
                    else column.output_dimension)
            self._column_weights[column.name] = _layers.make_variable(
                self, column.name, "weights", (rows, self.units), "zeros", self.trainable)
        self._bias_weights = _layers.make_variable(self, None, "bias_weights", (self.units,),
                                                   "zeros", self.trainable)

    @tf.autograph.experimental.do_not_convert  # Plain TF code; converting it is slow.
    def call(self, features: Mapping, training=None) -> tf.Tensor:
        """The `[batch, units]` float32 logits for the batch `features`.

        Args:
            features: Dict of feature name to tensor, SparseTensor or RaggedTensor.
            training: Unused; accepted for Keras.
        """
        terms = []
        with _id_lookup.shared_ids():  # Crossed columns share their inputs' ids.
            for column in self._feature_columns:
                weights = self._column_weights[column.name].value
                if isinstance(column, CategoricalColumn):
                    terms.append(_id_lookup.lookup(weights, column, features,
                                                   self.sparse_combiner))
                else:
                    scope = self._table_scopes.get(column.name)
                    table = None if scope is None else self._tables[scope].value
                    terms.append(tf.matmul(column.dense_tensor(features, table), weights))
        return tf.ensure_shape(tf.add_n(terms) + self._bias_weights.value, [None, self.units])

    def compute_output_shape(self, input_shape=None):
        """See base class."""
        return (None, self.units)
