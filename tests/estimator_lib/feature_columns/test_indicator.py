"""Indicator columns: multi-hot counts of categorical ids."""

import numpy as np
import pytest
import tensorflow as tf

from estimator_lib import feature_columns as fc
from tests.estimator_lib.feature_columns.helpers import as_forms


@pytest.mark.parametrize("form", ["dense", "sparse", "ragged"])
def test_counts_of_multivalent_input(form):
    tags = fc.categorical_column_with_vocabulary_list("tags", ["a", "b", "c"], num_oov_buckets=1)
    column = fc.indicator_column(tags)
    rows = [["a", "a", "c"], [], ["zzz", "b"]]
    output = column.dense_tensor({"tags": as_forms(rows, tf.string)[form]})
    np.testing.assert_array_equal(output, [[2, 0, 1, 0], [0, 0, 0, 0], [0, 1, 0, 1]])
    assert column.name == "tags_indicator" and column.output_dimension == 4


def test_values_without_an_id_count_for_nothing():
    column = fc.indicator_column(fc.categorical_column_with_vocabulary_list("tags", ["a", "b"]))
    output = column.dense_tensor({"tags": tf.constant([["zzz", "b"], ["a", ""]])})
    np.testing.assert_array_equal(output, [[0, 1], [1, 0]])


def test_identity_and_bucketized_indicators():
    weekday = fc.indicator_column(fc.categorical_column_with_identity("weekday", 7))
    np.testing.assert_array_equal(weekday.dense_tensor({"weekday": tf.constant([6, 0])}),
                                  np.eye(7)[[6, 0]])
    age = fc.indicator_column(fc.bucketized_column(fc.numeric_column("age"), [18.0]))
    np.testing.assert_array_equal(age.dense_tensor({"age": tf.constant([30.0, 3.0])}),
                                  [[0, 1], [1, 0]])


def test_weighted_indicator_sums_weights():
    terms = fc.weighted_categorical_column(fc.categorical_column_with_identity("terms", 4), "tf")
    output = fc.indicator_column(terms).dense_tensor(
        {"terms": tf.ragged.constant([[1, 3, 1], [2]]),
         "tf": tf.ragged.constant([[0.5, 2.0, 0.25], [4.0]])})
    np.testing.assert_allclose(output, [[0, 0.75, 0, 2.0], [0, 0, 4.0, 0]])


def test_indicator_needs_a_categorical_column():
    with pytest.raises(TypeError, match="indicator_column must be a categorical column"):
        fc.indicator_column(fc.numeric_column("x"))
