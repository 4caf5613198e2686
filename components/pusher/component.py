"""The pusher as a Kubeflow Pipelines (v2) component: a typed shell around `executor.run`.

`pusher(...)` adds the step to the pipeline being defined and checks every argument known
then (a valid model name, a blessing unless `require_blessing=False`, examples unless the
infra validation is off), so a mistake fails when the pipeline is compiled. `pusher_op` is
the raw component.

Inputs: `model` (Model: `serving_model/`, `trainer_result.json`), `blessing` (optional
Artifact: `blessing.json`) and `examples` (Dataset: the ingest step's raw examples, for the
infra validation). Outputs: `pushed_model` (Artifact: `push_record.json`; metadata `pushed`,
`outcome`, `reason`, `model_name`, and `version`, `push_destination`, `fingerprint` when
there is one) and `metrics` (`pushed` 0/1, `version`). A model that is not pushed (not blessed, already pushed, failing the infra
validation) is an outcome: the step succeeds and the record says why.

Example:
    >>> @dsl.pipeline(name="taxi")
    ... def taxi(serving_base: str = "gs://bucket/serving"):
    ...     ...
    ...     pusher(model=trainer_task.outputs["model"],
    ...            blessing=evaluator_task.outputs["blessing"],
    ...            examples=ingest_task.outputs["examples"],
    ...            serving_base_uri=serving_base, model_name="chicago_taxi")
"""

# KFP 2.17 reads component signatures itself: it knows `Optional[X]` but not `X | None`.
# ruff: noqa: UP045

from typing import Any, Optional

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Model, Output
from kfp.dsl.pipeline_channel import PipelineChannel

from components.common.images import PIPELINE_IMAGE
from components.common.resources import Resources
from components.pusher.config import InfraValidation, PusherConfig

__all__ = ["pusher", "pusher_op"]


@dsl.component(base_image=PIPELINE_IMAGE, install_kfp_package=False)
def pusher_op(
    model: Input[Model],
    pushed_model: Output[Artifact],
    metrics: Output[Metrics],
    serving_base_uri: str,
    model_name: str,
    keep_versions: int = 5,
    require_blessing: bool = True,
    infra_validation: bool = True,
    validation_split: str = "eval",
    validation_examples: int = 16,
    validation_timeout_seconds: float = 300.0,
    blessing: Optional[Input[Artifact]] = None,
    examples: Optional[Input[Dataset]] = None,
):
    """Pushes a blessed model to TF Serving's layout; see components/pusher/executor.py."""
    from components.common import phases

    phases.start_step()
    from console import quiet_tensorflow

    quiet_tensorflow()  # the step's log starts with its own lines
    from components.pusher.executor import InfraValidation, PusherConfig, run
    phases.lap("imports")

    record = run(PusherConfig(
        model_uri=model.uri,
        serving_base_uri=serving_base_uri,
        model_name=model_name,
        pushed_model_uri=pushed_model.uri,
        blessing_uri=blessing.uri if blessing is not None else None,
        examples_uri=examples.uri if examples is not None else None,
        keep_versions=keep_versions,
        require_blessing=require_blessing,
        infra_validation=InfraValidation(
            split=validation_split, num_examples=validation_examples,
            timeout_seconds=validation_timeout_seconds) if infra_validation else None,
    ))
    metadata = {
        "pushed": record.pushed, "outcome": str(record.outcome), "version": record.version,
        "push_destination": record.destination, "fingerprint": record.fingerprint,
        "model_name": record.model_name, "reason": record.reason}
    pushed_model.metadata.update({k: v for k, v in metadata.items() if v is not None})
    metrics.log_metric("pushed", 1 if record.pushed else 0)
    if record.version is not None:
        metrics.log_metric("version", record.version)
    from components.common.kfp_files import write_metadata_file

    write_metadata_file(metrics)
    phases.end_step()


_PLACEHOLDERS = {"model_uri": "model-uri-known-at-run-time",
                 "pushed_model_uri": "pushed-model-uri-known-at-run-time",
                 "blessing_uri": "blessing-uri-known-at-run-time",
                 "examples_uri": "examples-uri-known-at-run-time",
                 "serving_base_uri": "serving-base-known-at-run-time",
                 "model_name": "model-name-known-at-run-time",
                 "keep_versions": 1}


def _known(value: Any, field: str) -> Any:
    """The value if it is a constant; a valid stand-in if it is a pipeline parameter."""
    return _PLACEHOLDERS[field] if isinstance(value, PipelineChannel) else value


def pusher(
    *,
    model: Any,
    serving_base_uri: str,
    model_name: str,
    blessing: Any = None,
    examples: Any = None,
    keep_versions: int = 5,
    require_blessing: bool = True,
    infra_validation: InfraValidation | None = InfraValidation(),  # noqa: B008 (frozen)
    resources: Resources | None = None,
) -> dsl.PipelineTask:
    """Adds the pusher step to the pipeline being defined, after checking its arguments.

    Args:
        model: The trainer's `model` output (`serving_model/` SavedModel).
        serving_base_uri: The serving root TF Serving watches (a constant or a pipeline
            parameter); the model goes to `<serving_base_uri>/<model_name>/<version>/`.
        model_name: The model's name in TF Serving (a constant or a pipeline parameter).
        blessing: The evaluator's `blessing` output. Defaults to None, which needs
            `require_blessing=False`.
        examples: The ingest step's `examples` output, queried by the infra validation.
            Required unless `infra_validation` is None.
        keep_versions: How many versions to keep. Defaults to 5.
        require_blessing: Whether a blessing must be wired in. Defaults to True.
        infra_validation: How to query the model in a fresh process before publishing it
            (`InfraValidation`: split, number of examples, time limit). Defaults to
            `InfraValidation()`; None publishes without querying.
        resources: The step's Kubernetes requests (none by default).

    Returns:
        The pipeline task; its outputs are `pushed_model` and `metrics`.

    Raises:
        TypeError, ValueError: For an argument known now that the executor would refuse.

    Example:
        >>> task = pusher(model=train.outputs["model"], blessing=evaluate.outputs["blessing"],
        ...               examples=ingest.outputs["examples"], serving_base_uri="/srv/models",
        ...               model_name="chicago_taxi", keep_versions=3)
        >>> task.outputs["pushed_model"]
    """
    PusherConfig(
        model_uri=_PLACEHOLDERS["model_uri"],
        serving_base_uri=_known(serving_base_uri, "serving_base_uri"),
        model_name=_known(model_name, "model_name"),
        pushed_model_uri=_PLACEHOLDERS["pushed_model_uri"],
        blessing_uri=_PLACEHOLDERS["blessing_uri"] if blessing is not None else None,
        examples_uri=_PLACEHOLDERS["examples_uri"] if examples is not None else None,
        keep_versions=_known(keep_versions, "keep_versions"),
        require_blessing=require_blessing,
        infra_validation=infra_validation)
    options = infra_validation or InfraValidation()
    arguments: dict[str, Any] = {
        "model": model, "serving_base_uri": serving_base_uri, "model_name": model_name,
        "keep_versions": keep_versions, "require_blessing": require_blessing,
        "infra_validation": infra_validation is not None,
        "validation_split": options.split, "validation_examples": options.num_examples,
        "validation_timeout_seconds": float(options.timeout_seconds),
    }
    if blessing is not None:
        arguments["blessing"] = blessing
    if examples is not None:
        arguments["examples"] = examples
    task = pusher_op(**arguments)
    (resources or Resources()).apply(task)
    return task
