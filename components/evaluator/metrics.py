"""Model-agnostic metrics in numpy: labels and predictions in, numbers out.

The evaluator judges a candidate and its baseline with these, on the same raw examples and
labels, whatever model produced the predictions. Every value is exact over the whole set
(no streaming approximation): AUC is the Mann-Whitney statistic with ties counted half.
A metric that is undefined on the data (AUC with one class present, precision with no
positive prediction) is None.

Example:
    >>> outputs = ModelOutputs(kind=TaskKind.BINARY, labels=np.array([0, 1, 1]),
    ...                        predictions=np.array([0.2, 0.7, 0.4]))
    >>> compute_metrics(outputs)["auc"]
    1.0
"""

from __future__ import annotations

import dataclasses
import enum

import numpy as np

__all__ = [
    "METRIC_NAMES",
    "TASK_METRICS",
    "CalibrationBin",
    "ModelOutputs",
    "RocCurve",
    "TaskKind",
    "auc",
    "calibration_bins",
    "compute_metrics",
    "confusion_matrix",
    "roc_curve",
]

_EPSILON = 1e-7  # probabilities are clipped to [eps, 1 - eps] in the log loss


class TaskKind(enum.StrEnum):
    """What the model predicts, which decides the metrics."""

    BINARY = "binary_classification"
    MULTICLASS = "multiclass_classification"
    REGRESSION = "regression"


# The Estimator's names for the task's loss, as the run summary prints them: the same value
# as `log_loss` (classification) or `mse` (regression), so thresholds may use either name.
ESTIMATOR_LOSS_NAMES = ("average_loss", "loss")
_TASK_LOSS = {"binary_classification": "log_loss", "multiclass_classification": "log_loss",
              "regression": "mse"}
TASK_METRICS: dict[TaskKind, tuple[str, ...]] = {
    TaskKind.BINARY: ("example_count", "auc", "accuracy", "precision", "recall", "log_loss",
                      "prediction_mean", "label_mean", *ESTIMATOR_LOSS_NAMES),
    TaskKind.MULTICLASS: ("example_count", "auc", "accuracy", "log_loss",
                          *ESTIMATOR_LOSS_NAMES),
    TaskKind.REGRESSION: ("example_count", "mse", "rmse", "mae", "prediction_mean",
                          "label_mean", *ESTIMATOR_LOSS_NAMES),
}
METRIC_NAMES = frozenset(name for names in TASK_METRICS.values() for name in names)


@dataclasses.dataclass(frozen=True)
class ModelOutputs:
    """A model's predictions on a set of examples, with their labels.

    Attributes:
        kind: The task.
        labels: [n] class ids (classification) or values (regression).
        predictions: [n]: the probability of class 1 (binary), the predicted value
            (regression); for multi-class, [n, classes] probabilities.
    """

    kind: TaskKind
    labels: np.ndarray
    predictions: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "kind", TaskKind(self.kind))
        labels, predictions = np.asarray(self.labels), np.asarray(self.predictions)
        expected_rank = 2 if self.kind == TaskKind.MULTICLASS else 1
        if labels.ndim != 1 or predictions.ndim != expected_rank:
            raise ValueError(f"{self.kind.value}: expected labels [n] and predictions "
                             f"{'[n, classes]' if expected_rank == 2 else '[n]'}; received "
                             f"shapes {labels.shape} and {predictions.shape}.")
        if len(labels) != len(predictions):
            raise ValueError(f"{len(labels)} labels but {len(predictions)} predictions.")
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "predictions", predictions)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, rows: np.ndarray) -> ModelOutputs:
        """The outputs of some examples: `rows` is a boolean mask or an index array."""
        return ModelOutputs(self.kind, self.labels[rows], self.predictions[rows])

    @property
    def scores(self) -> np.ndarray:
        """[n]: what calibration and ROC read (class 1's probability, or the value)."""
        if self.kind == TaskKind.MULTICLASS:
            return self.predictions.max(axis=1)
        return self.predictions.astype(np.float64)


@dataclasses.dataclass(frozen=True)
class RocCurve:
    """Points of a ROC curve, from the highest threshold (0, 0) to the lowest (1, 1)."""

    fpr: list[float]
    tpr: list[float]
    thresholds: list[float]

    def downsample(self, max_points: int = 101) -> RocCurve:
        """At most `max_points` evenly spaced points, the two ends kept (for plots, KFP)."""
        if len(self.fpr) <= max_points:
            return self
        index = np.unique(np.linspace(0, len(self.fpr) - 1, max_points).round().astype(int))
        return RocCurve([self.fpr[i] for i in index], [self.tpr[i] for i in index],
                        [self.thresholds[i] for i in index])

    def to_json(self) -> dict[str, list[float]]:
        """The curve as JSON data."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class CalibrationBin:
    """Examples whose prediction falls in [lower, upper): how many, and the two means."""

    lower: float
    upper: float
    count: int
    prediction_mean: float | None
    label_mean: float | None


def compute_metrics(outputs: ModelOutputs) -> dict[str, float | None]:
    """Every metric of `TASK_METRICS[outputs.kind]`, for all of `outputs`.

    Returns:
        {name: value}; None where a metric is undefined on this data.

    Raises:
        ValueError: If `outputs` is empty.

    Example:
        >>> compute_metrics(ModelOutputs(TaskKind.REGRESSION, np.array([1.0, 3.0]),
        ...                              np.array([2.0, 2.0])))["mae"]
        1.0
    """
    if len(outputs) == 0:
        raise ValueError("No examples: metrics need at least one labeled prediction.")
    metrics = _compute(outputs)
    loss = metrics[_TASK_LOSS[outputs.kind.value]]
    return metrics | dict.fromkeys(ESTIMATOR_LOSS_NAMES, loss)


def _compute(outputs: ModelOutputs) -> dict[str, float | None]:
    labels, predictions = outputs.labels, outputs.predictions
    if outputs.kind == TaskKind.REGRESSION:
        labels, predictions = labels.astype(np.float64), predictions.astype(np.float64)
        errors = predictions - labels
        mse = float(np.mean(errors ** 2))
        return {"example_count": float(len(labels)), "mse": mse, "rmse": float(np.sqrt(mse)),
                "mae": float(np.mean(np.abs(errors))),
                "prediction_mean": float(predictions.mean()),
                "label_mean": float(labels.mean())}
    labels = labels.astype(np.int64)
    if outputs.kind == TaskKind.BINARY:
        probabilities = predictions.astype(np.float64)
        predicted = probabilities > 0.5
        positive = labels == 1
        tp = int(np.sum(predicted & positive))
        clipped = np.clip(probabilities, _EPSILON, 1 - _EPSILON)
        return {
            "example_count": float(len(labels)),
            "auc": auc(labels, probabilities),
            "accuracy": float(np.mean(predicted == positive)),
            "precision": _ratio(tp, int(predicted.sum())),
            "recall": _ratio(tp, int(positive.sum())),
            "log_loss": float(-np.mean(np.where(positive, np.log(clipped),
                                                np.log(1 - clipped)))),
            "prediction_mean": float(probabilities.mean()),
            "label_mean": float(labels.mean()),
        }
    probabilities = predictions.astype(np.float64)
    num_classes = probabilities.shape[1]
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"Class ids must be in [0, {num_classes}); received labels from "
                         f"{labels.min()} to {labels.max()}.")
    per_class = [auc(labels == k, probabilities[:, k]) for k in range(num_classes)]
    defined = [value for value in per_class if value is not None]
    picked = np.clip(probabilities[np.arange(len(labels)), labels], _EPSILON, 1.0)
    return {
        "example_count": float(len(labels)),
        "auc": float(np.mean(defined)) if defined else None,  # one-vs-rest, macro average
        "accuracy": float(np.mean(probabilities.argmax(axis=1) == labels)),
        "log_loss": float(-np.mean(np.log(picked))),
    }


def auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """The exact area under the ROC curve: P(score of a positive > score of a negative).

    Tied scores count half (the Mann-Whitney U statistic over average ranks).

    Args:
        labels: [n] 0/1 (or bool) labels.
        scores: [n] scores, higher meaning more likely positive.

    Returns:
        The AUC, or None if only one class is present.

    Example:
        >>> auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
        0.75
    """
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    ranks = _average_ranks(scores)
    u = ranks[labels].sum() - positives * (positives + 1) / 2.0
    return float(u / (positives * negatives))


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> RocCurve | None:
    """The ROC curve at every distinct score (the exact curve `auc` integrates).

    Returns:
        The curve, or None if only one class is present. The first point (0, 0) has the
        threshold max(1, highest score), above every score.

    Example:
        >>> roc_curve(np.array([0, 1]), np.array([0.3, 0.6])).tpr
        [0.0, 1.0, 1.0]
    """
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_labels = scores[order], labels[order]
    # The last index of each run of equal scores: a threshold admits the whole run.
    ends = np.flatnonzero(np.diff(sorted_scores) != 0).tolist() + [len(scores) - 1]
    true_positives = np.cumsum(sorted_labels)[ends]
    false_positives = np.asarray(ends) + 1 - true_positives
    top = max(1.0, float(sorted_scores[0]))
    return RocCurve(fpr=[0.0, *(false_positives / negatives).tolist()],
                    tpr=[0.0, *(true_positives / positives).tolist()],
                    thresholds=[top, *sorted_scores[ends].tolist()])


def calibration_bins(labels: np.ndarray, predictions: np.ndarray, *, num_bins: int = 10,
                     edges: np.ndarray | None = None) -> list[CalibrationBin]:
    """Predictions against outcomes, bin by bin (a reliability diagram's data).

    Args:
        labels: [n] labels (0/1 for binary classification, values for regression).
        predictions: [n] predicted probabilities or values.
        num_bins: Bins, when `edges` is not given. Defaults to 10.
        edges: Bin edges (num_bins + 1, increasing). Defaults to [0, 1] cut evenly for
            probabilities; pass quantiles for regression. The last bin includes its upper
            edge.

    Returns:
        One `CalibrationBin` per bin; empty bins have None means.

    Example:
        >>> [b.count for b in calibration_bins(np.array([0, 1]), np.array([0.1, 0.9]),
        ...                                    num_bins=2)]
        [1, 1]
    """
    labels = np.asarray(labels, dtype=np.float64)
    predictions = np.asarray(predictions, dtype=np.float64)
    if edges is None:
        edges = np.linspace(0.0, 1.0, num_bins + 1)
    edges = np.asarray(edges, dtype=np.float64)
    index = np.clip(np.searchsorted(edges, predictions, side="right") - 1, 0, len(edges) - 2)
    bins = []
    for i in range(len(edges) - 1):
        mask = index == i
        count = int(mask.sum())
        bins.append(CalibrationBin(
            lower=float(edges[i]), upper=float(edges[i + 1]), count=count,
            prediction_mean=float(predictions[mask].mean()) if count else None,
            label_mean=float(labels[mask].mean()) if count else None))
    return bins


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray,
                     num_classes: int) -> list[list[int]]:
    """Counts of (actual row, predicted column) class pairs.

    Example:
        >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2)
        [[1, 0], [1, 1]]
    """
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels, np.int64), np.asarray(predicted, np.int64)), 1)
    return matrix.tolist()


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_values) != 0) + 1]
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks
