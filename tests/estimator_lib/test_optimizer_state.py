"""Optimizer state is named by its role in the model and survives every restart."""

import json
import logging
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from estimator_lib import feature_columns as fc

TASK = os.path.join(os.path.dirname(__file__), "optimizer_state_task.py")
X = np.array([[1.0], [2.0], [3.0], [4.0]], np.float32)
Y = np.array([[0.5], [1.0], [0.0], [2.0]], np.float32)


def input_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).batch(2).repeat()


def run_task(model_dir, extra_optimizers, steps):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, TASK, str(model_dir), str(extra_optimizers),
                             str(steps)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_adagrad_accumulators_survive_a_restart_in_a_process_with_another_history(tmp_path):
    # Process A makes an Adagrad first (Keras names the estimator's copy `adagrad_1`);
    # process B makes none (it would be `adagrad`). The checkpoint names neither.
    first = run_task(tmp_path, extra_optimizers=1, steps=3)
    saved = first["saved"]
    accumulators = sorted(n for n in saved if n.endswith("/accumulator"))
    assert accumulators == ["optimizer/linear/bias_weights/accumulator",
                            "optimizer/linear/x/weights/accumulator"]
    assert not [n for n in saved if "adagrad" in n]
    assert saved["optimizer/iteration"] == 3

    second = run_task(tmp_path, extra_optimizers=0, steps=2)
    for name in accumulators + ["linear/x/weights", "linear/bias_weights"]:
        np.testing.assert_allclose(second["restored"][name], saved[name], rtol=1e-6,
                                   err_msg=name)
    # Initialized at 0.1 and grown by three steps' squared gradients, then two more.
    assert np.all(np.asarray(saved[accumulators[1]]) > 1.0)
    assert np.all(np.asarray(second["saved"][accumulators[1]])
                  > np.asarray(saved[accumulators[1]]))
    assert second["saved"]["global_step"] == 5


def test_names_do_not_depend_on_optimizers_made_before(tmp_path):
    names = []
    for index, extra in enumerate((0, 3)):
        for _ in range(extra):
            keras.optimizers.Adam()
        estimator = el.DNNLinearCombinedRegressor(
            linear_feature_columns=[fc.numeric_column("x")],
            dnn_feature_columns=[fc.numeric_column("x")], dnn_hidden_units=[2],
            linear_optimizer=keras.optimizers.Ftrl(0.1), dnn_optimizer=keras.optimizers.Adam(0.01),
            model_dir=tmp_path / str(index))
        estimator.train(input_fn, steps=1)
        names.append(estimator.get_variable_names())
    assert names[0] == names[1]
    assert "linear_optimizer/linear/x/weights/accumulator" in names[0]
    assert "linear_optimizer/linear/x/weights/linear" in names[0]
    assert "dnn_optimizer/iteration" in names[0]
    assert any(n.startswith("dnn_optimizer/") and n.endswith("/momentum") for n in names[0])


def test_resuming_without_the_optimizer_state_fails_with_the_names(tmp_path):
    el.LinearRegressor(feature_columns=[fc.numeric_column("x")], optimizer="SGD",
                       model_dir=tmp_path).train(input_fn, steps=1)
    resumed = el.LinearRegressor(feature_columns=[fc.numeric_column("x")],
                                 optimizer="Adagrad", model_dir=tmp_path)
    with pytest.raises(ValueError, match=r"Missing from the checkpoint: \[.*"
                                         r"'optimizer/linear/x/weights/accumulator'"):
        resumed.train(input_fn, steps=1)


def test_a_warm_start_says_what_it_skipped(tmp_path, caplog):
    el.LinearRegressor(feature_columns=[fc.numeric_column("x")],
                       model_dir=tmp_path / "old").train(input_fn, steps=1)
    new = el.LinearRegressor(
        feature_columns=[fc.numeric_column("x"), fc.numeric_column("z")],
        model_dir=tmp_path / "new", warm_start_from=str(tmp_path / "old"))
    with caplog.at_level(logging.WARNING, logger="estimator_lib"):
        new.train(lambda: input_fn().map(lambda f, y: ({**f, "z": f["x"]}, y)), steps=1)
    assert "Warm start skipped 1 variable(s) not in" in caplog.text
    assert "linear/z/weights" in caplog.text


def rewrite_checkpoint(model_dir, global_step, **overrides):
    """Rewrites model_dir's latest checkpoint at `global_step`, with some variables replaced
    (a checkpoint whose optimizer counted fewer steps than the model, e.g. a migrated one)."""
    latest = tf.train.latest_checkpoint(str(model_dir))
    values = {name: el.checkpoint.load_variable(latest, name)
              for name in el.checkpoint.list_variables(latest) if name != "global_step"}
    values.update(overrides)
    checkpoint = el.checkpoint.make_checkpoint(
        tf.Variable(global_step, dtype=tf.int64),
        {name: tf.Variable(value) for name, value in values.items()})
    tf.train.CheckpointManager(checkpoint, str(model_dir), max_to_keep=None,
                               checkpoint_name="model.ckpt").save(checkpoint_number=global_step)


@pytest.mark.parametrize("make", [
    lambda d: el.LinearRegressor(feature_columns=[fc.numeric_column("x")], model_dir=d),
    lambda d: el.DNNRegressor(feature_columns=[fc.numeric_column("x")], hidden_units=[2],
                              optimizer=keras.optimizers.Adam(0.01), model_dir=d),
    lambda d: el.DNNLinearCombinedRegressor(
        linear_feature_columns=[fc.numeric_column("x")],
        dnn_feature_columns=[fc.numeric_column("x")], dnn_hidden_units=[2], model_dir=d),
], ids=["linear", "dnn", "wide_and_deep"])
def test_canned_optimizers_count_the_global_step(tmp_path, make):
    # tf.estimator's canned estimators set optimizer.iterations = global_step.
    make(tmp_path).train(input_fn, steps=1)
    counters = [n for n in el.checkpoint.list_variables(tf.train.latest_checkpoint(str(tmp_path)))
                if n.endswith("/iteration")]
    assert counters
    rewrite_checkpoint(tmp_path, 100, **{n: np.int64(0) for n in counters})
    estimator = make(tmp_path)
    estimator.train(input_fn, steps=1)
    assert estimator.get_variable_value("global_step") == 101
    for name in counters:  # Both of wide & deep's optimizers.
        assert estimator.get_variable_value(name) == 101, name


def schedule_model_fn(features, labels, mode):
    # Learning rate 1 for steps < 50, then 0: from step 100 training changes nothing.
    layer = keras.layers.Dense(1, kernel_initializer="ones", name="dense")
    predictions = layer(features["x"])
    loss = tf.reduce_mean(tf.square(predictions - labels))
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([50], [1.0, 0.0])
    return el.EstimatorSpec(mode, predictions=predictions, loss=loss,
                            train_op=keras.optimizers.SGD(schedule))


def test_a_model_fn_learning_rate_schedule_sees_the_global_step(tmp_path):
    estimator = el.Estimator(schedule_model_fn, model_dir=tmp_path)
    estimator.train(input_fn, steps=1)
    rewrite_checkpoint(tmp_path, 100, **{"optimizer/iteration": np.int64(0)})
    kernel = estimator.get_variable_value("dense/kernel")
    estimator.train(input_fn, steps=1)
    # At step 100 the schedule's rate is 0 (its own counter, 0, would give rate 1).
    np.testing.assert_array_equal(estimator.get_variable_value("dense/kernel"), kernel)
    assert estimator.get_variable_value("optimizer/iteration") == 101
