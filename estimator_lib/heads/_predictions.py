"""What heads predict and export: every class id and name per example, the predictions a
caller selects, and the classification signatures."""

from __future__ import annotations

import tensorflow as tf

from estimator_lib import export as export_lib
from estimator_lib.heads.keys import PredictionKeys, SignatureKeys


def all_class_ids(logits: tf.Tensor, n_classes: int) -> tf.Tensor:
    """int32 `[batch, n_classes]`: 0..n-1 for every example."""
    shape = tf.concat([tf.shape(logits)[:-1], [n_classes]], axis=0)
    return tf.broadcast_to(tf.range(n_classes), shape)


def class_names(n_classes: int, vocabulary) -> tf.Tensor:
    return tf.constant(list(vocabulary) if vocabulary else [str(i) for i in range(n_classes)])


def all_classes(logits: tf.Tensor, n_classes: int, vocabulary) -> tf.Tensor:
    """string `[batch, n_classes]`: every class name for every example."""
    shape = tf.concat([tf.shape(logits)[:-1], [n_classes]], axis=0)
    return tf.broadcast_to(class_names(n_classes, vocabulary), shape)


def select(predictions: dict, keys, head: str) -> dict:
    if keys is None:
        return predictions
    keys = [keys] if isinstance(keys, str) else list(keys)
    unknown = [k for k in keys if k not in predictions]
    if unknown:
        raise ValueError(f"{head}: unknown prediction keys {unknown}; valid: {sorted(predictions)}.")
    return {k: predictions[k] for k in keys}


def classification_export_outputs(predictions, classes_key) -> dict:
    """serving_default and classify (scores = probabilities, classes = `classes_key`) and predict."""
    classification = export_lib.ClassificationOutput(
        scores=predictions[PredictionKeys.PROBABILITIES], classes=predictions[classes_key])
    return {
        SignatureKeys.DEFAULT: classification,
        SignatureKeys.CLASSIFY: classification,
        SignatureKeys.PREDICT: export_lib.PredictOutput(dict(predictions)),
    }
