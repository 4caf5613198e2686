"""A tiny, fast model and data shared by the estimator_lib tests."""

import keras
import numpy as np
import tensorflow as tf

import estimator_lib as el

RNG = np.random.default_rng(0)
X = RNG.normal(size=(256, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5]], "float32") > 0).astype("float32")


def train_input_fn(batch_size=32):
    return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).repeat().batch(batch_size)


def eval_input_fn(batch_size=64):
    return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).batch(batch_size)


def predict_input_fn(n=10, batch_size=4):
    return tf.data.Dataset.from_tensor_slices({"x": X[:n]}).batch(batch_size)


def model_fn(features, labels, mode, params=None):
    """Logistic-ish classifier with a hidden layer and dropout (TRAIN only)."""
    params = params or {}
    hidden = keras.layers.Dense(8, activation="relu")(features["x"])
    hidden = keras.layers.Dropout(params.get("dropout", 0.0))(hidden, training=mode == el.ModeKeys.TRAIN)
    logits = keras.layers.Dense(1)(hidden)
    probabilities = tf.sigmoid(logits)
    predictions = {"logits": logits, "probabilities": probabilities,
                   "class_ids": tf.cast(probabilities > 0.5, tf.int64)}
    if mode == el.ModeKeys.PREDICT:
        scores = tf.concat([1 - probabilities, probabilities], axis=1)
        classes = tf.broadcast_to(tf.constant([["0", "1"]]), tf.shape(scores))
        return el.EstimatorSpec(mode, predictions=predictions, export_outputs={
            "serving_default": el.export.PredictOutput(predictions),
            "classification": el.export.ClassificationOutput(scores=scores, classes=classes),
            "regression": el.export.RegressionOutput(probabilities),
        })
    loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
    accuracy = keras.metrics.BinaryAccuracy(name="accuracy")
    accuracy.update_state(labels, probabilities)
    return el.EstimatorSpec(mode, loss=loss, predictions=predictions,
                            eval_metric_ops={"accuracy": accuracy},
                            train_op=keras.optimizers.SGD(params.get("learning_rate", 0.1)))


def serialized_examples(n=10):
    examples = []
    for row in X[:n]:
        feature = {"x": tf.train.Feature(float_list=tf.train.FloatList(value=row.tolist()))}
        examples.append(tf.train.Example(
            features=tf.train.Features(feature=feature)).SerializeToString())
    return examples


FEATURE_SPEC = {"x": tf.io.FixedLenFeature([3], tf.float32)}
