"""Estimator: train / evaluate / predict / checkpoints / warm start / bad input."""

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
from tests.estimator_lib import toy

FAST = el.RunConfig(log_step_count_steps=None, save_checkpoints_steps=None,
                    save_checkpoints_secs=None, steps_per_loop=20)


def make(tmp_path, model_fn=toy.model_fn, params=None, config=FAST, **kwargs):
    return el.Estimator(model_fn, model_dir=str(tmp_path / "model"), config=config,
                        params=params, **kwargs)


def test_train_steps_add_up_and_max_steps_is_absolute(tmp_path):
    estimator = make(tmp_path)
    assert estimator.train(toy.train_input_fn, steps=30) is estimator
    assert estimator.get_variable_value("global_step") == 30
    estimator.train(toy.train_input_fn, steps=25)
    assert estimator.get_variable_value("global_step") == 55
    estimator.train(toy.train_input_fn, max_steps=40)  # already past: no training
    assert estimator.get_variable_value("global_step") == 55
    estimator.train(toy.train_input_fn, max_steps=61)
    assert estimator.get_variable_value("global_step") == 61
    assert estimator.latest_checkpoint().endswith("model.ckpt-61")


def test_train_until_input_ends(tmp_path):
    estimator = make(tmp_path)
    estimator.train(lambda: toy.eval_input_fn(batch_size=32))  # 256 examples -> 8 batches
    assert estimator.get_variable_value("global_step") == 8


def test_training_learns_and_evaluate_reports_metrics(tmp_path):
    estimator = make(tmp_path, params={"learning_rate": 0.5})
    before_training = None
    estimator.train(toy.train_input_fn, steps=1)
    before_training = estimator.evaluate(toy.eval_input_fn)
    estimator.train(toy.train_input_fn, steps=300)
    results = estimator.evaluate(toy.eval_input_fn)
    assert set(results) == {"loss", "accuracy", "global_step"}
    assert results["global_step"] == 301
    assert results["loss"] < before_training["loss"] * 0.5
    assert results["accuracy"] > 0.95
    # The reported loss is the mean of the per-batch losses over the whole input.
    logits = np.concatenate([p["logits"] for p in estimator.predict(
        toy.eval_input_fn, yield_single_examples=False)])
    per_example = np.maximum(logits, 0) - logits * toy.Y + np.log1p(np.exp(-np.abs(logits)))
    batch_means = [per_example[i:i + 64].mean() for i in range(0, 256, 64)]
    np.testing.assert_allclose(results["loss"], np.mean(batch_means), rtol=1e-4)
    accuracy = np.mean((logits > 0) == (toy.Y > 0.5))
    np.testing.assert_allclose(results["accuracy"], accuracy, rtol=1e-6)


def test_evaluate_steps_and_named_eval_dir(tmp_path):
    estimator = make(tmp_path).train(toy.train_input_fn, steps=5)
    estimator.evaluate(toy.train_input_fn, steps=3, name="validation")
    assert os.listdir(os.path.join(estimator.model_dir, "eval_validation"))
    metrics = el.early_stopping.read_eval_metrics(estimator.eval_dir("validation"))
    assert set(metrics[5]) == {"loss", "accuracy"}


def test_evaluate_a_chosen_checkpoint(tmp_path):
    config = FAST.replace(save_checkpoints_steps=10, keep_checkpoint_max=None)
    estimator = make(tmp_path, config=config, params={"learning_rate": 0.5})
    estimator.train(toy.train_input_fn, steps=30)
    first = os.path.join(estimator.model_dir, "model.ckpt-10")
    early = estimator.evaluate(toy.eval_input_fn, checkpoint_path=first)
    late = estimator.evaluate(toy.eval_input_fn)
    assert early["global_step"] == 10 and late["global_step"] == 30
    assert early["loss"] > late["loss"]
    # The cached EVAL model reads the chosen checkpoint again.
    again = estimator.evaluate(toy.eval_input_fn, checkpoint_path=first)
    assert again["loss"] == early["loss"] and again["accuracy"] == early["accuracy"]


def test_repeated_evaluate_reuses_the_traced_model(tmp_path):
    calls = []

    def counting_model_fn(features, labels, mode):
        calls.append(str(mode))
        return toy.model_fn(features, labels, mode)

    estimator = make(tmp_path, model_fn=counting_model_fn).train(toy.train_input_fn, steps=5)
    first = estimator.evaluate(toy.eval_input_fn)
    traced = calls.count("eval")
    second = estimator.evaluate(toy.eval_input_fn)
    assert calls.count("eval") == traced  # nothing traced again
    assert first == second  # metric state was reset, not accumulated
    estimator.train(toy.train_input_fn, steps=5)
    third = estimator.evaluate(toy.eval_input_fn)
    assert third["global_step"] == 10 and third["loss"] != first["loss"]


def test_fresh_train_evaluate_and_predict_call_model_fn_once(tmp_path):
    """Each method builds its model in the trace it runs (no eager build call)."""
    calls = []

    def counting_model_fn(features, labels, mode):
        calls.append(str(mode))
        return toy.model_fn(features, labels, mode, params={"learning_rate": 0.5})

    make(tmp_path, model_fn=counting_model_fn).train(toy.train_input_fn, steps=50)
    assert calls == ["train"]
    calls.clear()
    expected = make(tmp_path).evaluate(toy.eval_input_fn)
    fresh = make(tmp_path, model_fn=counting_model_fn)
    assert fresh.evaluate(toy.eval_input_fn) == expected
    assert calls == ["eval"]
    predictions = list(fresh.predict(toy.eval_input_fn, yield_single_examples=False))
    assert calls == ["eval", "infer"]
    logits = np.concatenate([p["logits"] for p in predictions])
    assert logits.shape == toy.Y.shape and np.mean((logits > 0) == (toy.Y > 0.5)) == pytest.approx(
        expected["accuracy"])


def test_variable_initialized_from_the_trace_falls_back_to_an_eager_build(tmp_path, caplog):
    """A variable whose initial value is computed in the trace cannot be created outside it."""

    def model_fn(features, labels, mode):
        spec = toy.model_fn(features, labels, mode)
        seen = tf.Variable(tf.random.uniform([]) * 0.0, trainable=False, name="seen")
        if mode == el.ModeKeys.PREDICT:
            return spec
        return el.EstimatorSpec(mode, loss=spec.loss + seen, train_op=spec.train_op,
                                eval_metric_ops=spec.eval_metric_ops,
                                predictions=spec.predictions)

    estimator = make(tmp_path, model_fn=model_fn).train(toy.train_input_fn, steps=5)
    with caplog.at_level(logging.DEBUG, logger="estimator_lib"):
        results = make(tmp_path, model_fn=model_fn).evaluate(toy.eval_input_fn)
    assert "Building the EVAL model eagerly" in caplog.text
    assert results["global_step"] == 5 and np.isfinite(results["loss"])
    assert estimator.get_variable_value("seen") == 0.0
    # Exports trace without lifting then, and the SavedModel still serves.
    receiver_fn = el.export.build_parsing_serving_input_receiver_fn(toy.FEATURE_SPEC)
    export_dir = estimator.export_saved_model(str(tmp_path / "export"), receiver_fn)
    served = tf.saved_model.load(export_dir).signatures["serving_default"](
        examples=tf.constant(toy.serialized_examples(4)))
    expected = np.concatenate([p["logits"] for p in estimator.predict(
        lambda: toy.predict_input_fn(n=4), yield_single_examples=False)])
    np.testing.assert_allclose(served["logits"].numpy(), expected, rtol=1e-5)


def test_value_and_update_op_metric_pairs(tmp_path):
    """TF1-style eval_metric_ops: the value is read after the last batch's update_op."""

    def model_fn(features, labels, mode):
        spec = toy.model_fn(features, labels, mode)
        if mode != el.ModeKeys.EVAL:
            return spec
        # A running count of examples in a non-trainable variable (TF1's local variable).
        count = tf.Variable(0.0, trainable=False, name="example_count")
        update = count.assign_add(tf.cast(tf.shape(labels)[0], tf.float32))
        batch_max = tf.reduce_max(features["x"])  # A stateless value: the last batch's.
        return el.EstimatorSpec(mode, loss=spec.loss, eval_metric_ops={
            **spec.eval_metric_ops, "examples": (count.read_value(), update),
            "last_batch_max": (batch_max, None)})

    estimator = make(tmp_path, model_fn=model_fn).train(toy.train_input_fn, steps=5)
    results = estimator.evaluate(lambda: toy.eval_input_fn(batch_size=100))  # 100, 100, 56
    assert results["examples"] == 256.0
    assert results["last_batch_max"] == pytest.approx(toy.X[200:].max())
    assert 0.0 <= results["accuracy"] <= 1.0
    again = estimator.evaluate(lambda: toy.eval_input_fn(batch_size=100), steps=2)
    assert again["examples"] == 200.0  # A new model each call: the count starts at zero.


def test_model_fn_with_and_without_params_and_config(tmp_path):
    seen = {}

    def with_everything(features, labels, mode, params, config):
        seen["params"], seen["config"] = params, config
        return toy.model_fn(features, labels, mode, params)

    def minimal(features, labels, mode):
        return toy.model_fn(features, labels, mode)

    make(tmp_path / "a", model_fn=with_everything, params={"learning_rate": 0.2}).train(
        toy.train_input_fn, steps=2)
    assert seen["params"] == {"learning_rate": 0.2}
    assert isinstance(seen["config"], el.RunConfig)
    assert seen["config"].model_dir == str(tmp_path / "a" / "model")
    make(tmp_path / "b", model_fn=minimal).train(toy.train_input_fn, steps=2)


def test_input_fn_receives_params_config_and_mode(tmp_path):
    received = {}

    def input_fn(params, config, mode):
        received.update(params=params, config=config, mode=mode)
        return toy.train_input_fn(batch_size=params["batch_size"])

    estimator = make(tmp_path, params={"batch_size": 16})
    estimator.train(input_fn, steps=2)
    assert received["params"]["batch_size"] == 16
    assert received["mode"] == el.ModeKeys.TRAIN
    assert received["config"] is estimator.config


def test_dropout_only_in_train(tmp_path):
    estimator = make(tmp_path, params={"dropout": 0.9}).train(toy.train_input_fn, steps=3)
    first = [p["logits"] for p in estimator.predict(toy.predict_input_fn)]
    second = [p["logits"] for p in estimator.predict(toy.predict_input_fn)]
    np.testing.assert_array_equal(first, second)  # no dropout when predicting
    assert estimator.evaluate(toy.eval_input_fn) == estimator.evaluate(toy.eval_input_fn)
    modes = []

    def spy(features, labels, mode, params):
        modes.append(mode)
        hidden = keras.layers.Dense(4)(features["x"])
        noisy = keras.layers.Dropout(0.5)(hidden, training=mode == el.ModeKeys.TRAIN)
        fraction_zero = tf.reduce_mean(tf.cast(tf.equal(noisy, 0.0), tf.float32))
        loss = tf.reduce_mean(tf.square(noisy)) * 0.0 + tf.reduce_mean(hidden) * 0.0
        return el.EstimatorSpec(mode, loss=loss, predictions={"zeros": fraction_zero[None]},
                                train_op=keras.optimizers.SGD(0.0))

    spied = make(tmp_path / "spy", model_fn=spy)
    recorded = []

    class Fetch(el.Hook):
        def before_run(self, run_context):
            return el.RunArgs("zeros")

        def after_run(self, run_context, run_values):
            recorded.append(float(run_values.results[0]))

    spied.train(toy.train_input_fn, steps=20, hooks=[Fetch()])
    assert 0.3 < np.mean(recorded) < 0.7  # about half the units dropped in TRAIN
    zeros = [p["zeros"] for p in spied.predict(lambda: toy.predict_input_fn(8, 8),
                                               yield_single_examples=False)]
    assert float(zeros[0][0]) < 0.05
    assert el.ModeKeys.PREDICT in modes


def test_predict_shapes_keys_and_batches(tmp_path):
    estimator = make(tmp_path).train(toy.train_input_fn, steps=3)
    single = list(estimator.predict(toy.predict_input_fn))
    assert len(single) == 10
    assert set(single[0]) == {"logits", "probabilities", "class_ids"}
    assert single[0]["logits"].shape == (1,) and single[0]["class_ids"].dtype == np.int64
    batches = list(estimator.predict(toy.predict_input_fn, yield_single_examples=False))
    assert [b["logits"].shape for b in batches] == [(4, 1), (4, 1), (2, 1)]
    only = list(estimator.predict(toy.predict_input_fn, predict_keys="probabilities"))
    assert set(only[0]) == {"probabilities"}
    np.testing.assert_allclose(only[3]["probabilities"], single[3]["probabilities"])
    with pytest.raises(ValueError, match=r"`predict_keys` \['nope'\] are not among"):
        list(estimator.predict(toy.predict_input_fn, predict_keys=["nope"]))
    # Labels in the predict input are ignored.
    with_labels = list(estimator.predict(lambda: toy.eval_input_fn(batch_size=5)))
    assert len(with_labels) == 256


def test_predict_single_tensor_predictions(tmp_path):
    def model_fn(features, labels, mode):
        logits = keras.layers.Dense(2)(features["x"])
        if mode == el.ModeKeys.PREDICT:
            return el.EstimatorSpec(mode, predictions=logits)
        loss = tf.reduce_mean(tf.square(logits))
        return el.EstimatorSpec(mode, loss=loss, train_op=keras.optimizers.SGD(0.1))

    estimator = make(tmp_path, model_fn=model_fn).train(toy.train_input_fn, steps=2)
    rows = list(estimator.predict(toy.predict_input_fn))
    assert len(rows) == 10 and rows[0].shape == (2,)


def test_variables_and_checkpoints(tmp_path):
    estimator = make(tmp_path).train(toy.train_input_fn, steps=4)
    names = estimator.get_variable_names()
    assert {"global_step", "dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"} <= set(names)
    assert not any("accuracy" in name for name in names)  # metric state is not saved
    assert estimator.get_variable_value("dense/kernel").shape == (3, 8)
    with pytest.raises(ValueError, match="has no variable 'nope'"):
        estimator.get_variable_value("nope")
    # A different process sees the same checkpoint and computes the same evaluation.
    code = (
        "import json, estimator_lib as el\n"
        "from tests.estimator_lib import toy\n"
        f"e = el.Estimator(toy.model_fn, model_dir={estimator.model_dir!r})\n"
        "r = e.evaluate(toy.eval_input_fn)\n"
        "print(json.dumps({k: float(v) for k, v in r.items()}))\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    remote = json.loads(output.stdout.strip().splitlines()[-1])
    local = estimator.evaluate(toy.eval_input_fn)
    assert remote == pytest.approx({k: float(v) for k, v in local.items()}, rel=1e-6)


def test_warm_start_from_path_and_settings(tmp_path):
    source = make(tmp_path / "source").train(toy.train_input_fn, steps=20)
    frozen = {"learning_rate": 0.0}
    target = make(tmp_path / "target", params=frozen, warm_start_from=source.model_dir)
    target.train(toy.train_input_fn, steps=1)
    for name in ("dense/kernel", "dense_1/bias"):
        np.testing.assert_array_equal(target.get_variable_value(name), source.get_variable_value(name))
    assert target.get_variable_value("global_step") == 1  # the step is not warm-started

    partial = make(tmp_path / "partial", params=frozen, warm_start_from=el.WarmStartSettings(
        source.latest_checkpoint(), vars_to_warm_start="dense/.*"))
    partial.train(toy.train_input_fn, steps=1)
    np.testing.assert_array_equal(partial.get_variable_value("dense/kernel"),
                                  source.get_variable_value("dense/kernel"))
    assert not np.array_equal(partial.get_variable_value("dense_1/kernel"),
                              source.get_variable_value("dense_1/kernel"))

    def renamed_model_fn(features, labels, mode, params):
        logits = keras.layers.Dense(1, name="out")(features["x"])
        loss = tf.reduce_mean(tf.square(logits - labels))
        return el.EstimatorSpec(mode, loss=loss, predictions={"y": logits},
                                train_op=keras.optimizers.SGD(0.0))

    linear = make(tmp_path / "linear", model_fn=renamed_model_fn).train(toy.train_input_fn, steps=3)
    renamed = make(tmp_path / "renamed", model_fn=renamed_model_fn, warm_start_from=el.WarmStartSettings(
        linear.model_dir, vars_to_warm_start=["out/kernel"],
        var_name_to_prev_var_name={"out/kernel": "out/kernel"}))
    renamed.train(toy.train_input_fn, steps=1)
    np.testing.assert_array_equal(renamed.get_variable_value("out/kernel"),
                                  linear.get_variable_value("out/kernel"))
    bad = make(tmp_path / "bad", model_fn=renamed_model_fn, warm_start_from=el.WarmStartSettings(
        linear.model_dir, vars_to_warm_start=["out/kernel"],
        var_name_to_prev_var_name={"out/kernel": "missing/kernel"}))
    with pytest.raises(ValueError, match="'missing/kernel'.*is not in checkpoint"):
        bad.train(toy.train_input_fn, steps=1)


def test_warm_start_from_a_legacy_name_based_checkpoint(tmp_path):
    """A tf.estimator (TF1 Saver) checkpoint keys variables by name: a model migrating
    from it maps its names onto them."""
    kernel = np.arange(3, dtype=np.float32).reshape(3, 1) + 0.5  # toy features: 3 wide
    with tf.Graph().as_default():
        tf.compat.v1.get_variable("dnn/logits/kernel", initializer=kernel)
        tf.compat.v1.get_variable("dnn/logits/bias", initializer=np.array([-3.0], np.float32))
        tf.compat.v1.train.get_or_create_global_step()
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            legacy = tf.compat.v1.train.Saver().save(session, str(tmp_path / "legacy" / "model.ckpt"))

    def model_fn(features, labels, mode):
        logits = keras.layers.Dense(1, name="out")(features["x"])
        loss = tf.reduce_mean(tf.square(logits - labels))
        return el.EstimatorSpec(mode, loss=loss, predictions={"y": logits},
                                train_op=keras.optimizers.SGD(0.0))

    renames = {"out/kernel": "dnn/logits/kernel", "out/bias": "dnn/logits/bias"}
    migrated = make(tmp_path / "migrated", model_fn=model_fn, warm_start_from=el.WarmStartSettings(
        legacy, vars_to_warm_start=list(renames), var_name_to_prev_var_name=renames))
    migrated.train(toy.train_input_fn, steps=1)
    np.testing.assert_array_equal(migrated.get_variable_value("out/kernel"), kernel)
    np.testing.assert_array_equal(migrated.get_variable_value("out/bias"), [-3.0])
    assert el.checkpoint.load_variable(legacy, "dnn/logits/bias") == [-3.0]


def test_warm_start_skips_variables_whose_shape_changed_only_when_asked(tmp_path, caplog):
    def model_fn(features, labels, mode, params):
        hidden = keras.layers.Dense(params["units"], name="hidden")(features["x"])
        logits = keras.layers.Dense(1, name="out")(hidden)
        loss = tf.reduce_mean(tf.square(logits - labels))
        return el.EstimatorSpec(mode, loss=loss, predictions={"y": logits},
                                train_op=keras.optimizers.SGD(0.0))

    small = make(tmp_path / "small", model_fn=model_fn, params={"units": 4})
    small.train(toy.train_input_fn, steps=2)
    strict = make(tmp_path / "strict", model_fn=model_fn, params={"units": 4},
                  warm_start_from=small.model_dir)
    strict.train(toy.train_input_fn, steps=1)  # same shapes: fine
    wider = make(tmp_path / "wider", model_fn=model_fn, params={"units": 5},
                 warm_start_from=small.model_dir)
    with pytest.raises(ValueError, match="'hidden/kernel' has shape \\[3, 5\\]"):
        wider.train(toy.train_input_fn, steps=1)
    lenient = make(tmp_path / "lenient", model_fn=model_fn, params={"units": 5},
                   warm_start_from=el.WarmStartSettings(small.model_dir, skip_mismatch=True))
    with caplog.at_level("WARNING", logger="estimator_lib"):
        lenient.train(toy.train_input_fn, steps=1)
    assert "hidden/kernel (model [3, 5], checkpoint [3, 4])" in caplog.text
    # out/bias kept its shape, so it was warm-started (SGD(0) leaves it as it was).
    np.testing.assert_array_equal(lenient.get_variable_value("out/bias"),
                                  small.get_variable_value("out/bias"))


def test_predictor_matches_predict(tmp_path):
    estimator = make(tmp_path).train(toy.train_input_fn, steps=10)
    predictor = estimator.predictor(
        el.export.build_raw_serving_input_receiver_fn({"x": tf.TensorSpec([None, 3], tf.float32)}))
    out = predictor({"x": toy.X[:10]})
    expected = np.concatenate([b["probabilities"] for b in estimator.predict(
        toy.predict_input_fn, yield_single_examples=False)])
    np.testing.assert_allclose(out["probabilities"], expected, rtol=1e-6)
    estimator.train(toy.train_input_fn, steps=10)
    assert predictor.reload().endswith("-20")
    assert not np.allclose(predictor({"x": toy.X[:10]})["probabilities"], expected)


# -- bad input: clear errors, nothing corrupted ------------------------------------------------------

def test_model_fn_missing_loss_in_train(tmp_path):
    def no_loss(features, labels, mode):
        return el.EstimatorSpec(mode, predictions={"x": features["x"]}, train_op=keras.optimizers.SGD())

    with pytest.raises(ValueError, match=r"mode TRAIN requires `loss`"):
        make(tmp_path, model_fn=no_loss).train(toy.train_input_fn, steps=1)
    assert not os.path.exists(os.path.join(tmp_path, "model", "checkpoint"))


def test_model_fn_returning_the_wrong_type(tmp_path):
    with pytest.raises(TypeError, match="must return an EstimatorSpec.*returned dict"):
        make(tmp_path, model_fn=lambda features, labels, mode: {"loss": 1.0}).train(
            toy.train_input_fn, steps=1)


def test_model_fn_signature_checked_at_construction(tmp_path):
    with pytest.raises(ValueError, match="lacks \\['mode'\\]"):
        el.Estimator(lambda features, labels: None, model_dir=str(tmp_path))
    with pytest.raises(TypeError, match="must be callable"):
        el.Estimator("not a function", model_dir=str(tmp_path))


@pytest.mark.parametrize("bad_input, message", [
    (lambda: [1, 2, 3], "input_fn must return a tf.data.Dataset"),
    (lambda: tf.data.Dataset.from_tensor_slices(({"x": toy.X}, toy.Y, toy.Y)), "tuple of 3"),
])
def test_input_fn_with_the_wrong_structure(tmp_path, bad_input, message):
    with pytest.raises(TypeError, match=message):
        make(tmp_path).train(bad_input, steps=1)


@pytest.mark.parametrize("method", ["evaluate", "predict", "export"])
def test_methods_that_need_a_checkpoint(tmp_path, method):
    estimator = make(tmp_path)
    with pytest.raises(ValueError, match="has no checkpoint. Train first"):
        if method == "evaluate":
            estimator.evaluate(toy.eval_input_fn)
        elif method == "predict":
            list(estimator.predict(toy.predict_input_fn))
        else:
            estimator.export_saved_model(str(tmp_path / "export"),
                                         el.export.build_parsing_serving_input_receiver_fn(toy.FEATURE_SPEC))


def test_nan_loss_stops_without_touching_the_checkpoint(tmp_path):
    estimator = make(tmp_path).train(toy.train_input_fn, steps=5)
    before = estimator.latest_checkpoint()
    kernel = estimator.get_variable_value("dense/kernel")

    def nan_input_fn():
        return tf.data.Dataset.from_tensor_slices(({"x": toy.X}, toy.Y * np.nan)).repeat().batch(8)

    with pytest.raises(el.NanLossDuringTrainingError, match="NaN or infinite loss"):
        estimator.train(nan_input_fn, steps=10)
    assert estimator.latest_checkpoint() == before
    np.testing.assert_array_equal(estimator.get_variable_value("dense/kernel"), kernel)
    assert estimator.evaluate(toy.eval_input_fn)["global_step"] == 5


def test_model_dir_that_is_a_file(tmp_path):
    path = tmp_path / "file"
    path.write_text("not a directory")
    with pytest.raises(ValueError, match="is a file, not a directory"):
        el.Estimator(toy.model_fn, model_dir=str(path))


def test_changed_model_does_not_restore_silently(tmp_path):
    estimator = make(tmp_path).train(toy.train_input_fn, steps=2)

    def wider(features, labels, mode, params=None):
        logits = keras.layers.Dense(1)(keras.layers.Dense(16)(features["x"]))
        loss = tf.reduce_mean(tf.square(logits - labels))
        return el.EstimatorSpec(mode, loss=loss, train_op=keras.optimizers.SGD(0.1))

    changed = el.Estimator(wider, model_dir=estimator.model_dir, config=FAST)
    with pytest.raises(ValueError, match=r"does not match checkpoint.*dense_1/kernel: model \[3, 16\]"):
        changed.train(toy.train_input_fn, steps=1)
    assert estimator.get_variable_value("global_step") == 2


def test_bad_arguments(tmp_path):
    estimator = make(tmp_path)
    with pytest.raises(ValueError, match="at most one of `steps` and `max_steps`"):
        estimator.train(toy.train_input_fn, steps=1, max_steps=2)
    with pytest.raises(ValueError, match=r"`steps` \(0\) must be a positive integer"):
        estimator.train(toy.train_input_fn, steps=0)
    with pytest.raises(TypeError, match="Hooks must be el.Hook"):
        estimator.train(toy.train_input_fn, steps=1, hooks=[object()])
    with pytest.raises(TypeError, match="`config` must be an el.RunConfig"):
        el.Estimator(toy.model_fn, config={"model_dir": "x"})


def test_python_control_flow_on_tensors_in_model_fn(tmp_path):
    """model_fn is AutoGraph-converted: `if` and `for` on tensors become graph control flow."""

    def model_fn(features, labels, mode):
        logits = keras.layers.Dense(1)(features["x"])
        if tf.reduce_mean(features["x"]) > 100.0:  # never true for this data
            logits = logits * 0.0
        total = tf.constant(0.0)
        for i in tf.range(3):
            total += tf.cast(i, tf.float32)
        predictions = {"logits": logits, "total": tf.fill(tf.shape(logits), total)}
        if mode == el.ModeKeys.PREDICT:
            return el.EstimatorSpec(mode, predictions=predictions)
        loss = tf.reduce_mean(tf.square(logits - labels))
        return el.EstimatorSpec(mode, loss=loss, train_op=keras.optimizers.SGD(0.1))

    estimator = make(tmp_path, model_fn=model_fn).train(toy.train_input_fn, steps=3)
    row = next(estimator.predict(toy.predict_input_fn))
    assert row["total"][0] == 3.0 and row["logits"][0] != 0.0


def test_only_the_users_model_fn_is_autograph_converted(tmp_path):
    """AutoGraph conversion costs time at construction and at every trace; the canned
    estimators' model_fns are library code written with TensorFlow ops."""
    user = make(tmp_path / "user")
    assert user._converted_model_fn is not toy.model_fn
    canned = el.DNNClassifier([4], [el.feature_column.numeric_column("x", shape=(3,))],
                              model_dir=str(tmp_path / "canned"))
    assert canned._converted_model_fn is canned._model_fn


@pytest.mark.parametrize("repeat", [True, False], ids=["endless_input", "finite_input"])
def test_training_summaries_are_tagged_as_named(tmp_path, repeat):
    """The loop's `while/` and `cond/` scopes do not leak into TensorBoard tags."""

    def model_fn(features, labels, mode):
        tf.summary.scalar("mean_x", tf.reduce_mean(features["x"]))
        return toy.model_fn(features, labels, mode)

    def input_fn():
        dataset = tf.data.Dataset.from_tensor_slices(({"x": toy.X}, toy.Y)).batch(32)
        return dataset.repeat() if repeat else dataset

    config = el.RunConfig(log_step_count_steps=None, save_checkpoints_secs=None,
                          save_summary_steps=2)
    estimator = el.Estimator(model_fn, model_dir=str(tmp_path / "m"), config=config)
    estimator.train(input_fn, steps=4)
    tags = {value.tag
            for path in tf.io.gfile.glob(str(tmp_path / "m" / "events.out.tfevents.*"))
            for event in tf.compat.v1.train.summary_iterator(path)
            for value in event.summary.value}
    assert {"loss", "mean_x"} <= tags, tags
    assert not [t for t in tags if "/" in t and t.split("/")[0] in ("while", "cond")], tags


def test_the_loss_summary_is_written_at_each_loop_reaching_a_multiple(tmp_path):
    config = el.RunConfig(log_step_count_steps=None, save_checkpoints_secs=None,
                          save_summary_steps=10, steps_per_loop=4)
    model_dir = tmp_path / "m"
    el.Estimator(toy.model_fn, model_dir=str(model_dir), config=config).train(
        toy.train_input_fn, steps=30)  # Loops end at 4, 8, 12, ..., 28, 30.
    steps = sorted(event.step
                   for path in tf.io.gfile.glob(str(model_dir / "events.out.tfevents.*"))
                   for event in tf.compat.v1.train.summary_iterator(path)
                   for value in event.summary.value if value.tag == "loss")
    assert steps == [12, 20, 30], steps


def test_a_seeded_estimator_predicts_the_same_random_draws_in_every_object(tmp_path):
    """Random ops in model_fn follow tf_random_seed: a second Estimator object with the
    same seed (which finds TensorFlow's global seed already set and leaves it, and TF's
    caches, alone) draws the same values as the first; another seed draws others."""

    def model_fn(features, labels, mode):
        logits = keras.layers.Dense(1, name="out")(features["x"])
        noise = tf.random.uniform(tf.shape(logits), seed=7)  # A user's sampling head.
        if mode == el.ModeKeys.PREDICT:
            return el.EstimatorSpec(mode, predictions={"noise": noise, "logits": logits})
        loss = tf.reduce_mean(tf.square(logits - labels))
        return el.EstimatorSpec(mode, loss=loss, train_op=keras.optimizers.SGD(0.1))

    def draws(seed):
        config = el.RunConfig(tf_random_seed=seed, log_step_count_steps=None)
        estimator = el.Estimator(model_fn, model_dir=str(tmp_path / "model"), config=config)
        return np.concatenate([p["noise"] for p in estimator.predict(
            toy.predict_input_fn, yield_single_examples=False)])

    el.Estimator(model_fn, model_dir=str(tmp_path / "model"),
                 config=el.RunConfig(tf_random_seed=3)).train(toy.train_input_fn, steps=2)
    first, second = draws(3), draws(3)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, draws(4))
