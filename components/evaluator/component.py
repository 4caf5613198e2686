"""The evaluator as a KFP v2 component: a typed shell around `executor.run`.

`evaluator(...)` is what a pipeline calls. It checks every argument known when the pipeline
is built (thresholds, slices, the baseline, exactly one of `model_dir` and `model`), so a
mistake fails at compile time.

On a cluster the evaluator runs beside the trainer, as the paper's evaluation worker: give
both the same `model_dir` URI and no `model` input (an input would make it wait for the
trainer), and metrics stream while training runs. Locally (kfp.local runs one step at a
time) pass the trainer's `model` output: its `model_dir` metadata (or `<model>/model_dir`)
is watched, after training.

Inputs: `examples` (the ingest step's raw examples), `transformed_examples` and
`transform_graph` (the transform step's). Outputs: `evaluation` (Artifact: the metrics log,
the candidate's exports, `evaluation.json`), `blessing` (Artifact: `blessing.json`, metadata
`blessed`, `baseline_source`, `baseline_version` and `evaluated_at`: what the verdict was
judged against, and when), `metrics` (Metrics), `classification_metrics` (ClassificationMetrics: ROC curve,
confusion matrix) and `report` (HTML).

Example:
    >>> task = evaluator(examples=ingest.outputs["examples"],
    ...                  transformed_examples=transform.outputs["transformed_examples"],
    ...                  transform_graph=transform.outputs["transform_graph"],
    ...                  model=trainer_task.outputs["model"],
    ...                  settings=EvaluatorSettings(
    ...                      thresholds={"auc": {"lower_bound": 0.7, "max_decrease": 0.01}},
    ...                      slices=("payment_type",)),
    ...                  serving_base_uri=serving_base, model_name="chicago_taxi")
    >>> pusher(model=trainer_task.outputs["model"], blessing=task.outputs["blessing"], ...)
"""

# KFP 2.17 reads component signatures itself: it knows `Optional[X]` but not `X | None`,
# and it stores mutable defaults. Hence these exemptions.
# ruff: noqa: UP045, B006

from typing import Any, Optional

from kfp import dsl
from kfp.dsl import HTML, Artifact, ClassificationMetrics, Dataset, Input, Metrics, Model, Output
from kfp.dsl.pipeline_channel import PipelineChannel

from components.common.images import PIPELINE_IMAGE
from components.common.resources import Resources
from components.evaluator.config import EvaluatorConfig, EvaluatorSettings

__all__ = ["evaluator", "evaluator_op"]


@dsl.component(base_image=PIPELINE_IMAGE, install_kfp_package=False)
def evaluator_op(
    examples: Input[Dataset],
    transformed_examples: Input[Dataset],
    transform_graph: Input[Artifact],
    evaluation: Output[Artifact],
    blessing: Output[Artifact],
    metrics: Output[Metrics],
    classification_metrics: Output[ClassificationMetrics],
    report: Output[HTML],
    settings: dict,
    model_dir: str = "",
    model: Optional[Input[Model]] = None,
    serving_base_uri: str = "",
    model_name: str = "",
    baseline_model_uri: str = "",
):
    """Runs the evaluator; call it through `evaluator(...)`, which checks arguments."""
    import os

    from components.common import phases

    phases.start_step()
    from console import quiet_tensorflow

    quiet_tensorflow()  # the step's log starts with its own lines
    from components.artifacts.model import MODEL_DIR
    from components.evaluator.executor import EvaluatorConfig, EvaluatorSettings, run
    from components.evaluator.kfp_outputs import log_classification_metrics, log_metrics
    phases.lap("imports")

    if not model_dir:
        if model is None:
            raise ValueError("Give `model_dir` or a `model` input.")
        model_dir = model.metadata.get("model_dir") or os.path.join(model.path, MODEL_DIR)
    result = run(EvaluatorConfig(
        **EvaluatorSettings.from_json(settings).to_json(), model_dir=model_dir,
        examples_uri=examples.path, transformed_examples_uri=transformed_examples.path,
        transform_graph_uri=transform_graph.path, evaluation_uri=evaluation.path,
        blessing_uri=blessing.path, report_uri=report.path,
        serving_base_uri=serving_base_uri or None, model_name=model_name or None,
        baseline_model_uri=baseline_model_uri or None,
        model_uri=model.path if model is not None else None))
    log_metrics(result, metrics)
    log_classification_metrics(result, classification_metrics)
    blessing.metadata["blessed"] = result.blessed
    # What the verdict was judged against and when: the record step tells a reused
    # (cached) verdict whose baseline is no longer the served version (run_summary.py).
    import datetime

    from components.artifacts import evaluation as names

    blessing.metadata["baseline_source"] = (
        names.BASELINE_GIVEN if baseline_model_uri else
        names.BASELINE_SERVED if serving_base_uri else names.BASELINE_NONE)
    if (result.baseline or {}).get("version") is not None:
        blessing.metadata["baseline_version"] = result.baseline["version"]
    blessing.metadata["evaluated_at"] = datetime.datetime.now(datetime.UTC).isoformat(
        timespec="seconds")
    evaluation.metadata.update({"blessed": result.blessed, "final_step": result.final_step,
                                "task": result.analysis.kind.value,
                                "checkpoints_evaluated": len(result.evaluations)})
    from components.common.kfp_files import write_metadata_file

    write_metadata_file(metrics, classification_metrics)
    phases.end_step()


def evaluator(
    *,
    examples: PipelineChannel,
    transformed_examples: PipelineChannel,
    transform_graph: PipelineChannel,
    settings: EvaluatorSettings | None = None,
    model_dir: Any = None,
    model: PipelineChannel | None = None,
    serving_base_uri: Any = None,
    model_name: Any = None,
    baseline_model_uri: Any = None,
    resources: Resources | None = None,
) -> dsl.PipelineTask:
    """Adds the evaluator step to the pipeline being built, after checking its arguments.

    Args:
        examples: The ingest step's `examples` (raw; the final analysis and baseline read it).
        transformed_examples: The transform step's `transformed_examples`.
        transform_graph: The transform step's `transform_graph`.
        settings: What to judge and how (thresholds, slices, ...). Defaults to
            `EvaluatorSettings()`.
        model_dir: The trainer's model_dir URI (a constant or pipeline parameter), to run
            beside the trainer. Exactly one of `model_dir` and `model`.
        model: The trainer's `model` output, to run after it.
        serving_base_uri / model_name / baseline_model_uri: the baseline, as in
            `EvaluatorConfig` (constants or pipeline parameters).
        resources: The step's Kubernetes requests (none by default).

    Returns:
        The task; its outputs are `evaluation`, `blessing`, `metrics`,
        `classification_metrics` and `report`.

    Raises:
        TypeError, ValueError: For an argument the executor would refuse.

    Example:
        >>> evaluator(examples=i.outputs["examples"],
        ...           transformed_examples=t.outputs["transformed_examples"],
        ...           transform_graph=t.outputs["transform_graph"],
        ...           model_dir="gs://bucket/runs/1/model_dir",
        ...           settings=EvaluatorSettings(thresholds={"auc": {"lower_bound": 0.7}}))
    """
    settings = settings or EvaluatorSettings()
    no_model_dir = model_dir is None or (isinstance(model_dir, str) and not model_dir)
    if no_model_dir == (model is None):
        raise ValueError("Give exactly one of `model_dir` (a URI shared with the trainer, to "
                         "evaluate while it trains) and `model` (the trainer's output, to "
                         f"evaluate after it); received model_dir={model_dir!r}, "
                         f"model={model!r}.")

    def known(value, stand_in="known-at-run-time"):
        return stand_in if isinstance(value, PipelineChannel) else value

    EvaluatorConfig(  # the checks of the baseline's arguments that can be made now
        **settings.to_json(), model_dir="known-at-run-time" if no_model_dir else known(model_dir),
        examples_uri="known-at-run-time", transformed_examples_uri="known-at-run-time",
        transform_graph_uri="known-at-run-time", evaluation_uri="known-at-run-time",
        blessing_uri="known-at-run-time", serving_base_uri=known(serving_base_uri),
        model_name=known(model_name), baseline_model_uri=known(baseline_model_uri))
    arguments: dict[str, Any] = dict(
        examples=examples, transformed_examples=transformed_examples,
        transform_graph=transform_graph, settings=settings.to_json(),
        model_dir="" if no_model_dir else model_dir, serving_base_uri=serving_base_uri or "",
        model_name=model_name or "", baseline_model_uri=baseline_model_uri or "")
    if model is not None:
        arguments["model"] = model
    task = evaluator_op(**arguments)
    (resources or Resources()).apply(task)
    return task
