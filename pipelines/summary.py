"""What a user reads at the end of `estpipe run`: steps and timings, the verdict, the push.

It reads the pipeline's output artifacts (the trainer's `trainer_result.json`, the
evaluator's `blessing.json`, the pusher's `push_record.json`), not the logs.

Example:
    >>> print(summarize(run_local(config)))
    Pipeline finished in 148.2s; artifacts under /work/runs/chicago-taxi
    ...
"""

from __future__ import annotations

import json
import os
from typing import Any

from components.artifacts.blessing import BLESSING_FILE
from components.artifacts.evaluation import EVALUATION_FILE, report_path
from components.artifacts.model import TRAINER_RESULT_FILE
from components.artifacts.push import PUSH_RECORD_FILE
from pipelines.local_run import LocalRunResult
from pipelines.run_summary import run_metrics, stale_verdict

__all__ = ["read_outcome", "summarize"]

_SHOWN_METRICS = ("auc", "accuracy", "precision", "recall", "mse", "rmse", "mae")
_LOSSES = ("log_loss", "average_loss", "loss")  # one shown: the first there (the same number)


def _path(artifact: Any) -> str | None:
    return getattr(artifact, "path", None) if artifact is not None else None


def _read_json(folder: str | None, name: str) -> dict[str, Any] | None:
    if folder is None:
        return None
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def read_outcome(result: LocalRunResult) -> dict[str, Any]:
    """The trainer result, blessing, push record and report of a local run (None where
    absent)."""
    outputs = result.outputs
    return {
        "trainer": _read_json(_path(outputs.get("model")), TRAINER_RESULT_FILE),
        "blessing": _read_json(_path(outputs.get("blessing")), BLESSING_FILE),
        "push": _read_json(_path(outputs.get("pushed_model")), PUSH_RECORD_FILE),
        "evaluation_uri": _path(outputs.get("evaluation")),
        "report": _report(_path(outputs.get("evaluation"))),
    }


def _report(evaluation_uri: str | None) -> str | None:
    """The evaluator's HTML report: where its result says it wrote it (in a pipeline, its
    `report` output), else beside the evaluation."""
    if evaluation_uri is None:
        return None
    evaluation = _read_json(evaluation_uri, EVALUATION_FILE) or {}
    report = evaluation.get("paths", {}).get("report") or report_path(evaluation_uri)
    return report if os.path.isfile(report) else None


def _phases(phases: dict[str, float], shown: int = 4) -> str:
    """'training 6.1, export 2.3, start-up 0.4': the step's largest phases, in seconds."""
    largest = sorted(((v, k) for k, v in phases.items() if v >= 0.05), reverse=True)[:shown]
    return ", ".join(f"{name} {seconds:.1f}" for seconds, name in largest)


def _trained_this_run(result: LocalRunResult, trainer: dict[str, Any]) -> float | None:
    """The trainer's training seconds if it ran in this run (not reused from the cache)."""
    ran = any(s.name == "trainer" and s.status == "SUCCESS" for s in result.steps)
    seconds = float(trainer.get("train_seconds") or 0)
    return seconds if ran and seconds > 0 else None


def summarize(result: LocalRunResult) -> str:
    """A short report of a local run for the terminal."""
    if result.skipped:
        return f"No run: {result.skipped}"
    outcome = read_outcome(result)
    lines = [f"Pipeline finished in {result.seconds:.1f}s; artifacts under {result.pipeline_root}",
             "", f"  {'step':<16}{'status':<10}{'seconds':>8}   where the time went"]
    for step in result.steps:
        lines.append(f"  {step.name:<16}{step.status:<10}{step.seconds:>8.1f}   "
                     f"{_phases(step.phases)}".rstrip())
    trainer, blessing, push = outcome["trainer"], outcome["blessing"], outcome["push"]
    if trainer:
        metrics = run_metrics(trainer, blessing)
        names = [k for k in _SHOWN_METRICS if k in metrics]
        names += [k for k in _LOSSES if k in metrics][:1]
        shown = ", ".join(f"{k} {metrics[k]:.4f}" for k in names)
        lines += ["", f"Model: trained to step {trainer['final_step']} "
                      f"({trainer['train_seconds']:.1f}s of training); eval split: {shown}"]
        if trained := _trained_this_run(result, trainer):
            lines.append(f"  the run took {result.seconds / trained:.1f}x its training time "
                         f"({result.seconds:.1f}s for {trained:.1f}s of training)")
    if blessing:
        verdict = "BLESSED" if blessing.get("blessed") else "NOT BLESSED"
        lines.append(f"Evaluator: {verdict}")
        artifact = result.outputs.get("blessing")
        if note := stale_verdict(dict(getattr(artifact, "metadata", None) or {}), push):
            lines.append(f"  ! {note}")  # a verdict reused from the cache, against another baseline
        lines += [f"  - {reason}" for reason in blessing.get("reasons", [])]
    if outcome["report"]:
        lines.append(f"  report: {outcome['report']}")
    if push:
        if push.get("pushed"):
            destination = push["destination"]
            lines += ["", f"Pushed version {push['version']} to {destination}",
                      f"  serve it: estpipe serve --model-base-path "
                      f"{os.path.dirname(destination)} --model-name {push['model_name']}"]
        else:
            lines += ["", f"Not pushed ({push.get('outcome')}): {push.get('reason')}"]
    lines.append(f"Full log: {result.log_path}")
    return "\n".join(lines)
