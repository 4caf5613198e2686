"""What the canned estimators share: optimizer resolution and head choice."""

from __future__ import annotations

import math
from collections.abc import Callable

import keras

from estimator_lib import heads
from estimator_lib.canned import _sparse_optimizers
from estimator_lib.losses import Reduction
from estimator_lib.spec import ModeKeys

# Ftrl and Adagrad: Keras's, with sparse updates for sparse gradients (_sparse_optimizers).
_OPTIMIZERS = {
    "adagrad": _sparse_optimizers.Adagrad,
    "adam": keras.optimizers.Adam,
    "ftrl": _sparse_optimizers.Ftrl,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
}
# Default learning rates of optimizers given by name, for every canned estimator that
# has the part: tf.estimator's LinearClassifier (Ftrl, min(0.2, 1/sqrt(#columns))) and
# (V1) DNNClassifier (Adagrad 0.05). tensorflow-estimator's DNNLinearCombined* used lower
# rates for its two parts (linear min(0.005, 1/sqrt(#columns)), dnn 0.001); we do not:
# on the Chicago taxi wide & deep benchmark (bench/RESULTS-issue3.md) both el and legacy
# are under-trained at those rates after 3,000 steps (eval AUC 0.931-0.935 against 0.947
# at these), and el and legacy reach the same AUC at these. Pass an optimizer instance to
# choose others, e.g. `linear_optimizer=keras.optimizers.Ftrl(0.005)`.
DNN_LEARNING_RATE = 0.05


def linear_learning_rate(num_feature_columns: int) -> float:
    """The default for the linear part: min(0.2, 1/sqrt(#columns)), as tf.estimator's Linear*."""
    return min(0.2, 1.0 / math.sqrt(max(num_feature_columns, 1)))


def check_optimizer(optimizer, argument: str = "optimizer"):
    """Validates an optimizer given by name, instance or factory, at construction.

    Returns what `make_optimizer` takes: an instance is replaced by its class and config,
    read now, eagerly (reading a config inside a trace fails).
    """
    if isinstance(optimizer, str):
        if optimizer.lower() not in _OPTIMIZERS:
            raise ValueError(
                f"`{argument}` {optimizer!r} is not a known optimizer name; use one of "
                f"{sorted(n.title() for n in _OPTIMIZERS)}, a keras.optimizers.Optimizer or a "
                "callable returning one."
            )
    elif not (isinstance(optimizer, keras.optimizers.Optimizer) or callable(optimizer)):
        raise TypeError(
            f"`{argument}` must be a name, a keras.optimizers.Optimizer or a callable; received "
            f"{type(optimizer).__name__}."
        )
    if isinstance(optimizer, keras.optimizers.Optimizer):
        # Exactly Keras's Ftrl or Adagrad: the same optimizer with sparse updates.
        return _OptimizerCopy(_sparse_optimizers.sparse_aware(type(optimizer)),
                              optimizer.get_config())
    return optimizer


class _OptimizerCopy:
    """Makes a new optimizer like the one the user gave, for each trace of model_fn."""

    def __init__(self, optimizer_class, config):
        self._class, self._config = optimizer_class, config

    def __call__(self):
        return self._class.from_config(dict(self._config))


def make_optimizer(optimizer, learning_rate: float) -> keras.optimizers.Optimizer:
    """A new optimizer for this trace of model_fn.

    An instance given by the user was turned into a copy factory by `check_optimizer`:
    the model's optimizer variables must be created inside model_fn, so checkpoints
    hold them.
    """
    if isinstance(optimizer, str):
        return _OPTIMIZERS[optimizer.lower()](learning_rate=learning_rate)
    made = optimizer()
    if not isinstance(made, keras.optimizers.Optimizer):
        raise TypeError(f"The optimizer factory returned {type(made).__name__}, not an optimizer.")
    return made


def classification_head(n_classes: int, weight_column, label_vocabulary,
                        loss_reduction) -> heads.Head:
    """BinaryClassHead for 2 classes, MultiClassHead for more (tf.estimator's rule)."""
    if not isinstance(n_classes, int) or isinstance(n_classes, bool) or n_classes < 2:
        raise ValueError(f"`n_classes` must be an integer >= 2; received {n_classes!r}.")
    if n_classes == 2:
        return heads.BinaryClassHead(weight_column=weight_column,
                                     label_vocabulary=label_vocabulary,
                                     loss_reduction=loss_reduction)
    return heads.MultiClassHead(n_classes, weight_column=weight_column,
                                label_vocabulary=label_vocabulary, loss_reduction=loss_reduction)


def regression_head(label_dimension: int, weight_column, loss_reduction) -> heads.Head:
    return heads.RegressionHead(label_dimension, weight_column=weight_column,
                                loss_reduction=loss_reduction)


def check_columns(columns, argument: str) -> list:
    columns = list(columns or ())
    if not columns:
        raise ValueError(f"`{argument}` must name at least one feature column.")
    return columns


DEFAULT_REDUCTION = Reduction.SUM_OVER_BATCH_SIZE
OptimizerLike = str | keras.optimizers.Optimizer | Callable[[], keras.optimizers.Optimizer]


def train_optimizer(mode, make):
    """`make()` in TRAIN, else None: evaluate() and predict() never build an optimizer
    (a Keras optimizer makes variables, which a fresh call would create for nothing)."""
    return make() if mode == ModeKeys.TRAIN else None
