"""Sparse-aware Ftrl and Adagrad: Keras's updates on the gradient's rows only."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from estimator_lib.canned import _common, _sparse_optimizers

ROWS = 6
INDICES = [4, 1, 4, 0, 1, 4]  # Repeated rows; rows 2, 3 and 5 get no gradient.


def sparse_gradient(step: int) -> tf.IndexedSlices:
    values = np.random.default_rng(step).normal(size=(len(INDICES), 2)).astype(np.float32)
    return tf.IndexedSlices(tf.constant(values), tf.constant(INDICES, tf.int64),
                            tf.constant([ROWS, 2], tf.int64))


def run(optimizer, gradients, initial):
    variable = keras.Variable(initial)
    for gradient in gradients:
        optimizer.apply_gradients([(gradient, variable)])
    return variable.numpy(), [v.numpy() for v in optimizer.variables]


CONFIGS = [
    (_sparse_optimizers.Ftrl, keras.optimizers.Ftrl, {"learning_rate": 0.2}),
    (_sparse_optimizers.Ftrl, keras.optimizers.Ftrl,
     {"learning_rate": 0.1, "l1_regularization_strength": 0.01,
      "l2_regularization_strength": 0.02, "beta": 0.5, "learning_rate_power": -0.6}),
    (_sparse_optimizers.Adagrad, keras.optimizers.Adagrad, {"learning_rate": 0.05}),
    (_sparse_optimizers.Adagrad, keras.optimizers.Adagrad,
     {"learning_rate": 0.3, "initial_accumulator_value": 0.5, "epsilon": 1e-3}),
]


@pytest.mark.parametrize(("sparse_class", "keras_class", "config"), CONFIGS)
@pytest.mark.parametrize("traced", [False, True])
def test_sparse_update_equals_keras_update_on_the_dense_gradient(sparse_class, keras_class,
                                                                  config, traced):
    gradients = [sparse_gradient(step) for step in range(3)]
    initial = np.zeros((ROWS, 2), np.float32)
    if traced:
        variable = keras.Variable(initial)
        optimizer = sparse_class(**config)
        step = tf.function(lambda g: optimizer.apply_gradients([(g, variable)]))
        for gradient in gradients:
            step(gradient)
        sparse = variable.numpy(), [v.numpy() for v in optimizer.variables]
    else:
        sparse = run(sparse_class(**config), gradients, initial)
    dense = run(keras_class(**config), [tf.convert_to_tensor(g) for g in gradients], initial)
    np.testing.assert_allclose(sparse[0], dense[0], rtol=1e-5, atol=1e-7)
    for a, b in zip(sparse[1], dense[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("sparse_class", [_sparse_optimizers.Ftrl, _sparse_optimizers.Adagrad])
def test_rows_without_gradient_are_untouched(sparse_class):
    initial = np.arange(ROWS * 2, dtype=np.float32).reshape(ROWS, 2)
    variable, _ = run(sparse_class(learning_rate=0.1), [sparse_gradient(0)], initial)
    np.testing.assert_array_equal(variable[[2, 3, 5]], initial[[2, 3, 5]])
    assert not np.allclose(variable[[0, 1, 4]], initial[[0, 1, 4]])


def test_ftrl_with_l2_shrinkage_keeps_the_dense_update():
    config = {"learning_rate": 0.1, "l2_shrinkage_regularization_strength": 0.1}
    gradients = [sparse_gradient(step) for step in range(2)]
    initial = np.ones((ROWS, 2), np.float32)
    sparse = run(_sparse_optimizers.Ftrl(**config), gradients, initial)[0]
    dense = run(keras.optimizers.Ftrl(**config), gradients, initial)[0]
    np.testing.assert_allclose(sparse, dense, rtol=1e-6)


@pytest.mark.parametrize("sparse_class", [_sparse_optimizers.Ftrl, _sparse_optimizers.Adagrad])
def test_million_row_update_makes_no_table_sized_tensor(sparse_class):
    million = 1_000_000
    variable = keras.Variable(np.zeros((million, 1), np.float32))
    optimizer = sparse_class(learning_rate=0.1)
    optimizer.build([variable])
    spec = tf.IndexedSlicesSpec([million, 1], tf.float32, tf.int64, dense_shape_dtype=tf.int64)

    @tf.function(input_signature=[spec])
    def step(gradient):
        optimizer.apply_gradients([(gradient, variable)])

    graph = step.get_concrete_function().graph
    shapes = [tuple(t.shape) for op in graph.get_operations() for t in op.outputs]
    assert not [s for s in shapes if s and s[0] == million]
    step(tf.IndexedSlices(tf.ones([2, 1]), tf.constant([7, 7], tf.int64),
                          tf.constant([million, 1], tf.int64)))
    assert np.flatnonzero(variable.numpy()).tolist() == [7]


def test_canned_estimators_use_the_sparse_aware_classes():
    assert type(_common.make_optimizer("Ftrl", 0.2)) is _sparse_optimizers.Ftrl
    assert type(_common.make_optimizer("adagrad", 0.05)) is _sparse_optimizers.Adagrad
    copy = _common.check_optimizer(keras.optimizers.Ftrl(0.1, l1_regularization_strength=0.5))
    made = _common.make_optimizer(copy, 0.2)
    assert type(made) is _sparse_optimizers.Ftrl
    assert made.l1_regularization_strength == 0.5
    assert float(made.learning_rate) == pytest.approx(0.1)
    assert type(_common.make_optimizer(_common.check_optimizer(keras.optimizers.Adam(0.1)),
                                       0.2)) is keras.optimizers.Adam


def test_lookup_gradients_are_summed_once():
    from estimator_lib import feature_columns as fc

    query, title = fc.shared_embeddings([fc.categorical_column_with_identity("q", 5),
                                         fc.categorical_column_with_identity("t", 5)], 2)
    features = {"q": tf.constant([[1], [1], [3]], tf.int64),
                "t": tf.constant([[1], [4], [4]], tf.int64)}
    results = []
    for columns in ([query], [query, title]):  # One lookup of the table; two (concatenated).
        keras.utils.set_random_seed(0)
        layer = fc.DenseFeatures(columns)
        layer(features)
        variables = layer.trainable_variables
        sparse, dense = _sparse_optimizers.Adagrad(0.1), keras.optimizers.Adagrad(0.1)
        dense_copy = [keras.Variable(v.numpy()) for v in variables]

        @tf.function
        def step():  # called only in this iteration, so the loop's names are the right ones
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.square(layer(features) - 1.0))  # noqa: B023
            gradients = tape.gradient(loss, variables)  # noqa: B023
            sparse.apply_gradients(zip(gradients, variables, strict=True))  # noqa: B023
            dense.apply_gradients(zip([tf.convert_to_tensor(g) for g in gradients],  # noqa: B023
                                      dense_copy, strict=True))  # noqa: B023

        for _ in range(2):
            step()
        graph = step.get_concrete_function().graph
        results.append(sum(op.type == "Unique" for op in graph.get_operations()))
        np.testing.assert_allclose(variables[0].numpy(), dense_copy[0].numpy(), rtol=1e-6)
    assert results == [1, 3]  # The lookup's own; two lookups' plus the optimizer's sum.
