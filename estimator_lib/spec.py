"""`ModeKeys` and `EstimatorSpec`: what a model_fn returns, checked per mode.

A model_fn is called with a mode and returns an `EstimatorSpec` that holds the ops
for that mode. The spec validates itself at construction, so a model_fn that forgets
its loss in TRAIN fails on its first trace with a message naming the field and mode.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf


class ModeKeys(enum.StrEnum):
    """The three modes a model_fn is called in.

    A string enum, so `mode == "train"` and `mode == ModeKeys.TRAIN` both hold.

    Example:
        >>> ModeKeys.TRAIN == "train"
        True
    """

    TRAIN = "train"
    EVAL = "eval"
    PREDICT = "infer"


def _is_metric(value: Any) -> bool:
    if isinstance(value, keras.metrics.Metric):
        return True
    return isinstance(value, tuple) and len(value) == 2


@dataclasses.dataclass(frozen=True)
class EstimatorSpec:
    """The ops and objects a model_fn returns for one mode.

    Args:
        mode: A `ModeKeys` value (or its string).
        predictions: A tensor or dict of tensors. Required in PREDICT.
        loss: A scalar float tensor. Required in TRAIN and EVAL.
        train_op: Required in TRAIN. Either a Keras optimizer, which the Estimator uses
            to minimize `loss` over the trainable variables model_fn created (the
            gradient tape is opened around model_fn), or a callable
            `train_op(loss, tape, variables)` that applies updates itself. Under a
            distribution strategy such a callable should also have a `build(variables)`
            attribute creating its optimizers' slots (e.g. `optimizer.build(variables)`):
            the Estimator builds models there outside replica context, where it cannot
            run the callable. The `iterations` of the optimizer given here, and of every
            Keras optimizer model_fn (or train_op_fn) creates, count the global step (set
            before each training loop), so learning-rate schedules see the model's step;
            their variables are checkpointed as `optimizer/<variable>/<slot>`.
        eval_metric_ops: Dict of name to a Keras metric that model_fn updated, or a
            `(value_tensor, update_op)` pair.
        export_outputs: Dict of signature name to an `el.export.ExportOutput`, used by
            `export_saved_model`. Defaults to a `PredictOutput` of `predictions`.
        training_hooks, evaluation_hooks, prediction_hooks: `el.Hook`s run in that mode.

    Raises:
        ValueError: If a field the mode needs is missing, or a field has a bad value.
        TypeError: If a field has the wrong type.

    Example:
        >>> def model_fn(features, labels, mode):
        ...     logits = keras.layers.Dense(1)(features["x"])
        ...     if mode == ModeKeys.PREDICT:
        ...         return EstimatorSpec(mode, predictions={"logits": logits})
        ...     loss = tf.reduce_mean(tf.square(logits - labels))
        ...     return EstimatorSpec(mode, loss=loss, train_op=keras.optimizers.SGD(0.1))
    """

    mode: ModeKeys
    predictions: Any = None
    loss: Any = None
    train_op: Any = None
    eval_metric_ops: Mapping[str, Any] | None = None
    export_outputs: Mapping[str, Any] | None = None
    training_hooks: Sequence[Any] = ()
    evaluation_hooks: Sequence[Any] = ()
    prediction_hooks: Sequence[Any] = ()

    def __post_init__(self):
        try:
            mode = ModeKeys(self.mode)
        except ValueError:
            raise ValueError(
                f"`mode` must be one of {[m.value for m in ModeKeys]}; received {self.mode!r}."
            ) from None
        object.__setattr__(self, "mode", mode)
        missing = {
            ModeKeys.TRAIN: ("loss", "train_op"),
            ModeKeys.EVAL: ("loss",),
            ModeKeys.PREDICT: ("predictions",),
        }[mode]
        for field in missing:
            if getattr(self, field) is None:
                raise ValueError(
                    f"EstimatorSpec in mode {mode.name} requires `{field}`, but model_fn "
                    f"returned none. Pass `{field}=...` when mode == ModeKeys.{mode.name}."
                )
        if self.loss is not None:
            loss = tf.convert_to_tensor(self.loss)
            if not loss.dtype.is_floating:
                raise TypeError(f"`loss` must be a float tensor; received dtype {loss.dtype!r}.")
            if loss.shape.rank not in (None, 0) and loss.shape.num_elements() != 1:
                raise ValueError(
                    f"`loss` must be a scalar; received shape {loss.shape}. Reduce it, for "
                    "example with tf.reduce_mean."
                )
            object.__setattr__(self, "loss", tf.reshape(loss, []))
        if self.train_op is not None and not (
            isinstance(self.train_op, keras.optimizers.Optimizer) or callable(self.train_op)
        ):
            raise TypeError(
                "`train_op` must be a Keras optimizer or a callable(loss, tape, variables); "
                f"received {type(self.train_op).__name__}."
            )
        if self.eval_metric_ops is not None:
            if not isinstance(self.eval_metric_ops, Mapping):
                raise TypeError(
                    "`eval_metric_ops` must be a dict of name to Keras metric; received "
                    f"{type(self.eval_metric_ops).__name__}."
                )
            for name, metric in self.eval_metric_ops.items():
                if not _is_metric(metric):
                    raise TypeError(
                        f"`eval_metric_ops[{name!r}]` must be a Keras metric (updated in "
                        f"model_fn) or a (value, update_op) pair; received {metric!r}."
                    )
        if self.export_outputs is not None and not isinstance(self.export_outputs, Mapping):
            raise TypeError(
                "`export_outputs` must be a dict of signature name to ExportOutput; received "
                f"{type(self.export_outputs).__name__}."
            )
        for field in ("training_hooks", "evaluation_hooks", "prediction_hooks"):
            hooks = tuple(getattr(self, field) or ())
            object.__setattr__(self, field, hooks)

    @property
    def hooks(self) -> tuple:
        """The hooks for this spec's mode."""
        return {
            ModeKeys.TRAIN: self.training_hooks,
            ModeKeys.EVAL: self.evaluation_hooks,
            ModeKeys.PREDICT: self.prediction_hooks,
        }[self.mode]


TrainOpFn = Callable[[tf.Tensor, tf.GradientTape, Sequence[tf.Variable]], Any]
