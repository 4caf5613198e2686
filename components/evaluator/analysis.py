"""The final analysis: metrics, curves and slices of one model's predictions on raw examples.

Example:
    >>> candidate = score_eval_model(eval_model, serialized)
    >>> analysis = analyze(candidate, slice_values={"payment_type": [...]})
    >>> analysis.metrics["auc"], len(analysis.roc.fpr)
    (0.91, 101)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from components.artifacts import io
from components.artifacts.transform_graph import read_feature_description
from components.evaluator.metrics import (
    CalibrationBin,
    RocCurve,
    TaskKind,
    calibration_bins,
    compute_metrics,
    confusion_matrix,
    roc_curve,
)
from components.evaluator.predictions import Scored
from components.evaluator.slicing import SliceMetrics, sliced_metrics

__all__ = ["ROC_POINTS", "Analysis", "analyze", "label_class_names"]

ROC_POINTS = 201  # points kept of the ROC curve (plots, KFP's ClassificationMetrics)


@dataclasses.dataclass(frozen=True)
class Analysis:
    """One model's analysis on the eval examples.

    Attributes:
        kind: The task.
        metrics: The model-agnostic metrics (see `metrics.TASK_METRICS`).
        roc: The ROC curve (binary classification), at most `ROC_POINTS` points.
        confusion_matrix: Actual (rows) by predicted (columns) counts (classification).
        class_names: The names of the matrix's classes.
        calibration: Predictions against outcomes by bin. For multi-class: the top
            probability against being right.
        slices: {feature: metrics per value}.
    """

    kind: TaskKind
    metrics: Mapping[str, float | None]
    roc: RocCurve | None
    confusion_matrix: list[list[int]] | None
    class_names: tuple[str, ...] | None
    calibration: list[CalibrationBin]
    slices: Mapping[str, list[SliceMetrics]]

    def to_json(self) -> dict[str, Any]:
        """The analysis as JSON data."""
        return {
            "kind": self.kind.value, "metrics": dict(self.metrics),
            "roc": self.roc.to_json() if self.roc else None,
            "confusion_matrix": self.confusion_matrix,
            "class_names": list(self.class_names) if self.class_names else None,
            "calibration": [dataclasses.asdict(b) for b in self.calibration],
            "slices": {k: [s.to_json() for s in v] for k, v in self.slices.items()},
        }


def label_class_names(transform_graph_uri: str) -> tuple[str, ...] | None:
    """The names of the label's classes, from the transform step's `feature_columns.json`.

    A label made by a vocabulary: its vocabulary's entries, by id (then `<OOV k>` for its
    out-of-vocabulary buckets). A label made by a condition (e.g. `big_tipper: tips > 0.2 *
    fare`): `not <label>` and `<label>`. Otherwise (class ids, a user module's graph, a
    regression): None, and the ids are the names.

    Raises:
        FileNotFoundError: If `transform_graph_uri` is not a transform step's graph.

    Example:
        >>> label_class_names("/runs/1/transform/transform_graph")
        ('not big_tipper', 'big_tipper')
    """
    description = read_feature_description(transform_graph_uri)
    label = description.get("label_key")
    entry = (description.get("features") or {}).get(label) if label else None
    if not entry:
        return None
    if entry.get("label_vocabulary"):  # a class label given by name: its classes, in id order
        return tuple(entry["label_vocabulary"])
    if entry.get("vocabulary_file"):
        text = io.read_text(io.join(transform_graph_uri, entry["vocabulary_file"]))
        names = text.splitlines()[:entry.get("vocabulary_size")]
        oov = int(entry.get("num_oov_buckets") or 0)
        return tuple(names) + tuple(f"<OOV {k}>" for k in range(oov))
    if entry.get("transform") == "expression" and entry.get("num_classes") == 2:
        return (f"not {label}", label)
    return None


def analyze(scored: Scored, *, slice_values: Mapping[str, Sequence[Any]] | None = None,
            num_calibration_bins: int = 10,
            class_names: Sequence[str] | None = None) -> Analysis:
    """Computes the metrics, curves and slices of `scored`.

    Args:
        scored: The model's outputs on the examples.
        slice_values: {feature: one value per example}; {} or None for no slices.
        num_calibration_bins: Calibration bins. Defaults to 10.
        class_names: The classes' names by id (e.g. `label_class_names(...)`), used when
            the model gives none (a model with a `label_vocabulary` does). None: the ids.

    Raises:
        ValueError: If `class_names` does not name every class the model predicts.

    Example:
        >>> analyze(score_eval_model(eval_model, serialized)).metrics["accuracy"]
        0.86
    """
    outputs = scored.outputs
    labels, predictions = outputs.labels, outputs.predictions
    roc = matrix = names = None
    if outputs.kind == TaskKind.REGRESSION:
        edges = np.unique(np.quantile(predictions, np.linspace(0, 1, num_calibration_bins + 1)))
        if len(edges) < 2:
            edges = np.array([edges[0], edges[0]])
        calibration = calibration_bins(labels, predictions, edges=edges)
    elif outputs.kind == TaskKind.BINARY:
        roc = roc_curve(labels, predictions)
        roc = roc.downsample(ROC_POINTS) if roc else None
        matrix = confusion_matrix(labels, predictions > 0.5, 2)
        names = _named(scored.class_names) or _given_names(class_names, 2) or ("0", "1")
        calibration = calibration_bins(labels, predictions, num_bins=num_calibration_bins)
    else:
        num_classes = predictions.shape[1]
        predicted = predictions.argmax(axis=1)
        matrix = confusion_matrix(labels, predicted, num_classes)
        names = (_named(scored.class_names) or _given_names(class_names, num_classes)
                 or tuple(str(k) for k in range(num_classes)))
        calibration = calibration_bins(predicted == labels, predictions.max(axis=1),
                                       num_bins=num_calibration_bins)
    return Analysis(kind=outputs.kind, metrics=compute_metrics(outputs), roc=roc,
                    confusion_matrix=matrix, class_names=tuple(names) if names else None,
                    calibration=calibration,
                    slices=sliced_metrics(outputs, slice_values or {}))


def _named(names: Sequence[str] | None) -> Sequence[str] | None:
    """The model's class names, unless they are only its class ids written out."""
    if names and list(names) != [str(k) for k in range(len(names))]:
        return names
    return None


def _given_names(names: Sequence[str] | None, num_classes: int) -> tuple[str, ...] | None:
    if names is None:
        return None
    if len(names) != num_classes:
        raise ValueError(f"`class_names` has {len(names)} names ({list(names)[:5]}...) but the "
                         f"model predicts {num_classes} classes.")
    return tuple(str(n) for n in names)
