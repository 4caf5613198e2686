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
# el's default learning rates of optimizers given by name, for every canned estimator
# that has the part: Ftrl min(0.2, 1/sqrt(#columns)) (tf.estimator's Linear* rate for
# `optimizer=None`) and Adagrad 0.05 (tf.compat.v1.estimator's DNN*). tensorflow-estimator's
# DNNLinearCombined* used lower rates for its two parts (linear min(0.005, 1/sqrt(#columns)),
# dnn 0.001), and its V2 DNN* 0.001; we do not (`legacy_defaults=True` does):
# on the Chicago taxi wide & deep benchmark (bench/RESULTS-issue3.md) both el and legacy
# are under-trained at those rates after 3,000 steps (eval AUC 0.931-0.935 against 0.947
# at these), and el and legacy reach the same AUC at these. Pass an optimizer instance to
# choose others, e.g. `linear_optimizer=keras.optimizers.Ftrl(0.005)`.
DNN_LEARNING_RATE = 0.05


def linear_learning_rate(num_feature_columns: int) -> float:
    """The default for the linear part: min(0.2, 1/sqrt(#columns)), as tf.estimator's Linear*."""
    return min(0.2, 1.0 / math.sqrt(max(num_feature_columns, 1)))


# tf.estimator 2.15's default learning rates for optimizers given by name, for the
# `tf.estimator.*` (V2) classes, read from tensorflow_estimator 2.15's canned/ sources
# and seen in checkpoints it trained (tests/estimator_lib/golden/legacy):
# - Linear*: linear.py `_LEARNING_RATE` 0.2 for `optimizer='Ftrl'`, the default
#   (min(0.2, 1/sqrt(#columns)) only for `optimizer=None`).
# - DNN*: dnn.py's V2 model_fn passes no rate, so the Keras Adagrad default, 0.001
#   (0.05, its `_LEARNING_RATE`, is tf.compat.v1.estimator.DNN*'s).
# - DNNLinearCombined*: dnn_linear_combined.py `_LINEAR_LEARNING_RATE` 0.005 (as
#   min(0.005, 1/sqrt(#linear columns))) and `_DNN_LEARNING_RATE` 0.001.
# - Baseline*: baseline.py `_LEARNING_RATE` 0.3.
LEGACY_LINEAR_LEARNING_RATE = 0.2
LEGACY_DNN_LEARNING_RATE = 0.001
LEGACY_COMBINED_LINEAR_LEARNING_RATE = 0.005
LEGACY_COMBINED_DNN_LEARNING_RATE = 0.001
BASELINE_LEARNING_RATE = 0.3  # el's and tf.estimator's.


def default_learning_rate(part: str, *, legacy_defaults: bool, num_linear_columns: int = 1,
                          combined: bool = False) -> float:
    """The learning rate of an optimizer given by name, for one part of a canned model.

    Args:
        part: "linear", "dnn" or "baseline".
        legacy_defaults: tf.estimator 2.15's rates instead of el's.
        num_linear_columns: The linear part's number of feature columns.
        combined: The part belongs to a wide & deep (DNNLinearCombined*) model.
    """
    if part == "baseline":
        return BASELINE_LEARNING_RATE
    if not legacy_defaults:
        return linear_learning_rate(num_linear_columns) if part == "linear" else DNN_LEARNING_RATE
    if part == "dnn":
        return LEGACY_COMBINED_DNN_LEARNING_RATE if combined else LEGACY_DNN_LEARNING_RATE
    if combined:
        return min(LEGACY_COMBINED_LINEAR_LEARNING_RATE,
                   1.0 / math.sqrt(max(num_linear_columns, 1)))
    return LEGACY_LINEAR_LEARNING_RATE


def with_learning_rate(optimizer, learning_rate: float):
    """`optimizer` (checked by `check_optimizer`) with `learning_rate` bound if it is a name.

    `make_optimizer` then makes the named optimizer at this rate, whatever rate it is
    given; instances and factories keep their own.
    """
    return _NamedOptimizer(optimizer, learning_rate) if isinstance(optimizer, str) else optimizer


class _NamedOptimizer:
    """An optimizer given by name, with its learning rate chosen at construction."""

    def __init__(self, name: str, learning_rate: float):
        self.name, self.learning_rate = name, learning_rate

    def __call__(self):
        return _OPTIMIZERS[self.name.lower()](learning_rate=self.learning_rate)


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
