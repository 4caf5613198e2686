"""Numeric and bucketized columns: values, shapes, buckets and bad specs."""

import numpy as np
import pytest
import tensorflow as tf

from estimator_lib import feature_columns as fc
from tests.estimator_lib.feature_columns.helpers import dense_ids


def test_rank_one_and_rank_two_inputs_give_the_same_values():
    column = fc.numeric_column("price")
    expected = [[1.5], [-2.0]]
    np.testing.assert_array_equal(column.dense_tensor({"price": tf.constant([1.5, -2.0])}),
                                  expected)
    np.testing.assert_array_equal(column.dense_tensor({"price": np.array([[1.5], [-2.0]])}),
                                  expected)


def test_multidimensional_values_are_flattened_per_example():
    column = fc.numeric_column("pixels", shape=(2, 3))
    values = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    output = column.dense_tensor({"pixels": values})
    assert column.output_dimension == 6
    np.testing.assert_array_equal(output, values.reshape(2, 6))


def test_normalizer_runs_before_the_cast_to_float32():
    column = fc.numeric_column("count", dtype=tf.int64, normalizer_fn=lambda x: x * 3 - 1)
    output = column.dense_tensor({"count": tf.constant([2, 5], tf.int64)})
    assert output.dtype == tf.float32
    np.testing.assert_array_equal(output, [[5.0], [14.0]])


def test_default_value_fills_the_shape_and_goes_into_the_parse_spec():
    column = fc.numeric_column("x", shape=(2,), default_value=3)
    assert column.default_value == (3.0, 3.0)
    assert column.parse_example_spec == {"x": tf.io.FixedLenFeature((2,), tf.float32, (3.0, 3.0))}
    parsed = tf.io.parse_example([tf.train.Example().SerializeToString()],
                                 column.parse_example_spec)
    np.testing.assert_array_equal(parsed["x"], [[3.0, 3.0]])
    matrix = fc.numeric_column("m", shape=(2, 2), default_value=[[1, 2], [3, 4]])
    assert matrix.default_value == (1.0, 2.0, 3.0, 4.0)
    parsed = tf.io.parse_example([tf.train.Example().SerializeToString()],
                                 matrix.parse_example_spec)
    np.testing.assert_array_equal(parsed["m"], [[[1.0, 2.0], [3.0, 4.0]]])


@pytest.mark.parametrize("kwargs, error, match", [
    ({"shape": 0}, ValueError, "`shape` of numeric column 'age'.*0"),
    ({"shape": (2, -1)}, ValueError, "`shape` of numeric column 'age'"),
    ({"dtype": tf.string}, ValueError, "`dtype` of numeric column 'age'.*float or integer"),
    ({"shape": (3,), "default_value": [1.0, 2.0]}, ValueError,
     "`default_value` of numeric column 'age' has shape \\(2,\\)"),
    ({"default_value": "old"}, TypeError, "`default_value` of numeric column 'age'"),
    ({"normalizer_fn": 3}, TypeError, "`normalizer_fn` of numeric column 'age'"),
])
def test_bad_numeric_specs(kwargs, error, match):
    with pytest.raises(error, match=match):
        fc.numeric_column("age", **kwargs)


def test_bad_numeric_inputs_name_the_column():
    column = fc.numeric_column("age", shape=(2,))
    with pytest.raises(ValueError, match="'age' has shape \\(2,\\).*shape \\(2, 3\\)"):
        column.dense_tensor({"age": tf.zeros([2, 3])})
    with pytest.raises(TypeError, match="'age' needs a dense tensor.*SparseTensor"):
        column.dense_tensor({"age": tf.sparse.from_dense(tf.ones([2, 2]))})
    with pytest.raises(TypeError, match="'age' needs numbers.*string"):
        column.dense_tensor({"age": tf.constant([["a", "b"]])})
    with pytest.raises(ValueError, match="'age'.*\\['height'\\]"):
        column.dense_tensor({"height": tf.zeros([2, 2])})


BOUNDARIES = [0.0, 10.0, 100.0]


def test_bucket_boundaries_are_left_closed():
    column = fc.bucketized_column(fc.numeric_column("x"), BOUNDARIES)
    features = {"x": tf.constant([-5.0, 0.0, 9.99, 10.0, 100.0, 1e9])}
    np.testing.assert_array_equal(column.bucket_indices(features).numpy().ravel(),
                                  [0, 1, 1, 2, 3, 3])
    assert column.name == "x_bucketized" and column.num_buckets == 4
    np.testing.assert_array_equal(column.dense_tensor(features), np.eye(4)[[0, 1, 1, 2, 3, 3]])
    np.testing.assert_array_equal(dense_ids(column, features).ravel(), [0, 1, 1, 2, 3, 3])


def test_bucketized_vector_gives_a_block_of_buckets_per_position():
    column = fc.bucketized_column(fc.numeric_column("x", shape=(2,)), BOUNDARIES)
    features = {"x": tf.constant([[-1.0, 50.0], [200.0, 5.0]])}
    assert column.num_buckets == 8 and column.output_dimension == 8
    # Position 1 ids are offset by 4 (= len(boundaries) + 1).
    np.testing.assert_array_equal(dense_ids(column, features), [[0, 2 + 4], [3, 1 + 4]])
    expected = np.zeros([2, 8])
    expected[0, [0, 6]] = 1
    expected[1, [3, 5]] = 1
    np.testing.assert_array_equal(column.dense_tensor(features), expected)


def test_bucketized_uses_the_normalized_source():
    source = fc.numeric_column("x", normalizer_fn=lambda x: x * 100.0)
    column = fc.bucketized_column(source, BOUNDARIES)
    np.testing.assert_array_equal(
        column.bucket_indices({"x": tf.constant([0.05, 0.5])}).numpy().ravel(), [1, 2])
    assert column.parse_example_spec == source.parse_example_spec


@pytest.mark.parametrize("boundaries, match", [
    ([0.0, 10.0, 5.0], "'age_bucketized'.*strictly increasing.*\\[0.0, 10.0, 5.0\\]"),
    ([1.0, 1.0], "'age_bucketized'.*strictly increasing"),
    ([], "'age_bucketized'.*non-empty"),
    ("abc", "'age_bucketized'.*non-empty list of numbers"),
])
def test_bad_boundaries_name_the_column(boundaries, match):
    with pytest.raises(ValueError, match=match):
        fc.bucketized_column(fc.numeric_column("age"), boundaries)


def test_bucketized_needs_a_numeric_source():
    with pytest.raises(TypeError, match="numeric_column"):
        fc.bucketized_column(fc.categorical_column_with_identity("age", 3), [1.0])
