"""Wide & deep: a linear model and a DNN summed into one logit, each with its optimizer."""

from __future__ import annotations

import keras

from estimator_lib import _variables
from estimator_lib import feature_columns as fc
from estimator_lib.canned import _common
from estimator_lib.canned.dnn import check_dropout, check_hidden_units, dnn_logits
from estimator_lib.estimator import Estimator
from estimator_lib.feature_columns import _id_lookup


def _combined_model_fn(head, linear_columns, linear_optimizer, dnn_columns, dnn_optimizer,
                       hidden_units, activation_fn, dropout, batch_norm, sparse_combiner):
    linear_rate = _common.linear_learning_rate(len(linear_columns))

    def logits_fn(features, mode):
        parts = []
        linear = None
        if linear_columns:
            linear = fc.LinearModel(linear_columns, units=head.logits_dimension,
                                    sparse_combiner=sparse_combiner, name="linear")
            parts.append(linear(features))
        if dnn_columns:
            dnn_logit = dnn_logits(features, mode, feature_columns=dnn_columns,
                                   hidden_units=hidden_units, units=head.logits_dimension,
                                   activation_fn=activation_fn, dropout=dropout,
                                   batch_norm=batch_norm)
            parts.append(dnn_logit)
        logits = parts[0] if len(parts) == 1 else keras.layers.Add(name="add_logits")(parts)
        return logits, linear

    def model_fn(features, labels, mode):
        with _id_lookup.shared_ids():  # Both parts look up the same columns' ids.
            logits, linear = logits_fn(features, mode)
        linear_ids = {id(v.value) for v in linear.trainable_variables} if linear else set()

        def train_op_fn(loss):
            # Each optimizer's variables are named by its part (`linear_optimizer/...`),
            # whatever Keras names the optimizer.
            with _variables.optimizer_role("linear_optimizer"):
                linear_part = _common.make_optimizer(linear_optimizer, linear_rate)
            with _variables.optimizer_role("dnn_optimizer"):
                dnn_part = _common.make_optimizer(dnn_optimizer, _common.DNN_LEARNING_RATE)
            optimizers = {"linear": linear_part, "dnn": dnn_part}

            def groups_of(variables):
                return {"linear": [v for v in variables if id(v) in linear_ids],
                        "dnn": [v for v in variables if id(v) not in linear_ids]}

            def train_op(loss, tape, variables):
                groups = groups_of(variables)
                sources = [v for name in ("linear", "dnn") for v in groups[name]]
                gradients = dict(zip(map(id, sources), tape.gradient(loss, sources), strict=True))
                for name in ("linear", "dnn"):
                    if groups[name]:
                        with _variables.optimizer_role(f"{name}_optimizer"):
                            optimizers[name].apply_gradients(
                                [(gradients[id(v)], v) for v in groups[name]])

            def build(variables):  # Slots as apply_gradients creates them (see EstimatorSpec).
                for name, group in groups_of(variables).items():
                    if group:
                        with _variables.optimizer_role(f"{name}_optimizer"):
                            optimizers[name].build(group)

            train_op.build = build
            return train_op

        return head.create_estimator_spec(features, mode, logits, labels, train_op_fn=train_op_fn)

    return model_fn


class _Combined(Estimator):
    def __init__(self, head, *, linear_feature_columns, linear_optimizer, dnn_feature_columns,
                 dnn_optimizer, dnn_hidden_units, dnn_activation_fn, dnn_dropout, batch_norm,
                 linear_sparse_combiner, model_dir, config, warm_start_from,
                 legacy_defaults):
        linear_columns = list(linear_feature_columns or ())
        dnn_columns = list(dnn_feature_columns or ())
        if not linear_columns and not dnn_columns:
            raise ValueError(
                "Either `linear_feature_columns` or `dnn_feature_columns` must be non-empty."
            )
        hidden_units = check_hidden_units(dnn_hidden_units) if dnn_columns else []
        rates = {part: _common.default_learning_rate(
            part, legacy_defaults=legacy_defaults, num_linear_columns=len(linear_columns),
            combined=True) for part in ("linear", "dnn")}
        model_fn = _combined_model_fn(
            head, linear_columns, _common.with_learning_rate(
                _common.check_optimizer(linear_optimizer, "linear_optimizer"), rates["linear"]),
            dnn_columns, _common.with_learning_rate(
                _common.check_optimizer(dnn_optimizer, "dnn_optimizer"), rates["dnn"]),
            hidden_units,
            dnn_activation_fn, check_dropout(dnn_dropout), batch_norm, linear_sparse_combiner)
        super().__init__(model_fn, model_dir=model_dir, config=config,
                         warm_start_from=warm_start_from)
        self.head = head


class DNNLinearCombinedClassifier(_Combined):
    """Wide & deep classifier: linear (Ftrl) on sparse columns plus a DNN (Adagrad).

    Optimizers given by name get the learning rates of `LinearClassifier` (Ftrl,
    `min(0.2, 1/sqrt(len(linear_feature_columns)))`) and `DNNClassifier` (Adagrad 0.05),
    not tensorflow-estimator's lower DNNLinearCombined defaults, which under-train (see
    `canned/_common.py`). `legacy_defaults=True` gives tf.estimator 2.15's: linear Ftrl
    `min(0.005, 1/sqrt(len(linear_feature_columns)))`, DNN Adagrad 0.001. Optimizer
    instances keep their own rates. Ftrl and Adagrad update only the rows of sparse
    gradients (embedding and linear lookups).

    Example (the paper's):
        >>> query_x_docid = crossed_column(["query", "docid"], 1_000_000)
        >>> estimator = DNNLinearCombinedClassifier(
        ...     linear_feature_columns=[query_x_docid],
        ...     dnn_feature_columns=[embedding_column(query, 32), embedding_column(docid, 32)],
        ...     dnn_hidden_units=[500, 200, 100])
    """

    def __init__(self, *, model_dir=None, linear_feature_columns=None, linear_optimizer="Ftrl",
                 dnn_feature_columns=None, dnn_optimizer="Adagrad", dnn_hidden_units=None,
                 dnn_activation_fn="relu", dnn_dropout=None, n_classes=2, weight_column=None,
                 label_vocabulary=None, config=None, warm_start_from=None,
                 loss_reduction=_common.DEFAULT_REDUCTION, batch_norm=False,
                 linear_sparse_combiner="sum", legacy_defaults=False):
        head = _common.classification_head(n_classes, weight_column, label_vocabulary, loss_reduction)
        super().__init__(head, linear_feature_columns=linear_feature_columns,
                         linear_optimizer=linear_optimizer, dnn_feature_columns=dnn_feature_columns,
                         dnn_optimizer=dnn_optimizer, dnn_hidden_units=dnn_hidden_units,
                         dnn_activation_fn=dnn_activation_fn, dnn_dropout=dnn_dropout,
                         batch_norm=batch_norm, linear_sparse_combiner=linear_sparse_combiner,
                         model_dir=model_dir, config=config, warm_start_from=warm_start_from,
                         legacy_defaults=legacy_defaults)


class DNNLinearCombinedRegressor(_Combined):
    """Wide & deep regressor.

    Default optimizers as DNNLinearCombinedClassifier's: linear Ftrl at
    `min(0.2, 1/sqrt(len(linear_feature_columns)))`, DNN Adagrad at 0.05;
    `legacy_defaults=True`: tf.estimator 2.15's, Ftrl `min(0.005, 1/sqrt(...))` and
    Adagrad 0.001.

    Example:
        >>> DNNLinearCombinedRegressor(linear_feature_columns=[x], dnn_feature_columns=[x],
        ...                            dnn_hidden_units=[16])
    """

    def __init__(self, *, model_dir=None, linear_feature_columns=None, linear_optimizer="Ftrl",
                 dnn_feature_columns=None, dnn_optimizer="Adagrad", dnn_hidden_units=None,
                 dnn_activation_fn="relu", dnn_dropout=None, label_dimension=1,
                 weight_column=None, config=None, warm_start_from=None,
                 loss_reduction=_common.DEFAULT_REDUCTION, batch_norm=False,
                 linear_sparse_combiner="sum", legacy_defaults=False):
        head = _common.regression_head(label_dimension, weight_column, loss_reduction)
        super().__init__(head, linear_feature_columns=linear_feature_columns,
                         linear_optimizer=linear_optimizer, dnn_feature_columns=dnn_feature_columns,
                         dnn_optimizer=dnn_optimizer, dnn_hidden_units=dnn_hidden_units,
                         dnn_activation_fn=dnn_activation_fn, dnn_dropout=dnn_dropout,
                         batch_norm=batch_norm, linear_sparse_combiner=linear_sparse_combiner,
                         model_dir=model_dir, config=config, warm_start_from=warm_start_from,
                         legacy_defaults=legacy_defaults)
