"""Baseline estimators: predict the label distribution (or mean), ignoring features."""

from __future__ import annotations

import keras
import tensorflow as tf

from estimator_lib.canned import _common
from estimator_lib.estimator import Estimator


class _Bias(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.bias = self.add_weight(shape=(units,), initializer="zeros", name="bias")

    def call(self, batch_size):
        return tf.broadcast_to(self.bias[None, :], tf.stack([batch_size, tf.shape(self.bias)[0]]))


def _batch_size(features):
    first = features if isinstance(features, tf.Tensor) else next(iter(features.values()))
    if isinstance(first, tf.SparseTensor):
        return tf.cast(first.dense_shape[0], tf.int32)
    return tf.shape(first)[0]


def _baseline_model_fn(head, optimizer):
    def model_fn(features, labels, mode):
        logits = _Bias(head.logits_dimension, name="baseline")(_batch_size(features))
        return head.create_estimator_spec(
            features, mode, logits, labels,
            optimizer=_common.train_optimizer(
                mode, lambda: _common.make_optimizer(optimizer, _common.BASELINE_LEARNING_RATE)))

    return model_fn


class BaselineClassifier(Estimator):
    """Learns only the class distribution: a floor other classifiers must beat.

    Its one variable is `baseline/bias` (the logits), as tf.estimator's. `warm_start_from`
    (a checkpoint, model_dir or `el.WarmStartSettings`) starts it from another baseline's.
    Default optimizer: Ftrl at learning rate 0.3, tf.estimator's too (`legacy_defaults`
    changes nothing here; it is taken so every canned estimator takes it).

    Example:
        >>> estimator = BaselineClassifier(n_classes=3, model_dir="/tmp/baseline")
        >>> estimator.train(input_fn, max_steps=100)
    """

    def __init__(self, *, model_dir=None, n_classes=2, weight_column=None, label_vocabulary=None,
                 optimizer="Ftrl", config=None, warm_start_from=None,
                 loss_reduction=_common.DEFAULT_REDUCTION, legacy_defaults=False):
        del legacy_defaults  # The same rate in both.
        head = _common.classification_head(n_classes, weight_column, label_vocabulary, loss_reduction)
        super().__init__(_baseline_model_fn(head, _common.check_optimizer(optimizer)),
                         model_dir=model_dir, config=config, warm_start_from=warm_start_from)
        self.head = head


class BaselineRegressor(Estimator):
    """Learns only the mean label (`baseline/bias`); `warm_start_from` and the default
    optimizer (Ftrl at 0.3) as BaselineClassifier.

    Example:
        >>> BaselineRegressor(label_dimension=1).train(input_fn, max_steps=100)
    """

    def __init__(self, *, model_dir=None, label_dimension=1, weight_column=None,
                 optimizer="Ftrl", config=None, warm_start_from=None,
                 loss_reduction=_common.DEFAULT_REDUCTION, legacy_defaults=False):
        del legacy_defaults  # The same rate in both.
        head = _common.regression_head(label_dimension, weight_column, loss_reduction)
        super().__init__(_baseline_model_fn(head, _common.check_optimizer(optimizer)),
                         model_dir=model_dir, config=config, warm_start_from=warm_start_from)
        self.head = head
