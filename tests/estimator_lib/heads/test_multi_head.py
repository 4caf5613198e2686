"""MultiHead: the weighted loss, prefixed predictions, per-head metrics and exports; and the
paper's example, two multi-class heads on one network, through the real Estimator."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

import estimator_lib as el
from estimator_lib.heads import BinaryClassHead, MultiClassHead, MultiHead, RegressionHead
from tests.estimator_lib.heads import reference as ref

COLOR_LOGITS = np.array([[1.0, 0.0, -1.0], [0.0, 2.0, 0.5], [0.3, 0.2, 0.9], [-1.0, 0.0, 1.0]],
                        np.float32)
BIG_LOGITS = np.array([[0.3], [-1.0], [2.0], [0.0]], np.float32)
LOGITS = {"color": COLOR_LOGITS, "big": BIG_LOGITS}
LABELS = {"color": np.array([0, 1, 1, 2]), "big": np.array([[1], [0], [0], [1]])}
WEIGHTS = np.array([1.0, 2.0, 0.5, 0.0], np.float32)
FEATURES = {"w": WEIGHTS}


def _head(**kwargs):
    return MultiHead([MultiClassHead(3, name="color", weight_column="w"),
                      BinaryClassHead(name="big", weight_column="w")], **kwargs)


def _color_loss():
    ce = -np.log(ref.softmax(COLOR_LOGITS)[np.arange(4), LABELS["color"]])[:, None]
    return ref.reduce(ce, WEIGHTS[:, None], "weighted_sum_over_batch_size")


def _big_loss():
    return ref.reduce(ref.sigmoid_cross_entropy(LABELS["big"], BIG_LOGITS), WEIGHTS[:, None],
                      "weighted_sum_over_batch_size")


@pytest.mark.parametrize("head_weights, expected", [
    (None, lambda: _color_loss() + _big_loss()),
    ([2.0, 0.5], lambda: 2.0 * _color_loss() + 0.5 * _big_loss()),
])
def test_loss_is_the_weighted_sum_of_head_losses(head_weights, expected):
    loss = _head(head_weights=head_weights).loss(LABELS, LOGITS, features=FEATURES,
                                                 regularization_losses=[tf.constant(0.25)])
    np.testing.assert_allclose(loss.numpy(), expected() + 0.25, rtol=1e-5)


def test_one_logits_tensor_is_split_among_the_heads():
    head = _head()
    joined = np.concatenate([COLOR_LOGITS, BIG_LOGITS], axis=-1)
    assert head.logits_dimension == 4
    np.testing.assert_allclose(head.loss(LABELS, joined, features=FEATURES),
                               head.loss(LABELS, LOGITS, features=FEATURES), rtol=1e-6)
    with pytest.raises(ValueError, match=r"MultiHead: `logits` must have shape \[batch_size, 4\]"):
        head.predictions(COLOR_LOGITS)


def test_predictions_are_keyed_head_slash_key():
    predictions = _head().predictions(LOGITS)
    color = MultiClassHead(3).predictions(COLOR_LOGITS)
    big = BinaryClassHead().predictions(BIG_LOGITS)
    assert set(predictions) == {f"color/{k}" for k in color} | {f"big/{k}" for k in big}
    np.testing.assert_allclose(predictions["color/probabilities"], color["probabilities"])
    np.testing.assert_allclose(predictions["big/logistic"], big["logistic"])


def test_metrics_are_per_head():
    head = _head()
    metrics = head.update_metrics(head.metrics(), FEATURES, LOGITS, LABELS)
    assert set(metrics) == {"loss/color", "loss/big", "accuracy/color", "average_loss/color"} | {
        f"{k}/big" for k in BinaryClassHead().metrics()}
    np.testing.assert_allclose(metrics["loss/color"].result(), _color_loss(), rtol=1e-5)
    np.testing.assert_allclose(metrics["loss/big"].result(), _big_loss(), rtol=1e-5)
    np.testing.assert_allclose(metrics["accuracy/color"].result(),
                               ref.accuracy(LABELS["color"], COLOR_LOGITS.argmax(-1), WEIGHTS))
    np.testing.assert_allclose(metrics["label/mean/big"].result(),
                               ref.weighted_mean(LABELS["big"], WEIGHTS[:, None]), rtol=1e-6)


def test_export_outputs_serve_the_first_head_by_default():
    spec = _head().create_estimator_spec(FEATURES, "infer", LOGITS)
    outputs = spec.export_outputs
    assert set(outputs) == {"serving_default", "predict", "color", "color/classification",
                            "color/predict", "big", "big/classification", "big/regression",
                            "big/predict"}
    assert outputs["serving_default"] is outputs["color"] is outputs["color/classification"]
    assert set(outputs["predict"].outputs()) == set(spec.predictions)


@pytest.mark.parametrize("make, error, match", [
    (lambda: MultiHead([]), ValueError, "non-empty list"),
    (lambda: MultiHead([MultiClassHead(3)]), ValueError, "needs a name"),
    (lambda: MultiHead([MultiClassHead(3, name="a"), BinaryClassHead(name="a")]), ValueError,
     "distinct"),
    (lambda: MultiHead([MultiClassHead(3, name="a"), BinaryClassHead(name="a/b")]), ValueError,
     "prefix"),
    (lambda: MultiHead([MultiClassHead(3, name="a")], head_weights=[1.0, 2.0]), ValueError,
     "one number per head"),
    (lambda: MultiHead([object()]), TypeError, "Head instances"),
])
def test_constructor_validates(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_labels_and_logits_name_the_heads():
    head = _head()
    with pytest.raises(TypeError, match=r"dict keyed by head name \['color', 'big'\]"):
        head.loss(LABELS["color"], LOGITS, features=FEATURES)
    with pytest.raises(ValueError, match=r"no entry for heads \['big'\]"):
        head.loss({"color": LABELS["color"]}, LOGITS, features=FEATURES)
    with pytest.raises(ValueError, match=r"missing \['big'\], unknown \['size'\]"):
        head.predictions({"color": COLOR_LOGITS, "size": BIG_LOGITS})
    with pytest.raises(ValueError, match="different loss_reduction"):
        _ = MultiHead([RegressionHead(name="a"), RegressionHead(name="b", loss_reduction="sum")]
                      ).loss_reduction


# -- the paper's example: one network, two multi-class heads, the real Estimator -------------
RNG = np.random.default_rng(1)
X = RNG.normal(size=(256, 2)).astype(np.float32)
Y = {"color": np.digitize(X[:, 0], [-0.5, 0.5]).astype(np.int64),
     "size": np.digitize(X[:, 1], [-1.0, 0.0, 1.0]).astype(np.int64)}


def _paper_model_fn(features, labels, mode):
    head = MultiHead([MultiClassHead(3, name="color"), MultiClassHead(4, name="size")])
    hidden = keras.layers.Dense(16, activation="relu")(features["x"])
    logits = {h.name: keras.layers.Dense(h.logits_dimension)(hidden) for h in head.heads}
    return head.create_estimator_spec(features, mode, logits, labels,
                                      optimizer=keras.optimizers.Adagrad(0.1))


def test_paper_example_trains_evaluates_predicts_and_exports(tmp_path):
    config = el.RunConfig(log_step_count_steps=None, save_checkpoints_secs=None,
                          steps_per_loop=100)
    estimator = el.Estimator(_paper_model_fn, model_dir=str(tmp_path / "model"), config=config)
    dataset = tf.data.Dataset.from_tensor_slices(({"x": X}, Y))
    estimator.train(lambda: dataset.repeat().batch(32), steps=300)

    results = estimator.evaluate(lambda: dataset.batch(64))
    assert set(results) == {"loss", "global_step", "loss/color", "loss/size", "accuracy/color",
                            "average_loss/color", "accuracy/size", "average_loss/size"}
    assert results["accuracy/color"] > 0.7 and results["accuracy/size"] > 0.6, results
    # Equal batches and unit weights: the loss is the sum of the heads' mean losses.
    np.testing.assert_allclose(results["loss"], results["loss/color"] + results["loss/size"],
                               rtol=1e-4)
    np.testing.assert_allclose(results["loss/color"], results["average_loss/color"], rtol=1e-4)

    rows = list(estimator.predict(lambda: tf.data.Dataset.from_tensor_slices({"x": X[:6]}).batch(3)))
    assert len(rows) == 6 and "color/class_ids" in rows[0] and "size/probabilities" in rows[0]
    assert rows[0]["size/probabilities"].shape == (4,)
    predicted = np.array([r["color/class_ids"][0] for r in rows])
    assert np.mean(predicted == Y["color"][:6]) >= 0.5

    export_dir = estimator.export_saved_model(
        str(tmp_path / "export"), el.export.build_parsing_serving_input_receiver_fn(
            {"x": tf.io.FixedLenFeature([2], tf.float32)}))
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    methods = {k: v.method_name for k, v in proto.meta_graphs[0].signature_def.items()
               if not k.startswith("__")}
    classify, predict = "tensorflow/serving/classify", "tensorflow/serving/predict"
    assert methods == {"serving_default": classify, "color": classify,
                       "color/classification": classify, "color/predict": predict,
                       "size": classify, "size/classification": classify,
                       "size/predict": predict, "predict": predict}
    examples = tf.constant([tf.train.Example(features=tf.train.Features(feature={
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=row))})).SerializeToString()
        for row in X[:3].tolist()])
    served = tf.saved_model.load(export_dir).signatures["size"](inputs=examples)
    np.testing.assert_allclose(served["scores"], np.stack([r["size/probabilities"] for r in rows[:3]]),
                               rtol=1e-5)
