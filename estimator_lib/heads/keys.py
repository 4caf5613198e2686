"""The string keys heads use: prediction keys, metric keys and signature keys.

They are tf.estimator's, so tools keyed on tf.estimator's names (dashboards, early-stopping
on `average_loss`, TF Serving clients asking for `classification`) keep working.
"""

from __future__ import annotations


class PredictionKeys:
    """Keys of the predictions dict a head returns.

    Example:
        >>> head.predictions(logits)[PredictionKeys.PROBABILITIES]
    """

    LOGITS = "logits"
    LOGISTIC = "logistic"
    PROBABILITIES = "probabilities"
    CLASS_IDS = "class_ids"
    CLASSES = "classes"
    ALL_CLASS_IDS = "all_class_ids"
    ALL_CLASSES = "all_classes"
    PREDICTIONS = "predictions"


class MetricKeys:
    """Keys of the eval metrics a head creates (a named head suffixes them with `/<name>`).

    The Estimator reports `loss` (the mean of the batch losses) itself, so no single head
    creates a metric under that key.

    Example:
        >>> MetricKeys.ACCURACY_AT_THRESHOLD % 0.5
        'accuracy/positive_threshold_0.5'
    """

    LOSS = "loss"
    LOSS_MEAN = "average_loss"
    LOSS_REGULARIZATION = "regularization_loss"
    ACCURACY = "accuracy"
    PRECISION = "precision"
    RECALL = "recall"
    ACCURACY_BASELINE = "accuracy_baseline"
    AUC = "auc"
    AUC_PR = "auc_precision_recall"
    LABEL_MEAN = "label/mean"
    PREDICTION_MEAN = "prediction/mean"
    ACCURACY_AT_THRESHOLD = "accuracy/positive_threshold_%g"
    PRECISION_AT_THRESHOLD = "precision/positive_threshold_%g"
    RECALL_AT_THRESHOLD = "recall/positive_threshold_%g"
    PROBABILITY_MEAN_AT_CLASS = "probability_mean/class%d"
    AUC_AT_CLASS = "auc/class%d"
    AUC_PR_AT_CLASS = "auc_precision_recall/class%d"
    PROBABILITY_MEAN_AT_NAME = "probability_mean/%s"
    AUC_AT_NAME = "auc/%s"
    AUC_PR_AT_NAME = "auc_precision_recall/%s"


class SignatureKeys:
    """Keys of the export outputs (SavedModel signatures) a head returns in PREDICT.

    Example:
        >>> exported = tf.saved_model.load(export_dir)
        >>> exported.signatures[SignatureKeys.CLASSIFY](inputs=serialized_examples)
    """

    DEFAULT = "serving_default"
    CLASSIFY = "classification"
    REGRESS = "regression"
    PREDICT = "predict"
