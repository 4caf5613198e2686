"""The trainer as a KFP v2 component: a typed shell around `executor.run`.

`trainer(...)` is what a pipeline calls. It takes the step's `TrainerSettings` (checked when
they were made), embeds them in the pipeline as one `settings` parameter (with a module's
source, so the compiled IR YAML carries everything), and sets the step's resources: CPU and
memory requests, and an accelerator type and count, so the same step lands on a CPU, GPU or
TPU node pool. `train_steps` stays a parameter of its own: a pipeline run may override it.

Outputs: `model` (a Model artifact: `serving_model/`, `trainer_result.json`, and
`model_dir/` unless `model_dir` is given) and `metrics` (the final evaluation; empty with
`evaluate=False`, where the evaluator step evaluates every checkpoint).

Example:
    >>> task = trainer(examples=transform_task.outputs["transformed_examples"],
    ...                transform_graph=transform_task.outputs["transform_graph"],
    ...                settings=TrainerSettings(estimator="DNNLinearCombinedClassifier",
    ...                                         train_steps=5000),
    ...                resources=Resources(accelerator_type="NVIDIA_TESLA_T4"))
"""

# KFP 2.17 reads component signatures itself: it knows `Optional[X]` but not `X | None`,
# and it stores mutable defaults. Hence these exemptions.
# ruff: noqa: UP045, B006

from typing import Any, Optional

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Model, Output
from kfp.dsl.pipeline_channel import PipelineChannel

from components.common.images import PIPELINE_IMAGE
from components.common.resources import Resources
from components.common.user_modules import check_defines, read_source
from components.trainer.config import TrainerSettings

__all__ = ["trainer", "trainer_op"]


@dsl.component(base_image=PIPELINE_IMAGE, install_kfp_package=False)
def trainer_op(
    examples: Input[Dataset],
    transform_graph: Input[Artifact],
    model: Output[Model],
    metrics: Output[Metrics],
    settings: dict,
    train_steps: int,
    module_source: str = "",
    model_dir: str = "",
    warm_start_from: str = "",
    base_model: Optional[Input[Model]] = None,
    evaluate: bool = True,
):
    """Runs the trainer; call it through `trainer(...)`, which checks arguments."""
    import tempfile

    from components.common import phases

    phases.start_step()
    from console import quiet_tensorflow

    quiet_tensorflow()  # the step's log starts with its own lines
    from components.common.user_modules import write_source
    from components.trainer.executor import TrainerConfig, TrainerSettings, run
    phases.lap("imports")

    # The module as a file (the trainer copies it into the model_dir); removed at the end.
    with tempfile.TemporaryDirectory(prefix="trainer_") as workdir:
        module_file = write_source(workdir, "trainer_module.py", module_source)
        chosen = TrainerSettings.from_json(dict(settings, train_steps=train_steps,
                                                module_file=module_file))
        result = run(TrainerConfig(
            **chosen.to_json(), examples_uri=examples.path,
            transform_graph_uri=transform_graph.path, model_uri=model.path,
            model_dir=model_dir or None, evaluate=evaluate,
            warm_start_from=base_model.path if base_model is not None else (warm_start_from or None)))
    for key, value in result.metrics.items():
        metrics.log_metric(key, value)
    model.metadata.update({"model_dir": result.model_dir, "final_step": result.final_step,
                           "task": result.task, "label_key": result.label_key})
    from components.common.kfp_files import write_metadata_file

    write_metadata_file(metrics)
    phases.end_step()


def trainer(
    *,
    examples: PipelineChannel,
    transform_graph: PipelineChannel,
    settings: TrainerSettings,
    train_steps: Any = None,
    model_dir: Any = None,
    base_model: PipelineChannel | None = None,
    warm_start_from: Any = None,
    evaluate: bool = True,
    resources: Resources | None = None,
) -> dsl.PipelineTask:
    """Adds the trainer step to the pipeline being built.

    Args:
        examples: The transform step's `transformed_examples`.
        transform_graph: The transform step's `transform_graph`.
        settings: What to train and how (checked when they were made). A `module_file` is
            read now and its source embedded in the pipeline.
        train_steps: A pipeline parameter that overrides `settings.train_steps` at run time.
        model_dir: A URI (or a pipeline parameter/placeholder) for checkpoints, shared with an
            evaluator that runs beside the trainer. Defaults to inside the model artifact.
        base_model: A previous trainer's `model` output to warm-start from.
        warm_start_from: Or a model URI to warm-start from, e.g. the output of a step that
            resolves the latest blessed model ("" starts from scratch).
        evaluate: Evaluate the final checkpoint in the trainer (its `metrics` output).
            False where an evaluator step evaluates every checkpoint anyway.
        resources: The step's Kubernetes requests and accelerators (none by default).

    Returns:
        The task; its outputs are `model` and `metrics`.

    Raises:
        ValueError: If both `base_model` and `warm_start_from` are given, or the module
            defines no `model_fn`.
        FileNotFoundError: If `settings.module_file` does not exist.

    Example:
        >>> trainer(examples=t.outputs["transformed_examples"],
        ...         transform_graph=t.outputs["transform_graph"],
        ...         settings=TrainerSettings(module_file="trainer_module.py",
        ...                                  train_steps=1000),
        ...         resources=Resources(accelerator_type="NVIDIA_TESLA_T4"))
    """
    if not isinstance(settings, TrainerSettings):
        raise TypeError(f"`settings` must be TrainerSettings; received {type(settings).__name__}.")
    module_source = ""
    if settings.module_file is not None:
        module_source = read_source(settings.module_file, "module_file")
        check_defines(module_source, settings.module_file, "model_fn",
                      "the trainer calls model_fn(features, labels, mode, params).")
    if base_model is not None and warm_start_from is not None:
        raise ValueError("Give at most one of `base_model` and `warm_start_from`.")
    embedded = {k: v for k, v in settings.to_json().items() if k != "module_file"}
    arguments: dict[str, Any] = dict(
        examples=examples, transform_graph=transform_graph, settings=embedded,
        train_steps=settings.train_steps if train_steps is None else train_steps,
        module_source=module_source, model_dir=model_dir or "", evaluate=evaluate)
    if base_model is not None:
        arguments["base_model"] = base_model
    if warm_start_from is not None:
        arguments["warm_start_from"] = warm_start_from
    task = trainer_op(**arguments)
    (resources or Resources()).apply(task)
    return task
