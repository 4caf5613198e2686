"""Crossed columns: ids equal to tf.sparse.cross_hashed of the leaves."""

import numpy as np
import pytest
import tensorflow as tf

from estimator_lib import feature_columns as fc
from tests.estimator_lib.feature_columns.helpers import as_forms, dense_ids

QUERY = [["shoes", "red"], ["hat"], []]
DOCID = [["d1"], ["d2", "d3"], ["d4"]]


def reference(inputs, num_buckets, hash_key=None):
    crossed = tf.sparse.cross_hashed(inputs, num_buckets=num_buckets, hash_key=hash_key)
    return tf.sparse.to_dense(crossed, default_value=-9).numpy()


@pytest.mark.parametrize("form", ["dense", "sparse", "ragged"])
@pytest.mark.parametrize("hash_key", [None, 12345])
def test_multivalent_cross_of_string_keys(form, hash_key):
    column = fc.crossed_column(["query", "docid"], hash_bucket_size=1000, hash_key=hash_key)
    features = {"query": as_forms(QUERY, tf.string)[form],
                "docid": as_forms(DOCID, tf.string)[form]}
    expected = reference([tf.ragged.constant(QUERY).to_sparse(),
                          tf.ragged.constant(DOCID).to_sparse()], 1000, hash_key)
    ids = dense_ids(column, features)
    np.testing.assert_array_equal(ids, expected)
    assert ids.shape == (3, 2)  # Two crosses in rows 0 and 1; none in row 2 (no query).
    assert column.name == "docid_X_query" and column.num_buckets == 1000


def test_cross_of_columns_uses_their_ids():
    color = fc.categorical_column_with_vocabulary_list("color", ["red", "green"])
    age = fc.bucketized_column(fc.numeric_column("age"), [18.0, 65.0])
    column = fc.crossed_column([color, age, "user"], hash_bucket_size=50)
    features = {"color": tf.constant(["green", "red"]), "age": tf.constant([70.0, 5.0]),
                "user": tf.constant([3, 9])}
    expected = reference([  # Dense inputs: color ids, bucket ids, raw user ids.
        tf.constant([[1], [0]], tf.int64),
        tf.constant([[2], [0]], tf.int64),
        tf.constant([[3], [9]], tf.int64),
    ], 50)
    np.testing.assert_array_equal(dense_ids(column, features), expected)
    assert column.name == "age_bucketized_X_color_X_user"


def test_nested_crosses_are_flattened():
    nested = fc.crossed_column([fc.crossed_column(["a", "b"], 10), "c"], hash_bucket_size=100)
    flat = fc.crossed_column(["a", "b", "c"], hash_bucket_size=100)
    features = {"a": tf.constant(["x", "y"]), "b": tf.constant(["p", "q"]),
                "c": tf.constant(["m", "n"])}
    assert nested.name == flat.name == "a_X_b_X_c"
    np.testing.assert_array_equal(dense_ids(nested, features), dense_ids(flat, features))
    assert nested.parse_example_spec == {k: tf.io.VarLenFeature(tf.string) for k in "abc"}


def test_parse_spec_merges_column_keys():
    color = fc.categorical_column_with_identity("color", 3)
    column = fc.crossed_column(["query", color], 10)
    assert column.parse_example_spec == {"query": tf.io.VarLenFeature(tf.string),
                                         "color": tf.io.VarLenFeature(tf.int64)}


@pytest.mark.parametrize("keys, size, error, match", [
    (["query"], 10, ValueError, "'query'.*at least two"),
    ("query", 10, ValueError, "single 'query'"),
    (["query", "docid"], 0, ValueError, "'docid_X_query'.*positive"),
    (["query", 3], 10, TypeError, "feature names \\(str\\) or categorical columns; received 3"),
    (["query", fc.numeric_column("age")], 10, TypeError, "received NumericColumn"),
    (["query", fc.weighted_categorical_column(fc.categorical_column_with_identity("t", 3), "w")],
     10, TypeError, "weighted column 't_weighted_by_w'"),
])
def test_bad_crosses(keys, size, error, match):
    with pytest.raises(error, match=match):
        fc.crossed_column(keys, size)
