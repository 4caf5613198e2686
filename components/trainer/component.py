"""The trainer as a KFP v2 component: a typed shell around `executor.run`.

`trainer(...)` is what a pipeline calls. It checks every argument known when the pipeline is
built (the canned estimator's name and hyperparameters, or the module's source, embedded in the
pipeline so the compiled IR YAML carries everything), and sets the step's resources: CPU and
memory requests, and an accelerator type and count, so the same step lands on a CPU, GPU or
TPU node pool.

Outputs: `model` (a Model artifact: `serving_model/`, `eval_model/`, `trainer_result.json`,
and `model_dir/` unless `model_dir` is given) and `metrics` (the final evaluation).

Example:
    >>> task = trainer(examples=transform_task.outputs["transformed_examples"],
    ...                transform_graph=transform_task.outputs["transform_graph"],
    ...                estimator="DNNLinearCombinedClassifier", train_steps=5000,
    ...                accelerator_type="NVIDIA_TESLA_T4", accelerator_count=1)
"""

# KFP 2.17 reads component signatures itself: it knows `Optional[X]` but not `X | None`,
# and it stores mutable defaults. Hence these exemptions.
# ruff: noqa: UP045, B006

from collections.abc import Mapping
from typing import Any, Optional

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Model, Output
from kfp.dsl.pipeline_channel import PipelineChannel

from components.common.images import PIPELINE_IMAGE
from components.common.user_modules import check_defines, read_source
from components.trainer.config import TrainerConfig

__all__ = ["trainer", "trainer_op"]


@dsl.component(base_image=PIPELINE_IMAGE, install_kfp_package=False)
def trainer_op(
    examples: Input[Dataset],
    transform_graph: Input[Artifact],
    model: Output[Model],
    metrics: Output[Metrics],
    estimator: str = "",
    module_source: str = "",
    params: dict = {},
    label_key: str = "",
    train_steps: int = 2000,
    eval_steps: int = 0,
    batch_size: int = 256,
    eval_batch_size: int = 1024,
    save_checkpoints_steps: int = 0,
    keep_checkpoint_max: int = 10,
    seed: int = 42,
    model_dir: str = "",
    warm_start_from: str = "",
    strategy: str = "auto",
    steps_per_loop: int = 100,
    base_model: Optional[Input[Model]] = None,
):
    """Runs the trainer; call it through `trainer(...)`, which checks arguments."""
    import os
    import tempfile

    from components.common.kfp_values import whole_numbers
    from components.trainer.executor import TrainerConfig, run

    params = whole_numbers(params)  # KFP hands dict parameters over with float numbers
    module_file = None
    if module_source:
        module_file = os.path.join(tempfile.mkdtemp(prefix="trainer_"), "trainer_module.py")
        with open(module_file, "w") as f:
            f.write(module_source)
    result = run(TrainerConfig(
        examples_uri=examples.path, transform_graph_uri=transform_graph.path,
        model_uri=model.path, model_dir=model_dir or None,
        estimator=estimator or None, module_file=module_file, params=params,
        label_key=label_key or None, train_steps=train_steps, eval_steps=eval_steps or None,
        batch_size=batch_size, eval_batch_size=eval_batch_size,
        save_checkpoints_steps=save_checkpoints_steps or None,
        keep_checkpoint_max=keep_checkpoint_max, seed=seed, strategy=strategy,
        steps_per_loop=steps_per_loop,
        warm_start_from=base_model.path if base_model is not None else (warm_start_from or None)))
    for key, value in result.metrics.items():
        metrics.log_metric(key, value)
    model.metadata.update({"model_dir": result.model_dir, "final_step": result.final_step,
                           "task": result.task, "label_key": result.label_key})
    from components.common.kfp_files import write_metadata_file

    write_metadata_file(metrics)


def trainer(
    *,
    examples: PipelineChannel,
    transform_graph: PipelineChannel,
    estimator: str | None = None,
    module_file: str | None = None,
    params: Mapping[str, Any] | None = None,
    label_key: str | None = None,
    train_steps: int = 2000,
    eval_steps: int | None = None,
    batch_size: int = 256,
    eval_batch_size: int = 1024,
    save_checkpoints_steps: int | None = None,
    keep_checkpoint_max: int = 10,
    seed: int = 42,
    model_dir: Any = None,
    base_model: PipelineChannel | None = None,
    warm_start_from: Any = None,
    strategy: str = "auto",
    steps_per_loop: int = 100,
    cpu: str | None = None,
    memory: str | None = None,
    accelerator_type: str | None = None,
    accelerator_count: int = 0,
) -> dsl.PipelineTask:
    """Adds the trainer step to the pipeline being built, after checking its arguments.

    Args:
        examples: The transform step's `transformed_examples`.
        transform_graph: The transform step's `transform_graph`.
        estimator / module_file / params / label_key / train_steps / ... : as in
            `TrainerConfig`. A module's source is read now and embedded in the pipeline.
        model_dir: A URI (or a pipeline parameter/placeholder) for checkpoints, shared with an
            evaluator that runs beside the trainer. Defaults to inside the model artifact.
        base_model: A previous trainer's `model` output to warm-start from.
        warm_start_from: Or a model URI to warm-start from, e.g. the output of a step that
            resolves the latest blessed model ("" starts from scratch).
        strategy: "auto" (default: from TF_CONFIG and the devices the step sees, e.g.
            MirroredStrategy on a node with 2+ GPUs), or one of
            `el.distribute.STRATEGY_KINDS` ("mirrored" for this node's GPUs, "tpu", ...).
        steps_per_loop: Training steps inside one compiled call (more is faster; hooks and
            checkpoints run between calls).
        cpu / memory: Kubernetes requests, e.g. "4" and "16G".
        accelerator_type: e.g. "NVIDIA_TESLA_T4", "NVIDIA_L4" or "TPU_V5_LITEPOD"; the node pool.
        accelerator_count: Accelerators to request (needs `accelerator_type`).

    Returns:
        The task; its outputs are `model` and `metrics`.

    Raises:
        TypeError, ValueError: For an argument the executor would refuse.
        FileNotFoundError: If `module_file` does not exist.

    Example:
        >>> trainer(examples=t.outputs["transformed_examples"],
        ...         transform_graph=t.outputs["transform_graph"],
        ...         module_file="examples/chicago_taxi/trainer_module.py", train_steps=1000)
    """
    module_source = ""
    if module_file is not None:
        module_source = read_source(module_file, "module_file")
        check_defines(module_source, module_file, "model_fn",
                      "the trainer calls model_fn(features, labels, mode, params).")
    known = {name: value for name, value in dict(
        train_steps=train_steps, eval_steps=eval_steps, batch_size=batch_size,
        eval_batch_size=eval_batch_size, save_checkpoints_steps=save_checkpoints_steps,
        keep_checkpoint_max=keep_checkpoint_max, seed=seed,
        steps_per_loop=steps_per_loop).items()
        if not isinstance(value, PipelineChannel)}  # parameters are checked at run time
    TrainerConfig(  # every check the executor makes on the values known now
        examples_uri="uri-known-at-run-time", transform_graph_uri="uri-known-at-run-time",
        model_uri="uri-known-at-run-time", estimator=estimator,
        module_file=module_file, params=dict(params or {}), label_key=label_key,
        strategy=strategy, **known)
    if accelerator_count and not accelerator_type:
        raise ValueError(f"`accelerator_count` is {accelerator_count} but no "
                         "`accelerator_type` says which (e.g. 'NVIDIA_TESLA_T4').")
    if accelerator_count < 0:
        raise ValueError(f"`accelerator_count` must be >= 0; received {accelerator_count}.")
    arguments: dict[str, Any] = dict(
        examples=examples, transform_graph=transform_graph, estimator=estimator or "",
        module_source=module_source, params=dict(params or {}), label_key=label_key or "",
        train_steps=train_steps, eval_steps=eval_steps or 0, batch_size=batch_size,
        eval_batch_size=eval_batch_size, save_checkpoints_steps=save_checkpoints_steps or 0,
        keep_checkpoint_max=keep_checkpoint_max, seed=seed, model_dir=model_dir or "",
        strategy=strategy, steps_per_loop=steps_per_loop)
    if base_model is not None and warm_start_from is not None:
        raise ValueError("Give at most one of `base_model` and `warm_start_from`.")
    if base_model is not None:
        arguments["base_model"] = base_model
    if warm_start_from is not None:
        arguments["warm_start_from"] = warm_start_from
    task = trainer_op(**arguments)
    if cpu:
        task.set_cpu_request(cpu).set_cpu_limit(cpu)
    if memory:
        task.set_memory_request(memory).set_memory_limit(memory)
    if accelerator_type:
        task.set_accelerator_type(accelerator_type)
        task.set_accelerator_limit(accelerator_count or 1)
    return task
