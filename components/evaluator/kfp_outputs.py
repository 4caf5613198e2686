"""Filling the Kubeflow UI's artifacts from an evaluator result.

`Metrics`: the final checkpoint's model-agnostic metrics, the baseline's (`baseline_<name>`),
`final_step`, `checkpoints_evaluated` and `blessed` (1 or 0). `ClassificationMetrics`: the
ROC curve (binary classification) and the confusion matrix (classification). The artifacts
are passed in (duck-typed: `log_metric`, `log_roc_curve`, `log_confusion_matrix`), so this
module imports no KFP.

Example:
    >>> log_metrics(result, metrics)                       # inside the KFP component
    >>> log_classification_metrics(result, classification_metrics)
"""

from __future__ import annotations

import math

from components.evaluator.executor import EvaluatorResult

__all__ = ["log_classification_metrics", "log_metrics"]


def log_metrics(result: EvaluatorResult, metrics) -> None:
    """Logs the scalar results into a KFP `Metrics` artifact.

    Args:
        result: What `executor.run` returned.
        metrics: A `kfp.dsl.Metrics` output artifact.
    """
    for name, value in result.metrics.items():
        if _finite(value):
            metrics.log_metric(name, float(value))
    for name, value in ((result.baseline or {}).get("metrics") or {}).items():
        if _finite(value):
            metrics.log_metric(f"baseline_{name}", float(value))
    metrics.log_metric("final_step", float(result.final_step))
    metrics.log_metric("checkpoints_evaluated", float(len(result.evaluations)))
    metrics.log_metric("blessed", 1.0 if result.blessed else 0.0)


def log_classification_metrics(result: EvaluatorResult, classification_metrics) -> bool:
    """Logs the ROC curve and confusion matrix into a KFP `ClassificationMetrics` artifact.

    Returns:
        Whether anything was logged (nothing for a regression model).
    """
    analysis = result.analysis
    logged = False
    if analysis.roc is not None:
        roc = analysis.roc
        classification_metrics.log_roc_curve(
            list(roc.fpr), list(roc.tpr), [min(1.0, t) for t in roc.thresholds])
        logged = True
    if analysis.confusion_matrix is not None:
        classification_metrics.log_confusion_matrix(
            list(analysis.class_names), [list(map(int, row)) for row in analysis.confusion_matrix])
        logged = True
    return logged


def _finite(value) -> bool:
    return value is not None and math.isfinite(value)
