"""Tests for estimator_lib.spec: ModeKeys and EstimatorSpec's per-mode validation."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from estimator_lib.spec import EstimatorSpec, ModeKeys

LOSS = tf.constant(0.5)
PREDICTIONS = {"y": tf.constant([[1.0], [2.0]])}


def _train_op(loss, tape, variables):
    return None


# --------------------------------------------------------------------------------------
# ModeKeys
# --------------------------------------------------------------------------------------


def test_mode_keys_is_a_string_enum():
    assert ModeKeys.TRAIN == "train"
    assert ModeKeys.EVAL == "eval"
    assert ModeKeys.PREDICT == "infer"  # The legacy value.
    assert isinstance(ModeKeys.TRAIN, str)
    assert str(ModeKeys.PREDICT) == "infer"
    assert f"{ModeKeys.EVAL}" == "eval"
    assert ModeKeys("train") is ModeKeys.TRAIN
    assert ModeKeys("infer") is ModeKeys.PREDICT
    assert [m.value for m in ModeKeys] == ["train", "eval", "infer"]
    assert {"train": 1}[ModeKeys.TRAIN] == 1  # Hashes like its string.
    with pytest.raises(ValueError):
        ModeKeys("predict")


# --------------------------------------------------------------------------------------
# Valid specs
# --------------------------------------------------------------------------------------


def test_valid_specs_per_mode():
    optimizer = keras.optimizers.SGD(0.1)
    train = EstimatorSpec(ModeKeys.TRAIN, loss=LOSS, train_op=optimizer)
    assert train.mode is ModeKeys.TRAIN and train.train_op is optimizer
    assert float(train.loss) == 0.5

    evaluate = EstimatorSpec("eval", loss=LOSS)  # The mode may be its string.
    assert evaluate.mode is ModeKeys.EVAL
    predict = EstimatorSpec("infer", predictions=PREDICTIONS)
    assert predict.mode is ModeKeys.PREDICT and predict.predictions is PREDICTIONS

    callable_train_op = EstimatorSpec(ModeKeys.TRAIN, loss=LOSS, train_op=_train_op)
    assert callable_train_op.train_op is _train_op


@pytest.mark.parametrize("loss", [tf.constant([0.25]), tf.constant([[0.25]]), 0.25,
                                  np.float64(0.25)])
def test_single_element_losses_become_scalars(loss):
    spec = EstimatorSpec(ModeKeys.EVAL, loss=loss)
    assert spec.loss.shape == ()
    assert spec.loss.dtype.is_floating
    assert float(spec.loss) == 0.25


def test_spec_is_frozen():
    spec = EstimatorSpec(ModeKeys.EVAL, loss=LOSS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.loss = tf.constant(1.0)


# --------------------------------------------------------------------------------------
# Per-mode validation: the error names the field and the mode
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode, kwargs, field",
    [
        (ModeKeys.TRAIN, {"train_op": _train_op}, "loss"),
        (ModeKeys.TRAIN, {"loss": LOSS}, "train_op"),
        (ModeKeys.TRAIN, {"predictions": PREDICTIONS}, "loss"),
        (ModeKeys.EVAL, {"predictions": PREDICTIONS}, "loss"),
        (ModeKeys.PREDICT, {"loss": LOSS}, "predictions"),
    ],
    ids=["train-no-loss", "train-no-train-op", "train-only-predictions", "eval-no-loss",
         "predict-no-predictions"],
)
def test_missing_required_field(mode, kwargs, field):
    with pytest.raises(ValueError,
                       match=rf"in mode {mode.name} requires `{field}`.*ModeKeys\.{mode.name}"):
        EstimatorSpec(mode, **kwargs)


def test_unknown_mode():
    with pytest.raises(ValueError, match=r"`mode` must be one of \['train', 'eval', 'infer'\]"):
        EstimatorSpec("training", loss=LOSS)


def test_non_scalar_loss():
    with pytest.raises(ValueError, match=r"`loss` must be a scalar; received shape \(2,\)"):
        EstimatorSpec(ModeKeys.EVAL, loss=tf.constant([0.5, 1.5]))
    with pytest.raises(ValueError, match="must be a scalar"):
        EstimatorSpec(ModeKeys.TRAIN, loss=tf.ones([3, 1]), train_op=_train_op)


@pytest.mark.parametrize("loss", [tf.constant(1), tf.constant(1, tf.int64), 3, True])
def test_integer_loss(loss):
    with pytest.raises(TypeError, match="`loss` must be a float tensor"):
        EstimatorSpec(ModeKeys.EVAL, loss=loss)


@pytest.mark.parametrize("train_op", [3, "sgd", tf.constant(1.0)])
def test_bad_train_op_type(train_op):
    with pytest.raises(TypeError, match="`train_op` must be a Keras optimizer or a callable"):
        EstimatorSpec(ModeKeys.TRAIN, loss=LOSS, train_op=train_op)


def test_eval_metric_ops():
    metric = keras.metrics.Mean()
    pair = (tf.constant(1.0), tf.constant(1.0))
    spec = EstimatorSpec(ModeKeys.EVAL, loss=LOSS, eval_metric_ops={"mean": metric, "pair": pair})
    assert spec.eval_metric_ops["mean"] is metric
    with pytest.raises(TypeError, match=r"`eval_metric_ops\['acc'\]` must be a Keras metric"):
        EstimatorSpec(ModeKeys.EVAL, loss=LOSS, eval_metric_ops={"ok": metric, "acc": 0.9})
    with pytest.raises(TypeError, match=r"`eval_metric_ops\['triple'\]`"):
        EstimatorSpec(ModeKeys.EVAL, loss=LOSS,
                      eval_metric_ops={"triple": (LOSS, LOSS, LOSS)})
    with pytest.raises(TypeError, match="`eval_metric_ops` must be a dict"):
        EstimatorSpec(ModeKeys.EVAL, loss=LOSS, eval_metric_ops=[metric])


def test_export_outputs_must_be_a_dict():
    with pytest.raises(TypeError, match="`export_outputs` must be a dict"):
        EstimatorSpec(ModeKeys.PREDICT, predictions=PREDICTIONS, export_outputs=["serving"])


def test_hooks_property_follows_the_mode():
    train_hook, eval_hook, predict_hook = el.Hook(), el.Hook(), el.Hook()
    hooks = {"training_hooks": [train_hook], "evaluation_hooks": [eval_hook],
             "prediction_hooks": [predict_hook]}
    train = EstimatorSpec(ModeKeys.TRAIN, loss=LOSS, train_op=_train_op, **hooks)
    evaluate = EstimatorSpec(ModeKeys.EVAL, loss=LOSS, **hooks)
    predict = EstimatorSpec(ModeKeys.PREDICT, predictions=PREDICTIONS, **hooks)
    assert train.hooks == (train_hook,)
    assert evaluate.hooks == (eval_hook,)
    assert predict.hooks == (predict_hook,)
    # Lists become tuples; None becomes ().
    assert isinstance(train.training_hooks, tuple)
    assert EstimatorSpec(ModeKeys.EVAL, loss=LOSS, evaluation_hooks=None).hooks == ()
