"""Feature columns: how raw features become model inputs (tf.feature_column, TF2-native).

Columns describe features; two Keras layers use them: `DenseFeatures` (dense columns
to one `[batch, dim]` tensor, for deep models) and `LinearModel` (any columns to
logits, with sparse lookups, for wide models). `make_parse_example_spec` gives the
tf.Example parsing spec of a set of columns, for input_fns and serving receivers.

Example:
    >>> fc = el.feature_column
    >>> query = fc.categorical_column_with_hash_bucket("query", 100_000)
    >>> docid = fc.categorical_column_with_hash_bucket("docid", 100_000)
    >>> wide = [fc.crossed_column(["query", "docid"], 1_000_000)]
    >>> deep = [fc.embedding_column(query, 32), fc.embedding_column(docid, 32)]
    >>> def model_fn(features, labels, mode):
    ...     hidden = keras.layers.Dense(64, "relu")(fc.DenseFeatures(deep)(features))
    ...     logits = keras.layers.Dense(1)(hidden) + fc.LinearModel(wide)(features)
    ...     ...
    >>> receiver_fn = el.export.build_parsing_serving_input_receiver_fn(
    ...     fc.make_parse_example_spec(wide + deep))
"""

from estimator_lib.feature_columns.base import (
    CategoricalColumn,
    DenseColumn,
    FeatureColumn,
    IdWeights,
    WeightSpec,
)
from estimator_lib.feature_columns.bucketized import BucketizedColumn, bucketized_column
from estimator_lib.feature_columns.crossed import CrossedColumn, crossed_column
from estimator_lib.feature_columns.dense_features import DenseFeatures
from estimator_lib.feature_columns.embedding import (
    EmbeddingColumn,
    SharedEmbeddingColumn,
    embedding_column,
    shared_embedding_columns,
    shared_embeddings,
)
from estimator_lib.feature_columns.hashed import HashedColumn, categorical_column_with_hash_bucket
from estimator_lib.feature_columns.identity import IdentityColumn, categorical_column_with_identity
from estimator_lib.feature_columns.indicator import IndicatorColumn, indicator_column
from estimator_lib.feature_columns.linear_model import LinearModel
from estimator_lib.feature_columns.numeric import NumericColumn, numeric_column
from estimator_lib.feature_columns.parsing import make_parse_example_spec
from estimator_lib.feature_columns.vocabulary import (
    VocabularyFileColumn,
    VocabularyListColumn,
    categorical_column_with_vocabulary_file,
    categorical_column_with_vocabulary_list,
)
from estimator_lib.feature_columns.weighted import (
    WeightedCategoricalColumn,
    weighted_categorical_column,
)

__all__ = [
    "BucketizedColumn",
    "CategoricalColumn",
    "CrossedColumn",
    "DenseColumn",
    "DenseFeatures",
    "EmbeddingColumn",
    "FeatureColumn",
    "HashedColumn",
    "IdWeights",
    "IdentityColumn",
    "IndicatorColumn",
    "LinearModel",
    "NumericColumn",
    "SharedEmbeddingColumn",
    "VocabularyFileColumn",
    "VocabularyListColumn",
    "WeightSpec",
    "WeightedCategoricalColumn",
    "bucketized_column",
    "categorical_column_with_hash_bucket",
    "categorical_column_with_identity",
    "categorical_column_with_vocabulary_file",
    "categorical_column_with_vocabulary_list",
    "crossed_column",
    "embedding_column",
    "indicator_column",
    "make_parse_example_spec",
    "numeric_column",
    "shared_embedding_columns",
    "shared_embeddings",
    "weighted_categorical_column",
]
