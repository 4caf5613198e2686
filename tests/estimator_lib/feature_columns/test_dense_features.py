"""DenseFeatures: output layout, variable names and reuse under the Estimator's store."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from estimator_lib import _variables
from estimator_lib import feature_columns as fc

FEATURES = {
    "price": tf.constant([[1.0, 2.0], [3.0, 4.0]]),
    "age": tf.constant([25.0, 70.0]),
    "color": tf.constant(["blue", "red"]),
}


def make_columns():
    color = fc.categorical_column_with_vocabulary_list("color", ["red", "blue"])
    return [
        fc.numeric_column("price", shape=2),
        fc.embedding_column(color, 3),
        fc.indicator_column(color),
        fc.bucketized_column(fc.numeric_column("age"), [30.0, 60.0]),
    ]


def test_output_is_sorted_by_column_name_whatever_the_given_order():
    columns = make_columns()
    forward = fc.DenseFeatures(columns)
    backward = fc.DenseFeatures(columns[::-1])
    assert [c.name for c in forward.feature_columns] == [
        "age_bucketized", "color_embedding", "color_indicator", "price"]
    output = forward(FEATURES)
    assert output.dtype == tf.float32 and output.shape == (2, 3 + 3 + 2 + 2)
    assert forward.compute_output_shape() == (None, 10)
    np.testing.assert_array_equal(output[:, :3], [[1, 0, 0], [0, 0, 1]])  # age buckets
    np.testing.assert_array_equal(output[:, 6:8], [[0, 1], [1, 0]])  # color indicator
    np.testing.assert_array_equal(output[:, 8:], FEATURES["price"])
    backward.build()  # Called directly, it names the table as a call would.
    assert [w.path for w in backward.weights] == [
        "dense_features_1/color_embedding/embedding_weights"]
    assert [w.path for w in forward.weights] == ["dense_features/color_embedding/embedding_weights"]
    backward.weights[0].assign(forward.weights[0])
    np.testing.assert_array_equal(backward(FEATURES), output)


def test_traces_reuse_variables_named_by_column():
    store = _variables.VariableStore()
    columns = make_columns()

    def model(features):
        with store.scope(), _variables.fresh_keras_names():
            return fc.DenseFeatures(columns)(features)

    traced = tf.function(model)
    first = traced(FEATURES)
    traced.get_concrete_function(  # A second trace, with an unknown batch size.
        {k: tf.TensorSpec([None, *v.shape[1:]], v.dtype) for k, v in FEATURES.items()})
    assert store.names == ["dense_features/color_embedding/embedding_weights"]
    assert len(store.variables) == 1 and store.variables[0].shape == (2, 3)
    assert len(store.resources) == 1  # The color vocabulary table, used by two columns.
    np.testing.assert_array_equal(traced(FEATURES), first)


def test_gradients_reach_the_embedding_table():
    layer = fc.DenseFeatures(make_columns())
    with tf.GradientTape() as tape:
        output = layer(FEATURES)
    (gradient,) = tape.gradient(output, layer.trainable_weights)
    np.testing.assert_array_equal(tf.convert_to_tensor(gradient), np.ones([2, 3]))


def test_usable_inside_a_keras_model_with_other_layers():
    columns = make_columns()
    inputs = dict(FEATURES)
    hidden = fc.DenseFeatures(columns)(inputs)
    logits = keras.layers.Dense(1, kernel_initializer="ones")(hidden)
    assert logits.shape == (2, 1)


def test_categorical_columns_must_be_wrapped():
    with pytest.raises(TypeError, match="wrap a categorical column in embedding_column"):
        fc.DenseFeatures([fc.categorical_column_with_hash_bucket("query", 10)])


def test_duplicate_and_empty_column_lists():
    with pytest.raises(ValueError, match="several columns named \\['age'\\]"):
        fc.DenseFeatures([fc.numeric_column("age"), fc.numeric_column("age", shape=2)])
    with pytest.raises(ValueError, match="non-empty list"):
        fc.DenseFeatures([])


def test_missing_feature_names_the_column_and_lists_the_features():
    layer = fc.DenseFeatures([fc.numeric_column("height")])
    with pytest.raises(ValueError, match="'height'.*\\['age', 'color', 'price'\\]"):
        layer(FEATURES)
