"""The evaluation artifact the evaluator writes.

```
<evaluation>/metrics.jsonl     one JSON line per evaluated checkpoint, as it happens
<evaluation>/candidate/        the final checkpoint's serving_model/, when the evaluator
                               exports it (not the trainer), and export.json naming the
                               checkpoint it came from (a retried evaluator reuses it)
<evaluation>/report.html       the HTML report (unless the evaluator's `report_uri` says
                               elsewhere)
<evaluation>/evaluation.json   the final analysis and validation; written last
<model_dir>/eval/              TensorBoard eval summaries, one point per checkpoint
```

Example:
    >>> metrics_log_path(evaluation_uri)
    '/runs/1/evaluator/evaluation/metrics.jsonl'
"""

from __future__ import annotations

from components.artifacts import io

__all__ = ["BASELINE_GIVEN", "BASELINE_NONE", "BASELINE_SERVED", "CANDIDATE_DIR", "EVALUATION_FILE", "EXPORT_RECORD_FILE", "METRICS_LOG_FILE",
           "REPORT_FILE", "TENSORBOARD_EVAL_DIR", "metrics_log_path", "report_path"]

METRICS_LOG_FILE = "metrics.jsonl"
EVALUATION_FILE = "evaluation.json"
REPORT_FILE = "report.html"
CANDIDATE_DIR = "candidate"
EXPORT_RECORD_FILE = "export.json"
TENSORBOARD_EVAL_DIR = "eval"  # under the model_dir, as the Estimator writes it

# Where the verdict's baseline came from (the evaluator step's blessing metadata
# `baseline_source`, beside `baseline_version` and `evaluated_at`).
BASELINE_SERVED = "served"  # the highest version under the serving base, if any
BASELINE_GIVEN = "given"  # an explicit `baseline_model_uri`
BASELINE_NONE = "none"  # no serving base and no baseline configured


def metrics_log_path(evaluation_uri: str) -> str:
    """`<evaluation_uri>/metrics.jsonl`."""
    return io.join(evaluation_uri, METRICS_LOG_FILE)


def report_path(evaluation_uri: str) -> str:
    """`<evaluation_uri>/report.html`."""
    return io.join(evaluation_uri, REPORT_FILE)
