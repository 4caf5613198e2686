"""The pusher as a Kubeflow Pipelines (v2) component: a typed shell around `executor.run`.

`pusher(...)` adds the step to the pipeline being defined and checks every argument known
then (a valid model name, a blessing unless `require_blessing=False`, examples unless the
infra validation is off), so a mistake fails when the pipeline is compiled. `pusher_op` is
the raw component. It takes the step's `PusherSettings` as one `settings` parameter;
`serving_base_uri` and `model_name` stay parameters of their own: a pipeline run may
override them.

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
    ...            serving_base_uri=serving_base, model_name="chicago_taxi",
    ...            settings=PusherSettings(keep_versions=3))
"""

# KFP 2.17 reads component signatures itself: it knows `Optional[X]` but not `X | None`.
# ruff: noqa: UP045

from typing import Any, Optional

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Model, Output
from kfp.dsl.pipeline_channel import PipelineChannel

from components.common.images import PIPELINE_IMAGE
from components.common.resources import Resources
from components.pusher.config import PusherConfig, PusherSettings

__all__ = ["pusher", "pusher_op"]


@dsl.component(base_image=PIPELINE_IMAGE, install_kfp_package=False)
def pusher_op(
    model: Input[Model],
    pushed_model: Output[Artifact],
    metrics: Output[Metrics],
    settings: dict,
    serving_base_uri: str,
    model_name: str,
    blessing: Optional[Input[Artifact]] = None,
    examples: Optional[Input[Dataset]] = None,
):
    """Pushes a blessed model to TF Serving's layout; call it through `pusher(...)`, which
    checks arguments."""
    from components.common import phases

    phases.start_step()
    from console import quiet_tensorflow

    quiet_tensorflow()  # the step's log starts with its own lines
    from components.pusher.executor import PusherConfig, PusherSettings, run
    phases.lap("imports")

    record = run(PusherConfig(
        **PusherSettings.from_json(settings).to_json(),
        model_uri=model.uri,
        serving_base_uri=serving_base_uri,
        model_name=model_name,
        pushed_model_uri=pushed_model.uri,
        blessing_uri=blessing.uri if blessing is not None else None,
        examples_uri=examples.uri if examples is not None else None,
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


def pusher(
    *,
    model: Any,
    serving_base_uri: Any,
    model_name: Any,
    settings: PusherSettings | None = None,
    blessing: Any = None,
    examples: Any = None,
    resources: Resources | None = None,
) -> dsl.PipelineTask:
    """Adds the pusher step to the pipeline being defined, after checking its arguments.

    Args:
        model: The trainer's `model` output (`serving_model/` SavedModel).
        serving_base_uri: The serving root TF Serving watches (a constant or a pipeline
            parameter); the model goes to `<serving_base_uri>/<model_name>/<version>/`.
        model_name: The model's name in TF Serving (a constant or a pipeline parameter).
        settings: How to publish (versions kept, blessing required, infra validation).
            Defaults to `PusherSettings()`.
        blessing: The evaluator's `blessing` output. Defaults to None, which needs
            `require_blessing=False`.
        examples: The ingest step's `examples` output, queried by the infra validation.
            Required unless `settings.infra_validation` is False.
        resources: The step's Kubernetes requests (none by default).

    Returns:
        The pipeline task; its outputs are `pushed_model` and `metrics`.

    Raises:
        TypeError, ValueError: For an argument known now that the executor would refuse.

    Example:
        >>> task = pusher(model=train.outputs["model"], blessing=evaluate.outputs["blessing"],
        ...               examples=ingest.outputs["examples"], serving_base_uri="/srv/models",
        ...               model_name="chicago_taxi", settings=PusherSettings(keep_versions=3))
        >>> task.outputs["pushed_model"]
    """
    settings = settings or PusherSettings()
    if not isinstance(settings, PusherSettings):
        raise TypeError(f"`settings` must be PusherSettings; received {type(settings).__name__}.")

    def known(value, stand_in="known-at-run-time"):
        return stand_in if isinstance(value, PipelineChannel) else value

    PusherConfig(  # the checks that can be made now; the URIs are known at run time
        **settings.to_json(), model_uri="model-uri-known-at-run-time",
        pushed_model_uri="pushed-model-uri-known-at-run-time",
        serving_base_uri=known(serving_base_uri), model_name=known(model_name),
        blessing_uri="known-at-run-time" if blessing is not None else None,
        examples_uri="known-at-run-time" if examples is not None else None)
    arguments: dict[str, Any] = {
        "model": model, "settings": settings.to_json(), "serving_base_uri": serving_base_uri,
        "model_name": model_name}
    if blessing is not None:
        arguments["blessing"] = blessing
    if examples is not None:
        arguments["examples"] = examples
    task = pusher_op(**arguments)
    (resources or Resources()).apply(task)
    return task
