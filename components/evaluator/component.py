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
`blessed`), `metrics` (Metrics), `classification_metrics` (ClassificationMetrics: ROC curve,
confusion matrix) and `report` (HTML).

Example:
    >>> task = evaluator(examples=ingest.outputs["examples"],
    ...                  transformed_examples=transform.outputs["transformed_examples"],
    ...                  transform_graph=transform.outputs["transform_graph"],
    ...                  model=trainer_task.outputs["model"],
    ...                  thresholds={"auc": {"lower_bound": 0.7, "max_decrease": 0.01}},
    ...                  slices=["payment_type"], serving_base_uri=serving_base,
    ...                  model_name="chicago_taxi")
    >>> pusher(model=trainer_task.outputs["model"], blessing=task.outputs["blessing"], ...)
"""

# KFP 2.17 reads component signatures itself: it knows `Optional[X]` but not `X | None`,
# and it stores mutable defaults. Hence these exemptions.
# ruff: noqa: UP045, B006

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from kfp import dsl
from kfp.dsl import HTML, Artifact, ClassificationMetrics, Dataset, Input, Metrics, Model, Output
from kfp.dsl.pipeline_channel import PipelineChannel

from components.common.images import PIPELINE_IMAGE
from components.evaluator.config import EvaluatorConfig

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
    model_dir: str = "",
    model: Optional[Input[Model]] = None,
    thresholds: dict = {},
    slices: list = [],
    serving_base_uri: str = "",
    model_name: str = "",
    baseline_model_uri: str = "",
    eval_split: str = "eval",
    eval_steps: int = 0,
    eval_batch_size: int = 1024,
    timeout_seconds: float = 3600.0,
    poll_seconds: float = 5.0,
):
    """Runs the evaluator; call it through `evaluator(...)`, which checks arguments."""
    import os

    from components.evaluator.executor import EvaluatorConfig, run
    from components.evaluator.kfp_outputs import log_classification_metrics, log_metrics

    if not model_dir:
        if model is None:
            raise ValueError("Give `model_dir` or a `model` input.")
        model_dir = model.metadata.get("model_dir") or os.path.join(model.path, "model_dir")
    result = run(EvaluatorConfig(
        model_dir=model_dir, examples_uri=examples.path,
        transformed_examples_uri=transformed_examples.path,
        transform_graph_uri=transform_graph.path, evaluation_uri=evaluation.path,
        blessing_uri=blessing.path, report_uri=report.path, thresholds=thresholds,
        slices=tuple(slices), serving_base_uri=serving_base_uri or None,
        model_name=model_name or None, baseline_model_uri=baseline_model_uri or None,
        eval_split=eval_split, eval_steps=eval_steps or None, eval_batch_size=eval_batch_size,
        timeout_seconds=timeout_seconds, poll_seconds=poll_seconds))
    log_metrics(result, metrics)
    log_classification_metrics(result, classification_metrics)
    blessing.metadata["blessed"] = result.blessed
    evaluation.metadata.update({"blessed": result.blessed, "final_step": result.final_step,
                                "task": result.analysis.kind.value,
                                "checkpoints_evaluated": len(result.evaluations)})
    from components.common.kfp_files import write_metadata_file

    write_metadata_file(metrics, classification_metrics)


def evaluator(
    *,
    examples: PipelineChannel,
    transformed_examples: PipelineChannel,
    transform_graph: PipelineChannel,
    model_dir: Any = None,
    model: PipelineChannel | None = None,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
    slices: Sequence[str] = (),
    serving_base_uri: Any = None,
    model_name: Any = None,
    baseline_model_uri: Any = None,
    eval_split: str = "eval",
    eval_steps: int | None = None,
    eval_batch_size: int = 1024,
    timeout_seconds: float = 3600.0,
    poll_seconds: float = 5.0,
    cpu: str | None = None,
    memory: str | None = None,
) -> dsl.PipelineTask:
    """Adds the evaluator step to the pipeline being built, after checking its arguments.

    Args:
        examples: The ingest step's `examples` (raw; the final analysis and baseline read it).
        transformed_examples: The transform step's `transformed_examples`.
        transform_graph: The transform step's `transform_graph`.
        model_dir: The trainer's model_dir URI (a constant or pipeline parameter), to run
            beside the trainer. Exactly one of `model_dir` and `model`.
        model: The trainer's `model` output, to run after it.
        thresholds / slices / serving_base_uri / model_name / baseline_model_uri /
            eval_split / eval_steps / eval_batch_size / timeout_seconds / poll_seconds:
            as in `EvaluatorConfig`.
        cpu / memory: Kubernetes requests, e.g. "2" and "8G".

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
        ...           thresholds={"auc": {"lower_bound": 0.7}})
    """
    no_model_dir = model_dir is None or (isinstance(model_dir, str) and not model_dir)
    if no_model_dir == (model is None):
        raise ValueError("Give exactly one of `model_dir` (a URI shared with the trainer, to "
                         "evaluate while it trains) and `model` (the trainer's output, to "
                         f"evaluate after it); received model_dir={model_dir!r}, "
                         f"model={model!r}.")

    def known(value, stand_in="known-at-run-time"):
        return stand_in if isinstance(value, PipelineChannel) else value

    config = EvaluatorConfig(  # every check the executor makes on the values known now
        model_dir="known-at-run-time" if no_model_dir else known(model_dir),
        examples_uri="known-at-run-time", transformed_examples_uri="known-at-run-time",
        transform_graph_uri="known-at-run-time", evaluation_uri="known-at-run-time",
        blessing_uri="known-at-run-time", thresholds=thresholds or {}, slices=slices,
        serving_base_uri=known(serving_base_uri), model_name=known(model_name),
        baseline_model_uri=known(baseline_model_uri), eval_split=eval_split,
        eval_steps=eval_steps, eval_batch_size=eval_batch_size,
        timeout_seconds=timeout_seconds, poll_seconds=poll_seconds)
    arguments: dict[str, Any] = dict(
        examples=examples, transformed_examples=transformed_examples,
        transform_graph=transform_graph, model_dir="" if no_model_dir else model_dir,
        thresholds={metric: t.to_json() for metric, t in config.thresholds.items()},
        slices=list(config.slices), serving_base_uri=serving_base_uri or "",
        model_name=model_name or "", baseline_model_uri=baseline_model_uri or "",
        eval_split=eval_split, eval_steps=eval_steps or 0, eval_batch_size=eval_batch_size,
        timeout_seconds=float(timeout_seconds), poll_seconds=float(poll_seconds))
    if model is not None:
        arguments["model"] = model
    task = evaluator_op(**arguments)
    if cpu:
        task.set_cpu_request(cpu).set_cpu_limit(cpu)
    if memory:
        task.set_memory_request(memory).set_memory_limit(memory)
    return task
