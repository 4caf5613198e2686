"""`DenseFeatures`: the Keras layer that turns dense columns into one input tensor."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import keras
import tensorflow as tf

from estimator_lib.feature_columns import _id_lookup, _layers
from estimator_lib.feature_columns.base import DenseColumn


class DenseFeatures(keras.layers.Layer):
    """Concatenates the outputs of dense columns into a float32 `[batch, total_dim]` tensor.

    Columns are sorted by name (as in TF1), so the output layout does not depend on
    their order in `feature_columns`. The layer owns the columns' embedding tables,
    created in `build` (on the first call) and named
    `<layer name>/<column name>/embedding_weights` (shared embeddings:
    `<layer name>/<collection name>/embedding_weights`). Inside an Estimator's model_fn
    these are the checkpoint names, and every trace gets the same variables.

    Args:
        feature_columns: Dense columns: `numeric_column`, `bucketized_column`,
            `embedding_column`, `shared_embeddings` columns, `indicator_column`.
        trainable: Whether the embedding tables are trained. Default True.
        name: Layer name. Default "dense_features".
        **kwargs: Other `keras.layers.Layer` arguments.

    Raises:
        TypeError: For a column that is not dense (a categorical column must be wrapped
            in `embedding_column` or `indicator_column`).
        ValueError: For no columns or duplicate column names.

    Example:
        >>> columns = [numeric_column("age"),
        ...            embedding_column(categorical_column_with_hash_bucket("query", 1000), 8)]
        >>> inputs = DenseFeatures(columns)(
        ...     {"age": tf.constant([31.0, 45.0]), "query": tf.constant(["shoes", "hats"])})
        >>> inputs.shape  # (2, 9): age, then the 8-dim query embedding
    """

    def __init__(self, feature_columns: Iterable[DenseColumn], *, trainable: bool = True,
                 name: str | None = None, **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        self._feature_columns = _layers.sorted_columns(
            feature_columns, "DenseFeatures", DenseColumn,
            "It takes dense columns; wrap a categorical column in embedding_column or "
            "indicator_column, or use it in LinearModel.")

    @property
    def feature_columns(self) -> tuple[DenseColumn, ...]:
        """The columns, sorted by name (the order of the output's blocks)."""
        return self._feature_columns

    @property
    def output_dimension(self) -> int:
        """The width of the output: the sum of the columns' `output_dimension`."""
        return sum(column.output_dimension for column in self._feature_columns)

    def build(self, input_shape=None):
        """Creates the embedding tables (input shapes are not needed)."""
        self._tables, self._table_scopes = _layers.make_tables(self, self._feature_columns)

    @tf.autograph.experimental.do_not_convert  # Plain TF code; converting it is slow.
    def call(self, features: Mapping, training=None) -> tf.Tensor:
        """The `[batch, output_dimension]` float32 tensor for the batch `features`.

        Args:
            features: Dict of feature name to tensor, SparseTensor or RaggedTensor.
            training: Unused; accepted for Keras.
        """
        outputs = []
        with _id_lookup.shared_ids():  # Columns over the same ids share their lookup.
            for column in self._feature_columns:
                scope = self._table_scopes.get(column.name)
                table = None if scope is None else self._tables[scope].value
                outputs.append(column.dense_tensor(features, table))
        return tf.concat(outputs, axis=1)

    def compute_output_shape(self, input_shape=None):
        """See base class."""
        return (None, self.output_dimension)
