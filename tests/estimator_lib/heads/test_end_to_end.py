"""Every head with the real Estimator: train, evaluate, predict, export and serve.

The model_fn is the canonical one: a Dense layer of head.logits_dimension units, the rest
left to the head. The export is queried through tf.saved_model.load with serialized
tf.Example, the way TF Serving's Classify/Regress/Predict APIs call it.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

import estimator_lib as el
from estimator_lib import heads

RNG = np.random.default_rng(0)
X = RNG.normal(size=(256, 3)).astype(np.float32)
SCORE = X @ np.array([1.0, -2.0, 0.5], np.float32)
WEIGHTS = RNG.uniform(0.5, 2.0, size=256).astype(np.float32)
FEATURE_SPEC = {"x": tf.io.FixedLenFeature([3], tf.float32)}
CONFIG = el.RunConfig(log_step_count_steps=None, save_checkpoints_secs=None, steps_per_loop=100)
CLASSIFY, REGRESS, PREDICT = ("tensorflow/serving/classify", "tensorflow/serving/regress",
                              "tensorflow/serving/predict")

CASES = {
    "binary": dict(
        head=lambda: heads.BinaryClassHead(weight_column="w", thresholds=[0.5],
                                           label_vocabulary=["no", "yes"]),
        labels=np.where(SCORE > 0, "yes", "no")[:, None],
        signatures={"serving_default": CLASSIFY, "classification": CLASSIFY,
                    "regression": REGRESS, "predict": PREDICT},
        quality=("auc", 0.9)),
    "multi_class": dict(
        head=lambda: heads.MultiClassHead(3),
        labels=np.digitize(SCORE, [-1.0, 1.0]).astype(np.int64),
        signatures={"serving_default": CLASSIFY, "classification": CLASSIFY, "predict": PREDICT},
        quality=("accuracy", 0.7)),
    "regression": dict(
        head=lambda: heads.RegressionHead(weight_column="w"),
        labels=SCORE[:, None],
        signatures={"serving_default": REGRESS, "regression": REGRESS, "predict": PREDICT},
        quality=None),
    "multi_label": dict(
        head=lambda: heads.MultiLabelHead(3, thresholds=[0.5]),
        labels=(X > 0).astype(np.int64),
        signatures={"serving_default": CLASSIFY, "classification": CLASSIFY, "predict": PREDICT},
        quality=("auc", 0.9)),
}


def _model_fn(head):
    def model_fn(features, labels, mode):
        logits = keras.layers.Dense(head.logits_dimension)(features["x"])
        return head.create_estimator_spec(features, mode, logits, labels,
                                          optimizer=keras.optimizers.Adagrad(0.1))

    return model_fn


def _input_fn(labels, repeat):
    def input_fn():
        dataset = tf.data.Dataset.from_tensor_slices(({"x": X, "w": WEIGHTS}, labels))
        return (dataset.repeat() if repeat else dataset).batch(32)

    return input_fn


def _serialized_examples(n):
    return [tf.train.Example(features=tf.train.Features(feature={
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=row.tolist()))}))
        .SerializeToString() for row in X[:n]]


def _method_names(export_dir):
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    return {k: v.method_name for k, v in proto.meta_graphs[0].signature_def.items()
            if not k.startswith("__")}


@pytest.fixture(scope="module", params=sorted(CASES))
def trained(request, tmp_path_factory):
    case = CASES[request.param]
    head = case["head"]()
    estimator = el.Estimator(_model_fn(head), config=CONFIG,
                             model_dir=str(tmp_path_factory.mktemp(request.param)))
    estimator.train(_input_fn(case["labels"], repeat=True), steps=300)
    return request.param, head, estimator


def test_evaluate_reports_every_head_metric(trained):
    name, head, estimator = trained
    case = CASES[name]
    results = estimator.evaluate(_input_fn(case["labels"], repeat=False))
    assert set(results) == {"loss", "global_step"} | set(head.metrics())
    assert results["global_step"] == 300
    assert all(np.isfinite(v) for v in results.values())
    if case["quality"] is not None:
        metric, at_least = case["quality"]
        assert results[metric] >= at_least, results
    else:  # Regression: far below the variance of the labels.
        assert results["average_loss"] < 0.2 * np.var(SCORE), results
    if name == "binary":
        assert results["accuracy"] > results["accuracy_baseline"]


def test_predict_yields_head_predictions(trained):
    name, head, estimator = trained
    rows = list(estimator.predict(
        lambda: tf.data.Dataset.from_tensor_slices({"x": X[:10]}).batch(4)))
    assert len(rows) == 10
    assert set(rows[0]) == set(head.predictions(np.zeros([1, head.logits_dimension], np.float32)))
    if name == "binary":
        assert {r["classes"][0] for r in rows} <= {b"no", b"yes"}
        np.testing.assert_allclose([r["probabilities"].sum() for r in rows], 1.0, rtol=1e-5)
        agreement = np.mean([(r["classes"][0] == b"yes") == (s > 0) for r, s in zip(rows, SCORE[:10], strict=True)])
        assert agreement >= 0.8


def test_export_serves_classify_regress_and_predict(trained, tmp_path):
    name, head, estimator = trained
    export_dir = estimator.export_saved_model(
        str(tmp_path), el.export.build_parsing_serving_input_receiver_fn(FEATURE_SPEC))
    assert _method_names(export_dir) == CASES[name]["signatures"]
    batch = next(estimator.predict(
        lambda: tf.data.Dataset.from_tensor_slices({"x": X[:5]}).batch(5),
        yield_single_examples=False))
    model = tf.saved_model.load(export_dir)
    examples = tf.constant(_serialized_examples(5))
    predicted = model.signatures["predict"](examples=examples)
    assert set(predicted) == set(batch)
    for key, value in batch.items():
        if value.dtype.kind == "f":
            np.testing.assert_allclose(predicted[key].numpy(), value, rtol=1e-5, err_msg=key)
        else:
            np.testing.assert_array_equal(predicted[key].numpy(), value, err_msg=key)
    if "classification" in CASES[name]["signatures"]:
        classified = model.signatures["classification"](inputs=examples)
        np.testing.assert_allclose(classified["scores"], batch["probabilities"], rtol=1e-5)
        expected = batch["all_classes"] if "all_classes" in batch else batch["classes"]
        np.testing.assert_array_equal(classified["classes"].numpy(), expected)
    if "regression" in CASES[name]["signatures"]:
        regressed = model.signatures["regression"](inputs=examples)["outputs"].numpy()
        expected = batch["logistic"] if "logistic" in batch else batch["predictions"]
        np.testing.assert_allclose(regressed, expected[:, 0], rtol=1e-5)


@pytest.mark.slow  # About 15 s: a strategy builds every model twice.
def test_label_vocabulary_under_a_distribution_strategy(tmp_path):
    # Under a strategy the Estimator builds the model on a placeholder batch of empty
    # strings, which must not trip the vocabulary check; real bad labels still must.
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    config = CONFIG.replace(train_distribute=strategy, eval_distribute=strategy)
    head = heads.BinaryClassHead(label_vocabulary=["no", "yes"])
    estimator = el.Estimator(_model_fn(head), config=config, model_dir=str(tmp_path))
    labels = CASES["binary"]["labels"]
    estimator.train(_input_fn(labels, repeat=True), steps=20)
    assert estimator.evaluate(_input_fn(labels, repeat=False))["global_step"] == 20
    with pytest.raises(tf.errors.InvalidArgumentError, match="received unknown labels"):
        estimator.evaluate(_input_fn(np.where(labels == "yes", "maybe", labels), repeat=False))
