"""The feature_columns package's public surface."""

from estimator_lib import feature_columns as fc


def test_every_name_in_all_resolves_and_is_sorted():
    assert [name for name in fc.__all__ if not hasattr(fc, name)] == []
    assert sorted(fc.__all__) == fc.__all__


def test_tf_feature_column_names_exist():
    for name in ("numeric_column", "bucketized_column", "categorical_column_with_vocabulary_list",
                 "categorical_column_with_vocabulary_file", "categorical_column_with_hash_bucket",
                 "categorical_column_with_identity", "crossed_column", "embedding_column",
                 "shared_embeddings", "indicator_column", "weighted_categorical_column",
                 "make_parse_example_spec", "DenseFeatures", "LinearModel"):
        assert callable(getattr(fc, name)), name
    assert fc.shared_embedding_columns is fc.shared_embeddings
