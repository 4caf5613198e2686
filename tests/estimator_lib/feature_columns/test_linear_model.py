"""LinearModel: exact logits, and the sparse path of million-bucket columns."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from estimator_lib import _variables
from estimator_lib import feature_columns as fc

MILLION = 1_000_000


def assign(model, **values):
    """Assigns variables by their path under the layer (`age/weights`, `bias_weights`)."""
    weights = {w.path.split("/", 1)[1]: w for w in model.weights}
    for path, value in values.items():
        weights[path.replace("__", "/")].assign(value)


def test_logits_are_the_weighted_sum_of_columns_plus_bias():
    color = fc.categorical_column_with_vocabulary_list("color", ["red", "green", "blue"])
    columns = [fc.numeric_column("age"), color,
               fc.bucketized_column(fc.numeric_column("age"), [30.0])]
    model = fc.LinearModel(columns, units=2)
    features = {"age": tf.constant([20.0, 40.0]), "color": tf.ragged.constant([["red", "blue"], []])}
    model(features)
    assert sorted(w.path for w in model.weights) == [
        "linear_model/age/weights", "linear_model/age_bucketized/weights",
        "linear_model/bias_weights", "linear_model/color/weights"]
    assign(model, age__weights=[[0.5, -1.0]], color__weights=[[1, 10], [2, 20], [3, 30]],
           age_bucketized__weights=[[100, 0], [200, 0]], bias_weights=[0.25, 0.75])
    expected = np.array([
        [0.5 * 20 + (1 + 3) + 100 + 0.25, -20 + (10 + 30) + 0 + 0.75],
        [0.5 * 40 + 0 + 200 + 0.25, -40 + 0 + 0 + 0.75],
    ])
    np.testing.assert_allclose(model(features), expected)


@pytest.mark.parametrize("combiner, expected", [
    ("sum", [[6.0], [0.0]]), ("mean", [[3.0], [0.0]]), ("sqrtn", [[6.0 / np.sqrt(2)], [0.0]])])
def test_sparse_combiner(combiner, expected):
    weekday = fc.categorical_column_with_identity("weekday", 7)
    model = fc.LinearModel([weekday], sparse_combiner=combiner)
    features = {"weekday": tf.constant([[1, 5], [-1, -1]])}
    model(features)
    assign(model, weekday__weights=np.arange(7, dtype=np.float32)[:, None])
    np.testing.assert_allclose(model(features), expected, rtol=1e-6)


def test_dense_columns_are_multiplied_in():
    docid = fc.categorical_column_with_identity("docid", 3)
    embedding = fc.embedding_column(docid, 2, initializer=lambda shape, dtype=None: tf.reshape(
        tf.range(6, dtype=tf.float32), shape))
    model = fc.LinearModel([embedding])
    model({"docid": tf.constant([2])})
    assert sorted(w.path for w in model.weights) == [
        "linear_model/bias_weights", "linear_model/docid_embedding/embedding_weights",
        "linear_model/docid_embedding/weights"]
    assign(model, docid_embedding__weights=[[1.0], [10.0]])
    np.testing.assert_allclose(model({"docid": tf.constant([2])}), [[4.0 + 50.0]])


def big_output_tensors(graph):
    """(op type, name, shape) of every tensor with a dimension of a million, nested graphs too."""
    found = []
    for op in graph.get_operations():
        for tensor in op.outputs:
            if tensor.shape.rank and MILLION in tensor.shape.as_list():
                found.append((op.type, op.name, tuple(tensor.shape)))
    for function in getattr(graph, "_functions", {}).values():
        nested = getattr(function, "graph", None)
        if nested is not None:
            found.extend(big_output_tensors(nested))
    return found


def test_million_bucket_columns_train_without_dense_tensors():
    query = fc.categorical_column_with_hash_bucket("query", MILLION)
    columns = [query, fc.crossed_column(["query", "docid"], MILLION)]
    store = _variables.VariableStore()
    optimizer = keras.optimizers.SGD(0.5)

    def train_step(features, labels):  # As the Estimator's: store, tape, optimizer.
        with tf.GradientTape() as tape:
            with store.scope(), _variables.fresh_keras_names():
                logits = fc.LinearModel(columns)(features)
            loss = tf.reduce_mean(tf.square(logits - labels))
        variables = store.trainable_variables
        gradients = tape.gradient(loss, variables)
        with store.scope("optimizer", restart=False):
            optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return loss, gradients

    specs = ({"query": tf.SparseTensorSpec([None, None], tf.string),
              "docid": tf.RaggedTensorSpec([None, None], tf.string)},
             tf.TensorSpec([None, 1]))
    step = tf.function(train_step)
    step.get_concrete_function(*specs)  # Creates the variables (as the Estimator's build).
    graph = tf.function(train_step).get_concrete_function(*specs).graph
    assert len(graph.get_operations()) > 100
    assert big_output_tensors(graph) == []
    assert [tuple(v.shape) for v in store.variables] == [(MILLION, 1), (MILLION, 1), (1,)]
    assert store.names == ["linear_model/docid_X_query/weights", "linear_model/query/weights",
                           "linear_model/bias_weights"]

    queries = tf.ragged.constant([["shoes", "red shoes"], ["hat"]])
    features = {"query": queries.to_sparse(), "docid": tf.ragged.constant([["d1"], ["d2"]])}
    loss, gradients = step(features, tf.constant([[1.0], [1.0]]))
    assert float(loss) == 1.0
    assert all(isinstance(g, tf.IndexedSlices) for g in gradients[:2])
    touched = np.flatnonzero(store.variables[1].numpy())  # query/weights
    expected = np.sort(tf.strings.to_hash_bucket_fast(["shoes", "red shoes", "hat"], MILLION))
    np.testing.assert_array_equal(touched, expected)  # Only the looked-up rows changed.
    crossed = tf.sparse.cross_hashed([queries.to_sparse(), features["docid"].to_sparse()],
                                     num_buckets=MILLION)
    np.testing.assert_array_equal(np.flatnonzero(store.variables[0].numpy()),
                                  np.sort(crossed.values.numpy()))


def test_bad_arguments():
    age = fc.numeric_column("age")
    with pytest.raises(ValueError, match="`units` of LinearModel.*0"):
        fc.LinearModel([age], units=0)
    with pytest.raises(ValueError, match="`sparse_combiner`.*'max'"):
        fc.LinearModel([age], sparse_combiner="max")
    with pytest.raises(TypeError, match="LinearModel cannot use 'age'"):
        fc.LinearModel([age, "age"])
