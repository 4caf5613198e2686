"""tf.estimator's DNN expectations (canned/dnn_testing_utils.py, BaseDNNModelFnTest and
BaseDNNLogitFnTest): logits from known weights.

Each case writes the legacy test's weights into a checkpoint at global step 100 (under this
library's names: `dnn_hiddenlayer_<i>/kernel` for legacy's `dnn/hiddenlayer_<i>/kernel`,
`dnn_logits/...` for `dnn/logits/...`) and reads the logits of a DNNRegressor with
`label_dimension` = the logits dimension: in PREDICT as its predictions, and in EVAL as
its average loss against zero labels (the mean of the squared logits). The legacy tests
checked TRAIN too, through a mock head; here TRAIN is covered by the one-step cases of
test_dnn_linear_combined.py.
"""

import numpy as np
import pytest

import estimator_lib as el
from estimator_lib import feature_columns as fc
from estimator_lib.heads import MetricKeys as keys
from tests.estimator_lib.legacy_expectations.helpers import one_batch, write_checkpoint

CONFIG = el.RunConfig(log_step_count_steps=None, save_checkpoints_secs=None)
ONE_INPUT = [([[0.6, 0.5]], [0.1, -0.1]), ([[1.0, 0.8], [-0.8, -1.0]], [0.2, -0.2])]
TWO_INPUTS = [([[0.6, 0.5], [-0.6, -0.5]], [0.1, -0.1]),
              ([[1.0, 0.8], [-0.8, -1.0]], [0.2, -0.2])]
ONE_LOGIT = ([[-1.0], [1.0]], [0.3])
THREE_LOGITS = ([[-1.0, 1.0, 0.5], [-1.0, 1.0, 0.5]], [0.3, -0.3, 0.0])


def checkpoint_values(layers):
    values = {}
    for index, (kernel, bias) in enumerate(layers[:-1]):
        values[f"dnn_hiddenlayer_{index}/kernel"] = kernel
        values[f"dnn_hiddenlayer_{index}/bias"] = bias
    values["dnn_logits/kernel"], values["dnn_logits/bias"] = layers[-1]
    return values


# (legacy test, layers, feature shapes, inputs, expected logits)
LOGITS_CASES = [
    ("test_one_dim_logits", ONE_INPUT + [ONE_LOGIT], {"age": 1}, {"age": [[10.0]]},
     [[-2.08]]),
    ("test_multi_dim_logits", ONE_INPUT + [THREE_LOGITS], {"age": 1}, {"age": [[10.0]]},
     [[-2.08, 2.08, 1.19]]),
    ("test_multi_example_multi_dim_logits", ONE_INPUT + [THREE_LOGITS], {"age": 1},
     {"age": [[10.0], [5.0]]}, [[-2.08, 2.08, 1.19], [-1.08, 1.08, 0.69]]),
    ("test_multi_dim_input_one_dim_logits", TWO_INPUTS + [ONE_LOGIT], {"age": 2},
     {"age": [[10.0, 8.0]]}, [[-0.48]]),
    ("test_multi_dim_input_multi_dim_logits", TWO_INPUTS + [THREE_LOGITS], {"age": 2},
     {"age": [[10.0, 8.0]]}, [[-0.48, 0.48, 0.39]]),
    ("test_multi_feature_column_multi_dim_logits", TWO_INPUTS + [THREE_LOGITS],
     {"age": 1, "height": 1}, {"age": [[10.0]], "height": [[8.0]]}, [[-0.48, 0.48, 0.39]]),
]


def regressor(model_dir, layers, shapes, **kwargs):
    columns = [fc.numeric_column(key, shape=(size,)) for key, size in shapes.items()]
    return el.DNNRegressor(feature_columns=columns, hidden_units=[len(b) for _, b in layers[:-1]],
                           label_dimension=len(layers[-1][1]), model_dir=str(model_dir),
                           config=CONFIG, **kwargs)


@pytest.mark.parametrize("mode", ["predict", "evaluate"])
@pytest.mark.parametrize("legacy, layers, shapes, inputs, expected", LOGITS_CASES,
                         ids=[c[0] for c in LOGITS_CASES])
def test_logits(tmp_path, mode, legacy, layers, shapes, inputs, expected):
    write_checkpoint(tmp_path, checkpoint_values(layers), global_step=100)
    estimator = regressor(tmp_path, layers, shapes)
    features = {k: np.array(v, np.float32) for k, v in inputs.items()}
    expected = np.array(expected)
    if mode == "predict":
        rows = list(estimator.predict(one_batch(features)))
        np.testing.assert_allclose([r["predictions"] for r in rows], expected, rtol=1e-4,
                                   atol=1e-6)
    else:
        results = estimator.evaluate(one_batch(features, np.zeros_like(expected, np.float32)),
                                     steps=1)
        assert results[keys.LOSS_MEAN] == pytest.approx(np.mean(expected ** 2), rel=1e-4)
        assert results["global_step"] == 100


@pytest.mark.parametrize("mode", ["predict", "evaluate"])
def test_one_dim_logits_with_batch_norm(tmp_path, mode):
    # BaseDNNLogitFnTest.test_one_dim_logits_with_batch_norm, not training: the moving mean
    # 0 and variance 1 (epsilon 0.001) scale relu([7, 4]) and relu([13, 9]).
    values = checkpoint_values([([[0.6, 0.5]], [1.0, -1.0]), ([[-1.0], [2.0]], [0.3])])
    values.update({"dnn_batchnorm_0/beta": [0.0, 0.0], "dnn_batchnorm_0/gamma": [1.0, 1.0],
                   "dnn_batchnorm_0/moving_mean": [0.0, 0.0],
                   "dnn_batchnorm_0/moving_variance": [1.0, 1.0]})
    write_checkpoint(tmp_path, values, global_step=100)
    estimator = el.DNNRegressor(feature_columns=[fc.numeric_column("age")], hidden_units=[2],
                                batch_norm=True, model_dir=str(tmp_path), config=CONFIG)
    features = {"age": np.array([[10.0], [20.0]], np.float32)}
    expected = np.array([[1.299500375], [5.297501873]])
    if mode == "predict":
        rows = list(estimator.predict(one_batch(features)))
        np.testing.assert_allclose([r["predictions"] for r in rows], expected, rtol=1e-5)
    else:
        results = estimator.evaluate(one_batch(features, np.zeros([2, 1], np.float32)), steps=1)
        assert results[keys.LOSS_MEAN] == pytest.approx(np.mean(expected ** 2), rel=1e-5)
