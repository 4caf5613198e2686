"""DNN estimators: a feed-forward network over dense feature columns."""

from __future__ import annotations

import keras

from estimator_lib import feature_columns as fc
from estimator_lib.canned import _common
from estimator_lib.estimator import Estimator
from estimator_lib.spec import ModeKeys


def check_hidden_units(hidden_units) -> list[int]:
    units = list(hidden_units or ())
    if not units or any(not isinstance(u, int) or isinstance(u, bool) or u < 1 for u in units):
        raise ValueError(
            f"`hidden_units` must be a non-empty list of positive integers; received {hidden_units!r}."
        )
    return units


def check_dropout(dropout):
    if dropout is not None and not 0.0 <= dropout < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1) or None; received {dropout!r}.")
    return dropout


def dnn_logits(features, mode, *, feature_columns, hidden_units, units, activation_fn, dropout,
               batch_norm, name="dnn"):
    """The DNN tower: DenseFeatures, hidden layers, then a linear layer to the logits.

    Layer names are fixed (`<name>/hiddenlayer_<i>`, `<name>/logits`) so checkpoints and
    warm starts see stable variable names.
    """
    training = mode == ModeKeys.TRAIN
    net = fc.DenseFeatures(feature_columns, name=f"{name}_input")(features)
    for index, width in enumerate(hidden_units):
        net = keras.layers.Dense(width, activation=activation_fn,
                                 name=f"{name}_hiddenlayer_{index}")(net)
        if batch_norm:
            net = keras.layers.BatchNormalization(name=f"{name}_batchnorm_{index}")(net, training=training)
        if dropout:
            net = keras.layers.Dropout(dropout, name=f"{name}_dropout_{index}")(net, training=training)
    return keras.layers.Dense(units, name=f"{name}_logits")(net)


def _dnn_model_fn(head, columns, hidden_units, optimizer, activation_fn, dropout, batch_norm):
    def model_fn(features, labels, mode):
        logits = dnn_logits(features, mode, feature_columns=columns, hidden_units=hidden_units,
                            units=head.logits_dimension, activation_fn=activation_fn,
                            dropout=dropout, batch_norm=batch_norm)
        return head.create_estimator_spec(
            features, mode, logits, labels,
            optimizer=_common.train_optimizer(
                mode, lambda: _common.make_optimizer(optimizer, _common.DNN_LEARNING_RATE)))

    return model_fn


def _dnn_optimizer(optimizer, legacy_defaults):
    return _common.with_learning_rate(_common.check_optimizer(optimizer),
                                      _common.default_learning_rate(
                                          "dnn", legacy_defaults=legacy_defaults))


class DNNClassifier(Estimator):
    """A feed-forward classifier over dense feature columns.

    Default optimizer: Adagrad at learning rate 0.05 (tf.compat.v1.estimator's).
    `legacy_defaults=True`: tf.estimator 2.15's, Adagrad at 0.001. A name ("Adagrad",
    "Adam", "Ftrl", "RMSProp", "SGD") gets that rate; an optimizer instance keeps its own.

    Example:
        >>> DNNClassifier(hidden_units=[64, 32], feature_columns=[age, embedded_query],
        ...               n_classes=3).train(input_fn, max_steps=1000)
    """

    def __init__(self, hidden_units, feature_columns, *, model_dir=None, n_classes=2,
                 weight_column=None, label_vocabulary=None, optimizer="Adagrad",
                 activation_fn="relu", dropout=None, config=None, warm_start_from=None,
                 loss_reduction=_common.DEFAULT_REDUCTION, batch_norm=False,
                 legacy_defaults=False):
        head = _common.classification_head(n_classes, weight_column, label_vocabulary, loss_reduction)
        model_fn = _dnn_model_fn(head, _common.check_columns(feature_columns, "feature_columns"),
                                 check_hidden_units(hidden_units),
                                 _dnn_optimizer(optimizer, legacy_defaults),
                                 activation_fn, check_dropout(dropout), batch_norm)
        super().__init__(model_fn, model_dir=model_dir, config=config,
                         warm_start_from=warm_start_from)
        self.head = head


class DNNRegressor(Estimator):
    """A feed-forward regressor over dense feature columns.

    Default optimizer: Adagrad at learning rate 0.05. `legacy_defaults=True`:
    tf.estimator 2.15's, Adagrad at 0.001 (as DNNClassifier).

    Example:
        >>> DNNRegressor(hidden_units=[32], feature_columns=[el.feature_column.numeric_column("x")])
    """

    def __init__(self, hidden_units, feature_columns, *, model_dir=None, label_dimension=1,
                 weight_column=None, optimizer="Adagrad", activation_fn="relu", dropout=None,
                 config=None, warm_start_from=None, loss_reduction=_common.DEFAULT_REDUCTION,
                 batch_norm=False, legacy_defaults=False):
        head = _common.regression_head(label_dimension, weight_column, loss_reduction)
        model_fn = _dnn_model_fn(head, _common.check_columns(feature_columns, "feature_columns"),
                                 check_hidden_units(hidden_units),
                                 _dnn_optimizer(optimizer, legacy_defaults),
                                 activation_fn, check_dropout(dropout), batch_norm)
        super().__init__(model_fn, model_dir=model_dir, config=config,
                         warm_start_from=warm_start_from)
        self.head = head
