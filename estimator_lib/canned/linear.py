"""Linear estimators over feature columns (sparse weights for categorical columns)."""

from __future__ import annotations

from estimator_lib import feature_columns as fc
from estimator_lib.canned import _common
from estimator_lib.estimator import Estimator


def _linear_model_fn(head, feature_columns, optimizer, sparse_combiner):
    learning_rate = _common.linear_learning_rate(len(feature_columns))

    def model_fn(features, labels, mode):
        logits = fc.LinearModel(feature_columns, units=head.logits_dimension,
                                sparse_combiner=sparse_combiner, name="linear")(features)
        return head.create_estimator_spec(
            features, mode, logits, labels,
            optimizer=_common.train_optimizer(
                mode, lambda: _common.make_optimizer(optimizer, learning_rate)))

    return model_fn


class LinearClassifier(Estimator):
    """A linear classifier: logits = sum of per-column weights + bias.

    Default optimizer: Ftrl at learning rate min(0.2, 1/sqrt(len(feature_columns))).
    `legacy_defaults=True`: tf.estimator 2.15's, Ftrl at 0.2. A name ("Ftrl", "Adagrad",
    "Adam", "RMSProp", "SGD") gets that rate; an optimizer instance keeps its own.

    Example:
        >>> query = el.feature_column.categorical_column_with_hash_bucket("query", 1000)
        >>> LinearClassifier(feature_columns=[query]).train(input_fn, max_steps=100)
    """

    def __init__(self, feature_columns, *, model_dir=None, n_classes=2, weight_column=None,
                 label_vocabulary=None, optimizer="Ftrl", config=None, warm_start_from=None,
                 loss_reduction=_common.DEFAULT_REDUCTION, sparse_combiner="sum",
                 legacy_defaults=False):
        columns = _common.check_columns(feature_columns, "feature_columns")
        optimizer = _common.with_learning_rate(
            _common.check_optimizer(optimizer), _common.default_learning_rate(
                "linear", legacy_defaults=legacy_defaults, num_linear_columns=len(columns)))
        head = _common.classification_head(n_classes, weight_column, label_vocabulary, loss_reduction)
        model_fn = _linear_model_fn(head, columns, optimizer, sparse_combiner)
        super().__init__(model_fn, model_dir=model_dir, config=config,
                         warm_start_from=warm_start_from)
        self.head = head


class LinearRegressor(Estimator):
    """A linear regressor over feature columns.

    Default optimizer: Ftrl at learning rate min(0.2, 1/sqrt(len(feature_columns))).
    `legacy_defaults=True`: tf.estimator 2.15's, Ftrl at 0.2 (as LinearClassifier).

    Example:
        >>> LinearRegressor(feature_columns=[el.feature_column.numeric_column("x")])
    """

    def __init__(self, feature_columns, *, model_dir=None, label_dimension=1, weight_column=None,
                 optimizer="Ftrl", config=None, warm_start_from=None,
                 loss_reduction=_common.DEFAULT_REDUCTION, sparse_combiner="sum",
                 legacy_defaults=False):
        columns = _common.check_columns(feature_columns, "feature_columns")
        optimizer = _common.with_learning_rate(
            _common.check_optimizer(optimizer), _common.default_learning_rate(
                "linear", legacy_defaults=legacy_defaults, num_linear_columns=len(columns)))
        head = _common.regression_head(label_dimension, weight_column, loss_reduction)
        model_fn = _linear_model_fn(head, columns, optimizer, sparse_combiner)
        super().__init__(model_fn, model_dir=model_dir, config=config,
                         warm_start_from=warm_start_from)
        self.head = head
