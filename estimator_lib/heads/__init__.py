"""Heads: the loss, predictions, metrics and serving signatures of a kind of problem.

A model_fn computes logits and hands the rest to a head (the paper's Head abstraction,
tf.estimator's head/):

    head = el.heads.MultiClassHead(n_classes=3)

    def model_fn(features, labels, mode):
        logits = keras.layers.Dense(head.logits_dimension)(features["x"])
        return head.create_estimator_spec(features, mode, logits, labels,
                                          optimizer=keras.optimizers.Adagrad(0.1))
"""

from estimator_lib.heads.base import Head
from estimator_lib.heads.binary_class import BinaryClassHead
from estimator_lib.heads.keys import MetricKeys, PredictionKeys, SignatureKeys
from estimator_lib.heads.multi_class import MultiClassHead
from estimator_lib.heads.multi_head import MultiHead
from estimator_lib.heads.multi_label import MultiLabelHead
from estimator_lib.heads.regression import RegressionHead

__all__ = [
    "BinaryClassHead",
    "Head",
    "MetricKeys",
    "MultiClassHead",
    "MultiHead",
    "MultiLabelHead",
    "PredictionKeys",
    "RegressionHead",
    "SignatureKeys",
]
