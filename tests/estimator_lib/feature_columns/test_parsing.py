"""make_parse_example_spec: merged specs, conflicts, and parsing real tf.Examples."""

import numpy as np
import pytest
import tensorflow as tf

from estimator_lib import feature_columns as fc


def example(**features):
    def feature(values):
        if isinstance(values[0], str):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode() for v in values]))
        if isinstance(values[0], int):
            return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))

    return tf.train.Example(features=tf.train.Features(
        feature={k: feature(v) for k, v in features.items()})).SerializeToString()


def columns():
    age = fc.numeric_column("age", default_value=-1.0)
    color = fc.categorical_column_with_vocabulary_list("color", ["red", "blue"])
    weekday = fc.categorical_column_with_identity("weekday", 7)
    terms = fc.weighted_categorical_column(fc.categorical_column_with_hash_bucket("terms", 20),
                                           "frequencies")
    return [
        age, fc.bucketized_column(age, [30.0]), fc.indicator_column(color),
        fc.embedding_column(weekday, 2), fc.crossed_column(["query", color], 10), terms,
    ]


def test_spec_of_every_kind_of_column():
    assert fc.make_parse_example_spec(columns()) == {
        "age": tf.io.FixedLenFeature((1,), tf.float32, (-1.0,)),
        "color": tf.io.VarLenFeature(tf.string),
        "weekday": tf.io.VarLenFeature(tf.int64),
        "query": tf.io.VarLenFeature(tf.string),
        "terms": tf.io.VarLenFeature(tf.string),
        "frequencies": tf.io.VarLenFeature(tf.float32),
    }


def test_parsed_examples_feed_the_layers():
    spec = fc.make_parse_example_spec(columns())
    serialized = [
        example(age=[41.0], color=["blue", "red"], weekday=[3], query=["q"], terms=["t"],
                frequencies=[2.0]),
        example(color=["green"], weekday=[0], query=["q"], terms=["u", "v"],
                frequencies=[1.0, 1.0]),
    ]
    features = tf.io.parse_example(serialized, spec)
    dense = fc.DenseFeatures([c for c in columns() if isinstance(c, fc.DenseColumn)])(features)
    # age, age_bucketized (2), color_indicator (2), weekday_embedding (2).
    assert dense.shape == (2, 7)
    np.testing.assert_array_equal(dense[:, :5], [[41.0, 0, 1, 1, 1], [-1.0, 1, 0, 0, 0]])
    logits = fc.LinearModel(columns())(features)
    assert logits.shape == (2, 1)


def test_conflicting_specs_name_the_feature_and_columns():
    with pytest.raises(ValueError, match="'color'.*column 'color'.*column 'color_X_query'"):
        fc.make_parse_example_spec([
            fc.categorical_column_with_identity("color", 3),
            fc.crossed_column(["query", "color"], 10),
        ])
    with pytest.raises(ValueError, match="Feature 'age'"):
        fc.make_parse_example_spec([fc.numeric_column("age"), fc.numeric_column("age", shape=2)])


def test_only_columns_are_accepted():
    with pytest.raises(TypeError, match="feature columns.*'age'"):
        fc.make_parse_example_spec(["age"])
