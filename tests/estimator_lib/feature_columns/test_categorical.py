"""Vocabulary, hash bucket and identity columns: exact ids for every input form."""

import copy
import pickle

import numpy as np
import pytest
import tensorflow as tf

from estimator_lib import _variables
from estimator_lib import feature_columns as fc
from tests.estimator_lib.feature_columns.helpers import ABSENT, as_forms, dense_ids

ROWS = [["a", "x"], ["c"], []]  # "x" is out of the vocabulary; the last example is empty.


def oov_id(value, vocabulary_size, num_oov_buckets):
    strings = tf.strings.as_string(value) if isinstance(value, int) else tf.constant(value)
    return vocabulary_size + int(tf.strings.to_hash_bucket_fast(strings, num_oov_buckets))


@pytest.mark.parametrize("form", ["dense", "sparse", "ragged"])
def test_vocabulary_list_default_value_drops_unknown_values(form):
    column = fc.categorical_column_with_vocabulary_list("key", ["a", "b", "c"])
    ids = dense_ids(column, {"key": as_forms(ROWS, tf.string)[form]})
    # Unknown "x" gets -1 (no id), '' padding is missing: no entry at all.
    np.testing.assert_array_equal(ids, [[0, -1], [2, ABSENT], [ABSENT, ABSENT]])
    assert column.num_buckets == 3


@pytest.mark.parametrize("form", ["dense", "sparse", "ragged"])
def test_vocabulary_list_oov_buckets_are_hashes_after_the_vocabulary(form):
    column = fc.categorical_column_with_vocabulary_list("key", ["a", "b", "c"],
                                                         num_oov_buckets=5)
    ids = dense_ids(column, {"key": as_forms(ROWS, tf.string)[form]})
    np.testing.assert_array_equal(ids, [[0, oov_id("x", 3, 5)], [2, ABSENT], [ABSENT, ABSENT]])
    assert column.num_buckets == 8


def test_vocabulary_list_explicit_default_value():
    column = fc.categorical_column_with_vocabulary_list("key", ["a", "b", "c"], default_value=1)
    np.testing.assert_array_equal(
        dense_ids(column, {"key": tf.constant(["x", "c", "a"])}), [[1], [2], [0]])


@pytest.mark.parametrize("dtype", [tf.int32, tf.int64])
def test_integer_vocabulary_with_oov_hashes_the_string_form(dtype):
    column = fc.categorical_column_with_vocabulary_list("key", [10, 20, 30], num_oov_buckets=3)
    assert column.dtype == tf.int64
    ids = dense_ids(column, {"key": tf.constant([[20, 10], [40, -1]], dtype)})
    np.testing.assert_array_equal(ids, [[1, 0], [oov_id(40, 3, 3), ABSENT]])


def test_vocabulary_file_ids_are_line_numbers(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\nc\nd\n")
    column = fc.categorical_column_with_vocabulary_file("key", str(path), vocabulary_size=3,
                                                         num_oov_buckets=2)
    assert column.num_buckets == 5 and column.vocabulary_size == 3
    # "d" is past vocabulary_size: it is out of the vocabulary.
    ids = dense_ids(column, {"key": tf.ragged.constant([["c", "a"], ["d"], ["b", ""]])})
    np.testing.assert_array_equal(ids, [[2, 0], [oov_id("d", 3, 2), ABSENT], [1, ABSENT]])


def test_vocabulary_file_default_size_is_the_line_count_and_default_id_is_minus_one(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("7\n3\n11\n")
    column = fc.categorical_column_with_vocabulary_file("key", str(path), dtype=tf.int64)
    assert column.vocabulary_size == 3 and column.default_value == -1
    ids = dense_ids(column, {"key": tf.constant([11, 5, 7], tf.int64)})
    np.testing.assert_array_equal(ids, [[2], [-1], [0]])


@pytest.mark.parametrize("form", ["dense", "sparse", "ragged"])
def test_hash_bucket_ids_equal_to_hash_bucket_fast(form):
    column = fc.categorical_column_with_hash_bucket("key", 10)
    ids = dense_ids(column, {"key": as_forms(ROWS, tf.string)[form]})
    expected = tf.strings.to_hash_bucket_fast(["a", "x", "c"], 10).numpy()
    np.testing.assert_array_equal(
        ids, [[expected[0], expected[1]], [expected[2], ABSENT], [ABSENT, ABSENT]])


def test_hash_bucket_hashes_integers_by_their_string_form():
    column = fc.categorical_column_with_hash_bucket("key", 1000, dtype=tf.int64)
    ids = dense_ids(column, {"key": tf.constant([[123], [-1], [7]], tf.int32)})
    expected = tf.strings.to_hash_bucket_fast(["123", "7"], 1000).numpy()
    np.testing.assert_array_equal(ids, [[expected[0]], [ABSENT], [expected[1]]])
    assert expected[0] != expected[1]


@pytest.mark.parametrize("form", ["dense", "sparse", "ragged"])
def test_identity_ids_pass_through(form):
    column = fc.categorical_column_with_identity("key", num_buckets=5)
    ids = dense_ids(column, {"key": as_forms([[4, 0], [2], []], tf.int64)[form]})
    np.testing.assert_array_equal(ids, [[4, 0], [2, ABSENT], [ABSENT, ABSENT]])


def test_identity_out_of_range_is_an_error_at_run_time():
    column = fc.categorical_column_with_identity("weekday", num_buckets=7)
    with pytest.raises(tf.errors.InvalidArgumentError, match="'weekday'.*outside \\[0, 7\\)"):
        column.sparse_ids({"weekday": tf.constant([3, 7])})
    traced = tf.function(lambda x: column.sparse_ids({"weekday": x}).ids.values)
    np.testing.assert_array_equal(traced(tf.constant([3, 6])), [3, 6])
    with pytest.raises(tf.errors.InvalidArgumentError, match="weekday.*outside"):
        traced(tf.constant([3, -4]))


def test_identity_default_value_replaces_out_of_range_ids():
    column = fc.categorical_column_with_identity("key", num_buckets=7, default_value=0)
    ids = dense_ids(column, {"key": tf.constant([[3], [7], [-5], [-1]])})
    np.testing.assert_array_equal(ids, [[3], [0], [0], [ABSENT]])  # -1 is missing, not wrong.


def test_table_is_created_once_and_tracked_by_each_trace():
    column = fc.categorical_column_with_vocabulary_list("key", ["a", "b"])
    table = column.table()
    for _ in range(2):  # Two models: each registers the one table.
        traced = tf.function(lambda x: column.sparse_ids({"key": x}).ids.values)
        store = _variables.VariableStore()
        with store.scope():
            traced.get_concrete_function(tf.TensorSpec([None], tf.string))
            traced.get_concrete_function(tf.TensorSpec([None, 2], tf.string))  # A new trace.
        assert store.resources == [table]
    assert column.table() is table
    np.testing.assert_array_equal(traced(tf.constant(["b", "q"])), [1, -1])


def test_copies_and_pickles_leave_the_table_behind(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\n")
    column = fc.categorical_column_with_vocabulary_file("key", str(path))
    table = column.table()
    for clone in (copy.deepcopy(column), pickle.loads(pickle.dumps(column))):
        assert clone == column and clone.table() is not table
        np.testing.assert_array_equal(dense_ids(clone, {"key": tf.constant(["b"])}), [[1]])


def test_equal_columns_are_equal_and_hashable():
    first = fc.categorical_column_with_vocabulary_list("key", ["a", "b"])
    first.table()
    second = fc.categorical_column_with_vocabulary_list("key", ("a", "b"))
    assert first == second and hash(first) == hash(second)
    assert len({first, second, fc.categorical_column_with_hash_bucket("key", 2)}) == 2


@pytest.mark.parametrize("make, match", [
    (lambda: fc.categorical_column_with_vocabulary_list("color", ["red", "blue", "red"]),
     "'color'.*duplicate 'red'"),
    (lambda: fc.categorical_column_with_vocabulary_list("color", []), "'color'.*non-empty"),
    (lambda: fc.categorical_column_with_vocabulary_list("color", ["a"], default_value=0,
                                                         num_oov_buckets=2),
     "'color'.*both `default_value`"),
    (lambda: fc.categorical_column_with_vocabulary_list("color", ["a"], default_value=3),
     "'color'.*\\[0, 1\\)"),
    (lambda: fc.categorical_column_with_vocabulary_list("color", ["a"], num_oov_buckets=-1),
     "'color'.*non-negative"),
    (lambda: fc.categorical_column_with_vocabulary_list("color", ["a"], dtype=tf.int64),
     "'color'.*agree"),
    (lambda: fc.categorical_column_with_vocabulary_list("color", ["a"], dtype=tf.float32),
     "'color'.*tf.string or an integer"),
    (lambda: fc.categorical_column_with_vocabulary_file("city", "/no/such/file"),
     "'city'.*existing file"),
    (lambda: fc.categorical_column_with_hash_bucket("query", 0), "'query'.*positive"),
    (lambda: fc.categorical_column_with_identity("day", 0), "'day'.*positive"),
    (lambda: fc.categorical_column_with_identity("day", 7, default_value=7), "'day'.*\\[0, 7\\)"),
])
def test_bad_specs_fail_at_construction_naming_the_column(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_mixed_vocabulary_and_bad_key_are_type_errors():
    with pytest.raises(TypeError, match="'color'.*only strings or only integers"):
        fc.categorical_column_with_vocabulary_list("color", ["a", 1])
    with pytest.raises(TypeError, match="`key`.*non-empty string"):
        fc.categorical_column_with_hash_bucket(3, 10)


def test_vocabulary_file_errors(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\na\n")
    with pytest.raises(ValueError, match="'city'.*duplicate 'a'"):
        fc.categorical_column_with_vocabulary_file("city", str(path))
    fc.categorical_column_with_vocabulary_file("city", str(path), vocabulary_size=2)  # Fine.
    with pytest.raises(ValueError, match="'city'.*no larger than the 3 lines"):
        fc.categorical_column_with_vocabulary_file("city", str(path), vocabulary_size=4)
    with pytest.raises(ValueError, match="'city'.*both"):
        fc.categorical_column_with_vocabulary_file("city", str(path), vocabulary_size=2,
                                                   default_value=0, num_oov_buckets=1)


def test_missing_feature_names_the_column_and_lists_the_features():
    column = fc.categorical_column_with_hash_bucket("query", 10)
    with pytest.raises(ValueError, match=r"'query'.*\['docid', 'user'\]"):
        column.sparse_ids({"user": tf.constant(["u"]), "docid": tf.constant(["d"])})


def test_wrong_feature_dtype_is_a_type_error():
    column = fc.categorical_column_with_vocabulary_list("color", ["red"])
    with pytest.raises(TypeError, match="'color'.*string.*int32"):
        column.sparse_ids({"color": tf.constant([1])})
    with pytest.raises(TypeError, match="'color'.*string or integer.*float32"):
        fc.categorical_column_with_hash_bucket("color", 3).sparse_ids({"color": tf.constant([1.0])})
