"""Embedding and shared-embedding columns: combiners against numpy, tables, bad specs."""

import numpy as np
import pytest
import tensorflow as tf

from estimator_lib import feature_columns as fc
from tests.estimator_lib.feature_columns.helpers import table_initializer

TABLE = np.arange(12, dtype=np.float32).reshape(4, 3) / 4.0 - 1.0  # Rows for a, b, c, d.
IDS = [["a", "c", "c"], ["d"], []]
WEIGHTS = [[0.5, 2.0, 1.0], [3.0], []]


def letters(name="letters"):
    return fc.categorical_column_with_vocabulary_list(name, ["a", "b", "c", "d"])


def reference(combiner, weights=None):
    rows = []
    for example, example_weights in zip(IDS, weights or [[1.0] * len(r) for r in IDS],
                                        strict=True):
        if not example:
            rows.append(np.zeros(3))
            continue
        w = np.array(example_weights)
        vectors = TABLE[["abcd".index(v) for v in example]]
        total = (w[:, None] * vectors).sum(axis=0)
        scale = {"sum": 1.0, "mean": w.sum(), "sqrtn": np.sqrt((w**2).sum())}[combiner]
        rows.append(total / scale)
    return np.array(rows)


@pytest.mark.parametrize("combiner", ["mean", "sum", "sqrtn"])
@pytest.mark.parametrize("form", ["ragged", "sparse", "dense"])
def test_combiners_on_multivalent_input(combiner, form):
    column = fc.embedding_column(letters(), 3, combiner=combiner,
                                 initializer=table_initializer(TABLE))
    ragged = tf.ragged.constant(IDS)
    value = {"ragged": ragged, "sparse": ragged.to_sparse(),
             "dense": ragged.to_tensor(default_value="")}[form]
    output = fc.DenseFeatures([column])({"letters": value})
    np.testing.assert_allclose(output, reference(combiner), rtol=1e-6)


@pytest.mark.parametrize("combiner", ["mean", "sum", "sqrtn"])
def test_combiners_with_weights(combiner):
    column = fc.embedding_column(fc.weighted_categorical_column(letters(), "weights"), 3,
                                 combiner=combiner, initializer=table_initializer(TABLE))
    output = fc.DenseFeatures([column])(
        {"letters": tf.ragged.constant(IDS), "weights": tf.ragged.constant(WEIGHTS)})
    np.testing.assert_allclose(output, reference(combiner, WEIGHTS), rtol=1e-6)


def test_values_without_an_id_are_skipped():
    column = fc.embedding_column(letters(), 3, initializer=table_initializer(TABLE))
    output = fc.DenseFeatures([column])({"letters": tf.constant([["a", "zzz"], ["zzz", ""]])})
    np.testing.assert_allclose(output, [TABLE[0], np.zeros(3)])


def test_max_norm_clips_looked_up_vectors():
    column = fc.embedding_column(letters(), 3, combiner="sum", max_norm=1.0,
                                 initializer=table_initializer(TABLE))
    output = fc.DenseFeatures([column])({"letters": tf.constant(["a", "c"])}).numpy()
    for row, letter in zip(output, "ac", strict=True):
        vector = TABLE["abcd".index(letter)]
        np.testing.assert_allclose(row, vector / max(1.0, np.linalg.norm(vector)), rtol=1e-6)
    assert np.linalg.norm(TABLE[0]) > 1.0  # The clip did something.


def test_default_initializer_is_truncated_normal_scaled_by_dimension():
    column = fc.embedding_column(fc.categorical_column_with_hash_bucket("q", 500), 16)
    layer = fc.DenseFeatures([column])
    layer({"q": tf.constant(["x"])})
    (table,) = layer.weights
    assert table.path == "dense_features/q_embedding/embedding_weights"
    values = table.numpy()
    assert values.shape == (500, 16)
    assert np.abs(values).max() <= 2.0 / np.sqrt(16) + 1e-6  # Truncated at 2 stddev.
    assert 0.15 < values.std() < 0.25  # About 0.88 / sqrt(16).


def test_untrainable_table():
    column = fc.embedding_column(letters(), 3, trainable=False)
    layer = fc.DenseFeatures([column])
    layer({"letters": tf.constant(["a"])})
    assert layer.trainable_weights == [] and not layer.weights[0].value.trainable


def test_shared_embeddings_use_one_table():
    query, title = fc.shared_embeddings([letters("query"), letters("title")], 3,
                                        initializer=table_initializer(TABLE))
    assert query.name == "query_shared_embedding"
    assert query.shared_embedding_collection_name == "query_title_shared_embedding"
    layer = fc.DenseFeatures([title, query])
    output = layer({"query": tf.constant(["b"]), "title": tf.constant(["d"])})
    assert [w.path for w in layer.weights] == [
        "dense_features/query_title_shared_embedding/embedding_weights"]
    np.testing.assert_allclose(output, [np.concatenate([TABLE[1], TABLE[3]])])  # query, title.


def test_shared_embeddings_named_collection_and_checks():
    columns = fc.shared_embeddings([letters("query"), letters("title")], 3,
                                   shared_embedding_collection_name="words")
    assert {c.shared_embedding_collection_name for c in columns} == {"words"}
    with pytest.raises(ValueError, match="same num_buckets.*'query': 4, 'docid': 10"):
        fc.shared_embeddings([letters("query"), fc.categorical_column_with_identity("docid", 10)], 3)
    with pytest.raises(ValueError, match="duplicate"):
        fc.shared_embeddings([letters("query"), letters("query")], 3)
    with pytest.raises(ValueError, match="non-empty list"):
        fc.shared_embeddings([], 3)
    other = fc.shared_embeddings([letters("doc")], 5, shared_embedding_collection_name="words")
    with pytest.raises(ValueError, match="share the table 'words' but describe it differently"):
        fc.DenseFeatures(columns + other)({k: tf.constant(["a"]) for k in ("query", "title", "doc")})


@pytest.mark.parametrize("kwargs, error, match", [
    ({"dimension": 0}, ValueError, "`dimension` of embedding column 'letters_embedding'.*0"),
    ({"dimension": 2.5}, ValueError, "`dimension` of embedding column 'letters_embedding'"),
    ({"dimension": 3, "combiner": "max"}, ValueError, "'letters_embedding'.*\\['mean', 'sqrtn'"),
    ({"dimension": 3, "initializer": "zeros"}, TypeError, "'letters_embedding'.*callable"),
    ({"dimension": 3, "max_norm": -1.0}, ValueError, "'letters_embedding'.*positive"),
])
def test_bad_embedding_specs(kwargs, error, match):
    with pytest.raises(error, match=match):
        fc.embedding_column(letters(), **kwargs)


def test_embedding_needs_a_categorical_column():
    with pytest.raises(TypeError, match="categorical column"):
        fc.embedding_column(fc.numeric_column("x"), 3)
