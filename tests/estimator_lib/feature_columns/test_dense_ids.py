"""The dense fast path: `dense_ids` and the gather lookup against `sparse_ids` and the sparse lookup."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from estimator_lib import feature_columns as fc
from estimator_lib.feature_columns import _id_lookup
from tests.estimator_lib.feature_columns.helpers import as_forms

STRINGS = [["red", "zzz"], [""], ["blue", "red"], []]  # zzz: a vocabulary miss; "": missing.
INTEGERS = [[3, 1], [-1], [0, 5], []]  # -1: missing.


def vocabulary(**kwargs):
    return fc.categorical_column_with_vocabulary_list("color", ["red", "green", "blue"], **kwargs)


def columns_and_features(width):
    """(column, features) pairs over dense inputs, `width` values per example."""
    strings = [row[:width] for row in STRINGS]
    integers = [row[:width] for row in INTEGERS]
    features = {"color": as_forms(strings, tf.string)["dense"],
                "number": as_forms(integers, tf.int64)["dense"],
                "small": as_forms(integers, tf.int32)["dense"],
                "x": tf.constant([[0.5] * width, [1.5] * width, [2.5] * width, [9.0] * width])}
    x_buckets = fc.bucketized_column(fc.numeric_column("x", shape=(width,)), [1.0, 2.0])
    number = fc.categorical_column_with_identity("number", 6)
    columns = [
        vocabulary(),
        vocabulary(num_oov_buckets=2),
        vocabulary(default_value=1),
        fc.categorical_column_with_vocabulary_list("number", [5, 3, 0]),
        fc.categorical_column_with_hash_bucket("color", 7),
        fc.categorical_column_with_hash_bucket("number", 7, dtype=tf.int64),
        fc.categorical_column_with_hash_bucket("small", 7, dtype=tf.int32),
        number,
        fc.categorical_column_with_identity("number", 4, default_value=2),
        x_buckets,
    ]
    if width == 1:
        columns += [fc.crossed_column(["color", "number"], 11),
                    fc.crossed_column([x_buckets, number], 11),
                    fc.crossed_column([vocabulary(num_oov_buckets=1), "number"], 11, hash_key=7)]
    return [(column, features) for column in columns]


def sparse_as_dense(column, features):
    return tf.sparse.to_dense(column.sparse_ids(features).ids, default_value=-1).numpy()


CASES = [(width, i) for width in (1, 2) for i in range(len(columns_and_features(width)))]


@pytest.mark.parametrize(("width", "index"), CASES)
def test_dense_ids_equal_sparse_ids(width, index):
    column, features = columns_and_features(width)[index]
    ids = column.dense_ids(features)
    assert ids.dtype == tf.int64 and ids.shape[1] == width
    np.testing.assert_array_equal(ids.numpy(), sparse_as_dense(column, features))


@pytest.mark.parametrize(("width", "index"), CASES)
@pytest.mark.parametrize("combiner", ["sum", "mean", "sqrtn"])
def test_gather_lookup_equals_sparse_lookup_with_gradients(width, index, combiner):
    column, features = columns_and_features(width)[index]
    table = tf.Variable(np.random.default_rng(index).normal(size=(column.num_buckets, 3)),
                        dtype=tf.float32)
    upstream = tf.constant(np.random.default_rng(1).normal(size=(4, 3)), tf.float32)

    def run(lookup):
        with tf.GradientTape() as tape:
            output = lookup(table.value())
            loss = tf.reduce_sum(output * upstream)
        return output, tape.gradient(loss, table)

    fast, fast_gradient = run(lambda t: _id_lookup.lookup(t, column, features, combiner))
    id_weights = column.sparse_ids(features)
    general, general_gradient = run(lambda t: tf.nn.safe_embedding_lookup_sparse(
        t, id_weights.ids, id_weights.weights, combiner=combiner))
    np.testing.assert_allclose(fast, general, rtol=1e-6, atol=1e-7)
    assert isinstance(fast_gradient, tf.IndexedSlices)
    # Each row once, as from the sparse lookup: optimizers that update slice by slice
    # (Keras's Adagrad) see the same gradient.
    indices = fast_gradient.indices.numpy()
    assert len(set(indices)) == len(indices)
    np.testing.assert_allclose(tf.convert_to_tensor(fast_gradient),
                               tf.convert_to_tensor(general_gradient), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("form", ["sparse", "ragged"])
def test_sparse_and_ragged_inputs_have_no_dense_ids(form):
    features = {"color": as_forms(STRINGS, tf.string)[form],
                "number": as_forms(INTEGERS, tf.int64)[form]}
    for column in [vocabulary(), fc.categorical_column_with_hash_bucket("color", 7),
                   fc.categorical_column_with_identity("number", 6),
                   fc.crossed_column(["color", "number"], 11)]:
        assert column.dense_ids(features) is None


def test_weighted_and_multivalent_crossed_columns_use_the_sparse_path():
    weighted = fc.weighted_categorical_column(vocabulary(), "weight")
    assert weighted.dense_ids({"color": tf.constant([["red"]]),
                               "weight": tf.constant([[2.0]])}) is None
    crossed = fc.crossed_column(["color", "number"], 11)
    assert crossed.dense_ids({"color": tf.constant([["red", "blue"]]),
                              "number": tf.constant([[1]], tf.int64)}) is None


@pytest.mark.parametrize("combiner", ["sum", "mean", "sqrtn"])
def test_linear_model_and_embeddings_same_on_dense_and_ragged_input(combiner):
    columns = [vocabulary(num_oov_buckets=1), fc.categorical_column_with_identity("number", 6),
               fc.crossed_column(["color", "number"], 5)]
    dense = {"color": as_forms(STRINGS, tf.string)["dense"],
             "number": as_forms(INTEGERS, tf.int64)["dense"]}
    ragged = {"color": as_forms(STRINGS, tf.string)["ragged"],
              "number": as_forms(INTEGERS, tf.int64)["ragged"]}
    linear = fc.LinearModel(columns, sparse_combiner=combiner)
    embedded = fc.DenseFeatures([fc.embedding_column(c, 4, combiner=combiner) for c in columns])
    linear(dense), embedded(dense)
    for variable in linear.weights:
        variable.assign(np.random.default_rng(0).normal(size=variable.shape))

    def outputs_and_gradients(features):
        with tf.GradientTape() as tape:
            outputs = [linear(features), embedded(features)]
            loss = sum(tf.reduce_sum(o * o) for o in outputs)
        variables = linear.trainable_variables + embedded.trainable_variables
        return outputs, [tf.convert_to_tensor(g) for g in tape.gradient(loss, variables)]

    (dense_out, dense_grads), (ragged_out, ragged_grads) = map(outputs_and_gradients,
                                                               [dense, ragged])
    for a, b in zip(dense_out + dense_grads, ragged_out + ragged_grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_dense_path_has_no_sparse_ops_and_no_assert_cond():
    columns = [vocabulary(num_oov_buckets=1), fc.categorical_column_with_identity("number", 6),
               fc.crossed_column(["color", "number"], 11)]
    spec = {"color": tf.TensorSpec([None, 1], tf.string),
            "number": tf.TensorSpec([None, 1], tf.int64)}
    model = fc.LinearModel(columns)

    @tf.function
    def forward_backward(features):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model(features))
        return tape.gradient(loss, model.trainable_variables)

    forward_backward({"color": tf.constant([["red"]]), "number": tf.constant([[1]], tf.int64)})
    graph = forward_backward.get_concrete_function(spec).graph
    types = {op.type for op in graph.get_operations()}
    assert not types & {"SparseFillEmptyRows", "SparseReshape", "SparseSegmentSum",
                        "If", "StatelessIf"}
    assert "Assert" in types  # The identity column's check is still there, as a plain op.


def test_identity_out_of_range_error_on_the_dense_path():
    column = fc.categorical_column_with_identity("weekday", num_buckets=7)
    traced = tf.function(lambda x: column.dense_ids({"weekday": x}))
    np.testing.assert_array_equal(traced(tf.constant([[3], [-1]], tf.int64)), [[3], [-1]])
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="weekday.*outside \\[0, 7\\).*out of range:\\] \\[7 -4\\]"):
        traced(tf.constant([[7], [-1], [-4]], tf.int64))
    with pytest.raises(tf.errors.InvalidArgumentError, match="'weekday'.*outside"):
        column.dense_ids({"weekday": tf.constant([9])})


def test_dense_ids_keep_the_input_checks():
    with pytest.raises(ValueError, match="'color'.*not among the features"):
        vocabulary().dense_ids({"colour": tf.constant(["red"])})
    with pytest.raises(ValueError, match="rank >= 1"):
        vocabulary().dense_ids({"color": tf.constant("red")})
    with pytest.raises(TypeError, match="holds int64 values"):
        vocabulary().dense_ids({"color": tf.constant([1], tf.int64)})


@pytest.mark.parametrize("optimizer", ["Adagrad", "Ftrl", "Adam"])
def test_keras_optimizers_train_the_same_on_dense_and_ragged_input(optimizer):
    column = fc.embedding_column(vocabulary(num_oov_buckets=1), 2, combiner="sum")
    rows = [["red"], ["red"], ["blue"], [""], ["zzz"], ["red"]]  # Repeated ids in a batch.
    results = []
    for form in ("dense", "ragged"):
        keras.utils.set_random_seed(0)
        layer = fc.DenseFeatures([column])
        features = {"color": as_forms(rows, tf.string)[form]}
        layer(features)
        keras_optimizer = getattr(keras.optimizers, optimizer)(0.1)
        for _ in range(3):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.square(layer(features) - 1.0))
            gradients = tape.gradient(loss, layer.trainable_variables)
            keras_optimizer.apply_gradients(zip(gradients, layer.trainable_variables, strict=True))
        results.append(layer.trainable_variables[0].numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


def test_million_bucket_dense_input_trains_sparsely():
    from tests.estimator_lib.feature_columns.test_linear_model import MILLION, big_output_tensors

    model = fc.LinearModel([fc.categorical_column_with_hash_bucket("query", MILLION),
                            fc.crossed_column(["query", "docid"], MILLION)])
    spec = {"query": tf.TensorSpec([None, 1], tf.string),
            "docid": tf.TensorSpec([None, 1], tf.string)}

    @tf.function
    def gradients(features):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model(features))
        return tape.gradient(loss, model.trainable_variables)

    features = {"query": tf.constant([["shoes"], ["hat"], ["shoes"]]),
                "docid": tf.constant([["d1"], ["d2"], ["d1"]])}
    result = gradients(features)
    assert big_output_tensors(gradients.get_concrete_function(spec).graph) == []
    assert [type(g) for g in result[:2]] == [tf.IndexedSlices, tf.IndexedSlices]
    assert sorted(result[1].values.numpy().ravel().tolist()) == [1.0, 2.0]  # query: hat, shoes


def test_shared_ids_look_up_each_column_once_with_the_same_outputs_and_gradients():
    """Wide & deep over the same columns: one vocabulary lookup and one unique per column."""
    color = vocabulary(num_oov_buckets=1)
    number = fc.categorical_column_with_identity("number", 6)
    linear = fc.LinearModel([color, number], name="linear")
    dense = fc.DenseFeatures([fc.embedding_column(color, 3), fc.embedding_column(number, 2)])
    features = {"color": tf.constant([["red"], ["zzz"], ["blue"], ["red"]]),
                "number": tf.constant([[3], [1], [0], [3]], tf.int64)}

    def outputs(shared):
        with tf.GradientTape() as tape:
            if shared:
                with _id_lookup.shared_ids():
                    result = (linear(features), dense(features))
            else:
                result = (linear(features), dense(features))
            total = tf.reduce_sum(result[0]) + tf.reduce_sum(result[1] ** 2)
        variables = linear.trainable_variables + dense.trainable_variables
        grads = [tf.convert_to_tensor(g) for g in tape.gradient(total, variables)]
        return result, grads

    linear(features), dense(features)  # Build the variables.
    (plain, plain_grads), (shared, shared_grads) = outputs(False), outputs(True)
    for a, b in zip(plain + tuple(plain_grads), shared + tuple(shared_grads), strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)

    def op_types(shared):
        graph = tf.function(lambda f: outputs(shared)[0]).get_concrete_function(
            {k: tf.TensorSpec(v.shape, v.dtype) for k, v in features.items()}).graph
        return [op.type for op in graph.get_operations()]

    plain_ops, shared_ops = op_types(False), op_types(True)
    assert plain_ops.count("LookupTableFindV2") == 2 and shared_ops.count("LookupTableFindV2") == 1
    assert plain_ops.count("Unique") == 4 and shared_ops.count("Unique") == 2


def test_crossed_columns_share_their_inputs_ids_within_a_layer():
    """Latitude and longitude buckets in the linear model and crossed into a cell: each is
    bucketized once per call, and the logits are those of separate lookups."""
    lat = fc.bucketized_column(fc.numeric_column("lat"), [41.8, 41.9])
    lon = fc.bucketized_column(fc.numeric_column("lon"), [-87.7, -87.6])
    cell = fc.crossed_column([lat, lon], 50)
    features = {"lat": tf.constant([[41.7], [41.85], [42.0]]),
                "lon": tf.constant([[-87.8], [-87.65], [-87.5]])}
    shared = fc.LinearModel([lat, lon, cell], name="shared")
    separate = [fc.LinearModel([column], name=f"alone_{i}")
                for i, column in enumerate([lat, lon, cell])]
    for model in [shared, *separate]:
        model(features)
        for variable in model.trainable_variables:  # Distinct weights per row, seeded.
            variable.assign(tf.random.stateless_normal(variable.shape, seed=[1, variable.shape[0]]))
    bias = shared.trainable_variables[-1]
    expected = sum(model(features) - model.trainable_variables[-1] for model in separate) + bias
    np.testing.assert_allclose(shared(features).numpy(), expected.numpy(), rtol=1e-6)

    graph = tf.function(shared).get_concrete_function(
        {k: tf.TensorSpec([None, 1], tf.float32) for k in features}).graph
    assert [op.type for op in graph.get_operations()].count("Bucketize") == 2
