"""Weighted categorical columns: weights pair with ids, in LinearModel and checks."""

import numpy as np
import pytest
import tensorflow as tf

from estimator_lib import feature_columns as fc

TERMS = [["a", "b", "a"], ["c"], []]
FREQUENCIES = [[1.0, 2.0, 0.5], [4.0], []]
ROW_WEIGHTS = np.array([[10.0], [20.0], [30.0], [40.0]], np.float32)  # Rows of a, b, c, d.


def weighted_column():
    terms = fc.categorical_column_with_vocabulary_list("terms", ["a", "b", "c", "d"])
    return fc.weighted_categorical_column(terms, "frequencies")


def forms(rows, dtype, missing):
    ragged = tf.ragged.constant(rows, dtype)
    return {"ragged": ragged, "sparse": ragged.to_sparse(),
            "dense": ragged.to_tensor(default_value=missing)}


@pytest.mark.parametrize("combiner, expected", [
    ("sum", [10 * 1.0 + 20 * 2.0 + 10 * 0.5, 30 * 4.0, 0.0]),
    ("mean", [(10 * 1.0 + 20 * 2.0 + 10 * 0.5) / 3.5, 30.0, 0.0]),
])
@pytest.mark.parametrize("form", ["ragged", "sparse", "dense"])
def test_linear_model_scales_rows_by_the_weights(combiner, expected, form):
    model = fc.LinearModel([weighted_column()], sparse_combiner=combiner)
    features = {"terms": forms(TERMS, tf.string, "")[form],
                "frequencies": forms(FREQUENCIES, tf.float32, 0.0)[form]}
    model(features)
    weights = {w.path.split("/", 1)[1]: w for w in model.weights}
    weights["terms_weighted_by_frequencies/weights"].assign(ROW_WEIGHTS)
    weights["bias_weights"].assign([0.5])
    np.testing.assert_allclose(model(features), np.array(expected)[:, None] + 0.5, rtol=1e-6)


def test_weights_of_missing_values_are_dropped_with_them():
    column = weighted_column()
    id_weights = column.sparse_ids({"terms": tf.constant([["a", ""], ["", "c"]]),
                                    "frequencies": tf.constant([[1.0, 9.0], [8.0, 3.0]])})
    np.testing.assert_array_equal(id_weights.ids.indices, [[0, 0], [1, 1]])
    np.testing.assert_array_equal(id_weights.ids.values, [0, 2])
    np.testing.assert_array_equal(id_weights.weights.indices, id_weights.ids.indices)
    np.testing.assert_array_equal(id_weights.weights.values, [1.0, 3.0])


def test_weights_must_match_the_ids():
    with pytest.raises(tf.errors.InvalidArgumentError, match="one weight per value"):
        weighted_column().sparse_ids({"terms": tf.ragged.constant([["a", "b"]]),
                                      "frequencies": tf.ragged.constant([[1.0]])})


def test_parse_spec_and_name():
    column = weighted_column()
    assert column.name == "terms_weighted_by_frequencies" and column.num_buckets == 4
    assert column.parse_example_spec == {"terms": tf.io.VarLenFeature(tf.string),
                                         "frequencies": tf.io.VarLenFeature(tf.float32)}


def test_bad_weighted_specs():
    terms = fc.categorical_column_with_hash_bucket("terms", 10)
    with pytest.raises(ValueError, match="'terms_weighted_by_w'.*float"):
        fc.weighted_categorical_column(terms, "w", dtype=tf.int64)
    with pytest.raises(ValueError, match="another feature"):
        fc.weighted_categorical_column(terms, "terms")
    with pytest.raises(TypeError, match="vocabulary, hash bucket or identity"):
        fc.weighted_categorical_column(fc.crossed_column(["a", "b"], 10), "w")
