"""tf.estimator's LinearRegressor expectations (canned/linear_testing_utils.py).

Each case writes the legacy test's weights into a checkpoint at global step 100 (under this
library's names: `linear/<column>/weights`, `linear/bias_weights` for legacy's
`linear/linear_model/...`), then evaluates or predicts. The legacy evaluation cases were
written for a regressor that summed the loss over the batch (Reduction.SUM), which these
cases set explicitly.
"""

import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from estimator_lib import feature_columns as fc
from estimator_lib.heads import MetricKeys as keys
from estimator_lib.losses import Reduction
from tests.estimator_lib.legacy_expectations.helpers import (
    assert_metrics,
    one_batch,
    write_checkpoint,
)

BIAS = "linear/bias_weights"
CONFIG = el.RunConfig(log_step_count_steps=None, save_checkpoints_secs=None)
AGE_CHECKPOINT = {"linear/age/weights": [[11.0]], BIAS: [2.0]}


def regressor(model_dir, columns, **kwargs):
    return el.LinearRegressor(feature_columns=columns, model_dir=str(model_dir), config=CONFIG,
                              **kwargs)


def evaluate(estimator, input_fn):
    return {k: float(v) for k, v in estimator.evaluate(input_fn, steps=1).items()}


@pytest.mark.parametrize("legacy, kwargs, features, labels, expected_loss", [
    ("test_evaluation_for_simple_data", {}, {"age": [[1.0]]}, [[10.0]], 9.0),
    ("test_evaluation_batch", {}, {"age": [[1.0], [1.0]]}, [[10.0], [10.0]], 18.0),
    ("test_evaluation_weights", {"weight_column": "weights"},
     {"age": [[1.0], [1.0]], "weights": [[1.0], [2.0]]}, [[10.0], [10.0]], 27.0),
], ids=lambda v: v if isinstance(v, str) and v.startswith("test_") else "")
def test_evaluation(tmp_path, legacy, kwargs, features, labels, expected_loss):
    # Logit 1 * 11 + 2 = 13 against label 10: 9 per example.
    write_checkpoint(tmp_path, AGE_CHECKPOINT, global_step=100)
    estimator = regressor(tmp_path, [fc.numeric_column("age")], loss_reduction=Reduction.SUM,
                          **kwargs)
    results = evaluate(estimator, one_batch(
        {k: np.array(v, np.float32) for k, v in features.items()}, np.array(labels, np.float32)))
    assert_metrics(results, {keys.LOSS: expected_loss, keys.LOSS_MEAN: 9.0,
                             keys.PREDICTION_MEAN: 13.0, keys.LABEL_MEAN: 10.0,
                             "global_step": 100})


def test_evaluation_for_multi_dimensions(tmp_path):
    # [2, 4, 5] x [[1, 2], [3, 4], [5, 6]] + [7, 8] = [46, 58], the label: loss 0.
    write_checkpoint(tmp_path, {"linear/age/weights": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
                                BIAS: [7.0, 8.0]}, global_step=100)
    estimator = regressor(tmp_path, [fc.numeric_column("age", shape=(3,))], label_dimension=2)
    results = evaluate(estimator, one_batch({"age": np.array([[2.0, 4.0, 5.0]], np.float32)},
                                            np.array([[46.0, 58.0]], np.float32)))
    assert results[keys.LOSS] == pytest.approx(0.0, abs=1e-6)
    assert sorted(results) == sorted([keys.LOSS, keys.LOSS_MEAN, keys.PREDICTION_MEAN,
                                      keys.LABEL_MEAN, "global_step"])


def test_evaluation_for_multiple_feature_columns(tmp_path):
    # [20 * 10 + 4 * 2 + 5, 40 * 10 + 8 * 2 + 5] = [213, 421], the labels: loss 0.
    write_checkpoint(tmp_path, {"linear/age/weights": [[10.0]], "linear/height/weights": [[2.0]],
                                BIAS: [5.0]}, global_step=100)
    estimator = regressor(tmp_path, [fc.numeric_column("age"), fc.numeric_column("height")])
    results = evaluate(estimator, one_batch(
        {"age": np.array([20, 40]), "height": np.array([4, 8])},
        np.array([[213.0], [421.0]], np.float32)))
    assert results[keys.LOSS] == pytest.approx(0.0, abs=1e-6)


def predict(estimator, features):
    return [row["predictions"] for row in estimator.predict(one_batch(features))]


@pytest.mark.parametrize("legacy, checkpoint, columns, label_dimension, features, expected", [
    ("BaseLinearRegressorPredictTest.test_1d", {"linear/x/weights": [[10.0]], BIAS: [0.2]},
     [fc.numeric_column("x")], 1, {"x": [[2.0]]}, [[20.2]]),
    ("BaseLinearRegressorPredictTest.testMultiDim",
     {"linear/x/weights": [[1.0, 2.0, 3.0], [2.0, 3.0, 4.0], [3.0, 4.0, 5.0], [4.0, 5.0, 6.0]],
      BIAS: [0.2, 0.4, 0.6]}, [fc.numeric_column("x", shape=(4,))], 3,
     {"x": [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]},
     [[30.2, 40.4, 50.6], [70.2, 96.4, 122.6]]),
    ("BaseLinearRegressorPredictTest.testTwoFeatureColumns",
     {"linear/x0/weights": [[10.0]], "linear/x1/weights": [[20.0]], BIAS: [0.2]},
     [fc.numeric_column("x0"), fc.numeric_column("x1")], 1, {"x0": [[2.0]], "x1": [[3.0]]},
     [[80.2]]),
], ids=lambda v: v if isinstance(v, str) and "Test." in v else "")
def test_predict(tmp_path, legacy, checkpoint, columns, label_dimension, features, expected):
    write_checkpoint(tmp_path, checkpoint, global_step=100)
    estimator = regressor(tmp_path, columns, label_dimension=label_dimension)
    scores = predict(estimator, {k: np.array(v, np.float32) for k, v in features.items()})
    np.testing.assert_allclose(scores, expected, rtol=1e-6)


@pytest.mark.parametrize("combiner, expected", [
    ("sum", [[12.0], [13.0]]),                 # w_a + w_c + bias, w_b + w_c + bias
    ("mean", [[8.5], [9.0]]),                  # halves of those sums, plus the bias
    ("sqrtn", [[9.94974], [10.65685]]),        # sqrt(2) / 2 of those sums, plus the bias
], ids=lambda v: f"testSparseCombiner-{v}" if isinstance(v, str) else "")
def test_sparse_combiner(tmp_path, combiner, expected):
    # BaseLinearRegressorPredictTest.testSparseCombiner: w = (2, 3, 5) for (a, b, c), bias 5.
    write_checkpoint(tmp_path, {"linear/language/weights": [[2.0], [3.0], [5.0]], BIAS: [5.0]},
                     global_step=1)
    column = fc.categorical_column_with_vocabulary_list("language", ["a", "b", "c"])
    estimator = regressor(tmp_path, [column], sparse_combiner=combiner)
    language = tf.sparse.SparseTensor(values=["a", "c", "b", "c"],
                                      indices=[[0, 0], [0, 1], [1, 0], [1, 1]], dense_shape=[2, 2])
    np.testing.assert_allclose(predict(estimator, {"language": language}), expected, rtol=1e-5)
