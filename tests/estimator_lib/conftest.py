"""Shared fixtures for the hook, run-config and early-stopping tests.

The tiny model is `pred = w * x + b` (a keras Dense(1) with zero initializers) trained
by plain SGD on the mean squared error, so every training step can be replayed exactly in
numpy (`reference_run`) and compared with what the Estimator fetched or saved.
"""

from __future__ import annotations

import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el

LEARNING_RATE = 0.1
BATCH_SIZE = 4
NUM_EXAMPLES = 32
X = (np.arange(NUM_EXAMPLES, dtype=np.float32) / NUM_EXAMPLES).reshape(-1, 1)
Y = (2.0 * X + 1.0).astype(np.float32)


def linear_model_fn(features, labels, mode, params):
    """Dense(1) regression; `params` may hold `learning_rate` and `training_hooks`.

    If the features hold `extra`, its batch maximum is added to the loss (it does not
    depend on any variable, so it changes the loss but not the gradients).
    """
    layer = keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros",
                               name="dense")
    pred = layer(features["x"])
    predictions = {"pred": pred, "double": 2.0 * pred}
    if mode == el.ModeKeys.PREDICT:
        return el.EstimatorSpec(mode, predictions=predictions)
    loss = tf.reduce_mean(tf.square(pred - labels))
    if "extra" in features:
        loss = loss + tf.reduce_max(features["extra"])
    return el.EstimatorSpec(
        mode, predictions=predictions, loss=loss,
        train_op=keras.optimizers.SGD(params.get("learning_rate", LEARNING_RATE)),
        training_hooks=params.get("training_hooks", ()))


def make_input_fn(x=X, y=Y, extra=None, batch_size=BATCH_SIZE, repeat=True):
    """An input_fn over numpy arrays: batches in order, repeated forever by default."""

    def input_fn():
        features = {"x": x}
        if extra is not None:
            features["extra"] = extra
        dataset = tf.data.Dataset.from_tensor_slices((features, y))
        if repeat:
            dataset = dataset.repeat()
        return dataset.batch(batch_size)

    return input_fn


def reference_run(num_steps, learning_rate=LEARNING_RATE, batch_size=BATCH_SIZE, x=X, y=Y):
    """Replays `num_steps` SGD steps in numpy (float64).

    Returns:
        Dict with `losses[i]` and `preds[i]`: the loss and predictions of the step that
        ends at global step i + 1 (computed before that step's update), and the final
        `w` and `b`.
    """
    x = x.astype(np.float64)[:, 0]
    y = y.astype(np.float64)[:, 0]
    w = b = 0.0
    losses, preds = [], []
    batches_per_epoch = len(x) // batch_size
    for step in range(num_steps):
        start = (step % batches_per_epoch) * batch_size
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        pred = w * xb + b
        error = pred - yb
        losses.append(np.mean(error**2))
        preds.append(pred.copy())
        grad_w, grad_b = np.mean(2 * error * xb), np.mean(2 * error)
        w, b = w - learning_rate * grad_w, b - learning_rate * grad_b
    return {"losses": np.array(losses), "preds": preds, "w": w, "b": b}


def checkpoint_steps(model_dir) -> list[int]:
    """The global steps of the checkpoint files (`model.ckpt-N.index`) in model_dir."""
    names = os.listdir(model_dir) if os.path.isdir(model_dir) else []
    return sorted(int(m.group(1)) for n in names if (m := re.fullmatch(r"model\.ckpt-(\d+)\.index", n)))


def checkpoint_global_step(path) -> int:
    return int(tf.train.load_variable(path, "global_step/.ATTRIBUTES/VARIABLE_VALUE"))


@pytest.fixture
def make_estimator(tmp_path):
    """Factory: `make_estimator(model_dir=None, params=None, **run_config_kwargs)`.

    Defaults: `log_step_count_steps=None` (no default logging hooks) and
    `steps_per_loop=10`; the model_dir is a fresh directory under tmp_path.
    """

    def make(model_dir=None, params=None, model_fn=linear_model_fn, **config):
        config.setdefault("log_step_count_steps", None)
        config.setdefault("steps_per_loop", 10)
        model_dir = os.fspath(model_dir or tmp_path / "model")
        return el.Estimator(model_fn, model_dir=model_dir, params=params,
                            config=el.RunConfig(**config))

    return make


@pytest.fixture
def no_tf_config(monkeypatch):
    """Runs the test as a local (single-task) job whatever the environment says."""
    monkeypatch.delenv("TF_CONFIG", raising=False)
