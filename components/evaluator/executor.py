"""The evaluator's executor: streams metrics from checkpoints, then judges the final one.

`run(config)`:
1. watches the model_dir and evaluates every checkpoint once as it appears, on the
   transformed eval split, with the Estimator rebuilt from the trainer's recipe; each
   evaluation goes to the metrics log and TensorBoard as it happens (`streaming.py`). It
   works beside a running trainer and after one that finished; a restart resumes after the
   logged steps. It ends after the final checkpoint (the training-done mark) or raises
   `TimeoutError`;
2. takes the final checkpoint's serving model (the trainer's, when it exported that
   checkpoint; else exports it into the evaluation artifact) and runs it, with the label
   the transform graph computes (`components.model.eval_model`, in memory), over the RAW
   eval split: labels and predictions, the model-agnostic metrics, ROC, calibration,
   confusion matrix and slices (`analysis.py`);
3. scores the baseline (the model TF Serving serves now) on the same examples;
4. checks the thresholds (`validation.py`) and writes the blessing, the HTML report and,
   last, `evaluation.json`.

It imports no KFP. The files it writes: `components/artifacts/evaluation.py` and
`blessing.py`.

Example:
    >>> result = run(EvaluatorConfig(model_dir=..., examples_uri=..., ...,
    ...                              thresholds={"auc": {"lower_bound": 0.7}}))
    >>> result.blessed, result.reasons
    (True, ('PASSED auc: 0.9120 >= lower_bound 0.7.',))
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from typing import Any

import tensorflow as tf

import estimator_lib as el
from components import artifacts
from components.artifacts import evaluation, io
from components.artifacts import model as model_artifact
from components.artifacts.blessing import Blessing, write_blessing
from components.common.phases import phase
from components.evaluator import baseline as baseline_lib
from components.evaluator.analysis import Analysis, analyze, label_class_names
from components.evaluator.checkpoints import resolve_checkpoint
from components.evaluator.config import EvaluatorConfig, EvaluatorSettings
from components.evaluator.metrics import TASK_METRICS, TaskKind
from components.evaluator.metrics_log import CheckpointEvaluation
from components.evaluator.predictions import score_eval_model, score_serving_model
from components.evaluator.raw_examples import feature_values, read_serialized
from components.evaluator.report import render_report, write_report
from components.evaluator.streaming import evaluate_checkpoints
from components.evaluator.validation import Validation, validate
from components.model.eval_model import load_eval_model
from components.model.export import export_serving_model
from components.model.recipe import ModelRecipe

__all__ = ["EvaluatorConfig", "EvaluatorResult", "EvaluatorSettings", "run"]

_LOGGER = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class EvaluatorResult:
    """What an evaluator run found; also written as `<evaluation_uri>/evaluation.json`.

    Attributes:
        blessed: The verdict.
        reasons: Every reason (failures, notes, passed checks), one sentence each.
        final_step / final_checkpoint: The checkpoint judged.
        metrics: Its model-agnostic metrics on the raw eval split.
        analysis: Its full analysis (ROC, calibration, confusion matrix, slices).
        baseline: {"saved_model_dir", "version", "metrics"} or None, or {"error": ...}.
        validation: Every check.
        evaluations: Every checkpoint's streaming evaluation (the Estimator's metrics).
        new_steps: The steps this run evaluated (a resumed run skips logged ones).
        missed_steps: Checkpoints deleted before they could be evaluated.
        paths: Where the metrics log, report, blessing and exports are.
        seconds: Wall time of the run.
    """

    blessed: bool
    reasons: tuple[str, ...]
    final_step: int
    final_checkpoint: str
    metrics: Mapping[str, float | None]
    analysis: Analysis
    baseline: Mapping[str, Any] | None
    validation: Validation
    evaluations: tuple[CheckpointEvaluation, ...]
    new_steps: tuple[int, ...]
    missed_steps: tuple[int, ...]
    paths: Mapping[str, str]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        """The result as JSON data (what `evaluation.json` holds)."""
        return {
            "blessed": self.blessed, "reasons": list(self.reasons),
            "final_step": self.final_step, "final_checkpoint": self.final_checkpoint,
            "metrics": dict(self.metrics), "analysis": self.analysis.to_json(),
            "baseline": dict(self.baseline) if self.baseline is not None else None,
            "validation": self.validation.to_json(),
            "evaluations": [e.to_json() for e in self.evaluations],
            "new_steps": list(self.new_steps), "missed_steps": list(self.missed_steps),
            "paths": dict(self.paths), "seconds": round(self.seconds, 3),
        }


def run(config: EvaluatorConfig) -> EvaluatorResult:
    """Evaluates, analyzes and judges as `config` says; see the module docstring.

    Raises:
        FileNotFoundError: If the eval split of the raw or transformed examples is missing,
            or the model_dir fills without the trainer's recipe.
        ValueError: For a slice key the raw examples lack, or a threshold on a metric the
            model's task does not compute.
        TimeoutError: If training was not marked done and no checkpoint came for
            `config.timeout_seconds` (naming the steps evaluated, which stay logged).
    """
    start = time.time()
    _check_inputs(config)
    with phase("checkpoints"):
        stream = evaluate_checkpoints(config)
    final = stream.final
    recipe = ModelRecipe.read(config.model_dir)
    _check_threshold_metrics(config, recipe.task())

    candidate_uri = io.join(config.evaluation_uri, evaluation.CANDIDATE_DIR)
    with phase("export"):
        serving_dir = _export_candidate(config, recipe, final, candidate_uri)
    serialized = read_serialized(config.examples_uri, config.eval_split)
    _LOGGER.info("Scoring %d raw %r examples with the step-%d model.", len(serialized),
                 config.eval_split, final.step)
    with phase("scoring"):
        eval_model = load_eval_model(serving_dir, config.transform_graph_uri,
                                     label_key=recipe.resolved_label_key())
        scored = score_eval_model(eval_model, serialized, batch_size=config.eval_batch_size)
    if scored.kept is not None:  # eval labels the training split never had: left out, named
        serialized = [s for s, keep in zip(serialized, scored.kept, strict=True) if keep]
        _LOGGER.warning("Left out %d %r examples whose label no class stands for (not in the "
                        "training split): %s", sum(scored.unseen_labels.values()),
                        config.eval_split, dict(sorted(scored.unseen_labels.items())))
    slice_values = feature_values(serialized, config.slices) if config.slices else {}
    class_names = label_class_names(config.transform_graph_uri)
    analysis = analyze(scored, slice_values=slice_values, class_names=class_names,
                       num_calibration_bins=config.calibration_bins)

    baseline, no_baseline_reason = _find_baseline(config)
    baseline_analysis = baseline_error = None
    baseline_json: dict[str, Any] | None = None
    if baseline is not None:
        baseline_json = {"saved_model_dir": baseline.saved_model_dir,
                         "version": baseline.version}
        try:
            baseline_scored = score_serving_model(
                baseline.saved_model_dir, serialized, labels=scored.outputs.labels,
                kind=scored.outputs.kind, batch_size=config.eval_batch_size)
            baseline_analysis = analyze(baseline_scored, class_names=class_names,
                                        num_calibration_bins=config.calibration_bins)
            baseline_json["metrics"] = dict(baseline_analysis.metrics)
        except Exception as error:  # recorded: the change thresholds fail with it
            baseline_error = f"{type(error).__name__}: {str(error).splitlines()[0]}"
            baseline_json["error"] = baseline_error
            _LOGGER.warning("The baseline %s could not be scored: %s",
                            baseline.saved_model_dir, baseline_error)
    validation = validate(config.thresholds, analysis.metrics,
                          baseline=baseline_analysis.metrics if baseline_analysis else None,
                          no_baseline_reason=no_baseline_reason, baseline_error=baseline_error)

    blessing_path = write_blessing(config.blessing_uri, Blessing(
        blessed=validation.blessed, reasons=tuple(validation.reasons),
        metrics=analysis.metrics))
    details = {
        "model_dir": config.model_dir, "final step": final.step,
        "final checkpoint": final.checkpoint,
        "examples": f"{len(serialized)} raw examples of split {config.eval_split!r}",
        "baseline": (baseline.saved_model_dir if baseline is not None
                     else f"none: {no_baseline_reason}"),
        "checkpoints evaluated": len(stream.evaluations),
        **({"labels no class stands for (left out)": dict(sorted(
            scored.unseen_labels.items()))} if scored.unseen_labels else {}),
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    with phase("report"):
        page = render_report(evaluations=stream.evaluations, candidate=analysis,
                             baseline=baseline_analysis, validation=validation,
                             details=details, baseline_label=_baseline_label(baseline))
        report_path = write_report(config.resolved_report_uri, page)
    result = EvaluatorResult(
        blessed=validation.blessed, reasons=validation.reasons, final_step=final.step,
        final_checkpoint=final.checkpoint, metrics=dict(analysis.metrics), analysis=analysis,
        baseline=baseline_json, validation=validation, evaluations=stream.evaluations,
        new_steps=stream.new_steps, missed_steps=tuple(c.step for c in stream.missed),
        paths={"metrics_log": config.metrics_log_uri, "report": report_path,
               "blessing": blessing_path, "candidate": candidate_uri,
               "tensorboard": io.join(config.model_dir, evaluation.TENSORBOARD_EVAL_DIR)},
        seconds=time.time() - start)
    io.write_json_atomic(io.join(config.evaluation_uri, evaluation.EVALUATION_FILE), result.to_json())
    _LOGGER.info("%s at step %d (%d checks, %d failed); report: %s",
                 "BLESSED" if result.blessed else "NOT_BLESSED", final.step,
                 len(validation.checks), len(validation.failed), report_path)
    return result


def _check_inputs(config: EvaluatorConfig) -> None:
    """Fails before any waiting on inputs that cannot work."""
    artifacts.examples_files(config.examples_uri, config.eval_split)
    artifacts.examples_files(config.transformed_examples_uri, config.eval_split)
    if config.slices:
        try:
            columns = artifacts.read_ingest_result(config.examples_uri).columns
        except FileNotFoundError:
            return  # checked against the examples themselves later
        unknown = [key for key in config.slices if key not in columns]
        if unknown:
            raise ValueError(f"Slice keys {unknown} are not columns of the raw examples "
                             f"{config.examples_uri!r}; the columns are {sorted(columns)}.")


def _check_threshold_metrics(config: EvaluatorConfig, task: str) -> None:
    kinds = ([TaskKind.REGRESSION] if task == "regression"
             else [TaskKind.BINARY, TaskKind.MULTICLASS])
    computed = {name for kind in kinds for name in TASK_METRICS[kind]}
    wrong = sorted(set(config.thresholds) - computed)
    if wrong:
        raise ValueError(f"`thresholds` on {wrong}, which are not computed for a {task} model; "
                         f"its metrics are {sorted(computed)}.")


def _export_candidate(config: EvaluatorConfig, recipe: ModelRecipe, final: CheckpointEvaluation,
                      candidate_uri: str) -> str:
    """The final checkpoint's serving model: the trainer's export (when the evaluator runs
    after it), a previous attempt's, or else exported now into `candidate_uri`."""
    if config.model_uri is not None:
        trained = model_artifact.read_trainer_result(config.model_uri)
        if (trained.final_step == final.step and trained.serving_model_dir
                and tf.io.gfile.exists(trained.serving_model_dir)):
            _LOGGER.info("Using the trainer's export of step %d, %s.", final.step,
                         trained.serving_model_dir)
            return trained.serving_model_dir
    record_path = io.join(candidate_uri, evaluation.EXPORT_RECORD_FILE)
    serving_dir = io.join(candidate_uri, model_artifact.SERVING_MODEL_DIR)
    if io.exists(record_path) and tf.io.gfile.exists(serving_dir):
        record = io.read_json(record_path)
        if record.get("step") == final.step:
            _LOGGER.info("Reusing the export of step %d in %s.", final.step, candidate_uri)
            return serving_dir
    _LOGGER.info("Exporting the step-%d checkpoint to %s.", final.step, candidate_uri)
    estimator = recipe.build_estimator(
        config.model_dir, el.RunConfig(log_step_count_steps=None, save_checkpoints_secs=None))
    serving_dir = export_serving_model(
        estimator, config.transform_graph_uri, candidate_uri,
        label_key=recipe.resolved_label_key(),
        checkpoint_path=resolve_checkpoint(config.model_dir, final.checkpoint))
    io.write_json_atomic(record_path, {"step": final.step, "checkpoint": final.checkpoint})
    return serving_dir


def _find_baseline(config: EvaluatorConfig) -> tuple[baseline_lib.Baseline | None, str]:
    if config.baseline_model_uri is not None:
        return baseline_lib.resolve_baseline_uri(config.baseline_model_uri), ""
    if config.serving_base_uri is None:
        return None, "no serving base or baseline model configured"
    found = baseline_lib.resolve_served_model(config.serving_base_uri, config.model_name)
    if found is None:
        return None, (f"no version is served under "
                      f"{io.join(config.serving_base_uri, config.model_name)!r} yet: the first "
                      "push")
    _LOGGER.info("Baseline: version %d, %s.", found.version, found.saved_model_dir)
    return found, ""


def _baseline_label(baseline: baseline_lib.Baseline | None) -> str:
    if baseline is None or baseline.version is None:
        return "baseline"
    return f"baseline (v{baseline.version})"
