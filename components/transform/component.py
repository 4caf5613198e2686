"""The transform step as a KFP v2 component: a typed shell around `executor.run`.

`transform(...)` is what a pipeline calls. It checks its arguments when the pipeline is built
(exactly one of a spec and a module; the spec parsed and validated; the module present and
defining `preprocessing_fn`) and embeds the spec's YAML (a Python spec's converted to YAML) or
the module's source in the pipeline, so the compiled IR YAML carries everything the step needs. The spec is checked against the
schema at run time, before any Beam work, when the schema artifact exists.

Example:
    >>> from kfp import dsl
    >>> from components.transform.component import transform
    >>> @dsl.pipeline(name="taxi")
    ... def taxi_pipeline():
    ...     ingest_task = ingest(...)
    ...     transform_task = transform(
    ...         examples=ingest_task.outputs["examples"], schema=ingest_task.outputs["schema"],
    ...         settings=TransformSettings(spec_file="examples/chicago_taxi/transform_spec.yaml"))
    ...     trainer(examples=transform_task.outputs["transformed_examples"],
    ...             transform_graph=transform_task.outputs["transform_graph"], ...)
"""



from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Output, pipeline_channel

from components.common.images import PIPELINE_IMAGE
from components.common.resources import Resources
from components.common.user_modules import check_defines, read_source
from components.transform.config import TransformSettings
from components.transform.python_spec import python_spec_from_source
from components.transform.spec import dump_spec, parse_spec
from components.transform.spec_loading import is_python_spec


@dsl.component(base_image=PIPELINE_IMAGE, install_kfp_package=False)
def transform_op(
    examples: Input[Dataset],
    schema: Input[Artifact],
    transformed_examples: Output[Dataset],
    transform_graph: Output[Artifact],
    metrics: Output[Metrics],
    settings: dict,
    spec_yaml: str = "",
    module_source: str = "",
):
    """Runs the transform step; call it through `transform(...)`, which checks arguments."""
    import tempfile

    from components.common import phases

    phases.start_step()
    from console import quiet_tensorflow

    quiet_tensorflow()  # the step's log starts with its own lines
    from components.common.user_modules import write_source
    from components.transform.config import TransformConfig, TransformSettings
    from components.transform.executor import run
    phases.lap("imports")

    # The spec and module as files the executor reads; removed when the step ends.
    with tempfile.TemporaryDirectory(prefix="transform_") as workdir:
        spec_file = write_source(workdir, "transform_spec.yaml", spec_yaml)
        module_file = write_source(workdir, "preprocessing_module.py", module_source)
        chosen = TransformSettings.from_json(dict(settings, spec_file=spec_file,
                                                  module_file=module_file))
        result = run(TransformConfig(
            **chosen.to_json(), examples_uri=examples.path, schema_uri=schema.path,
            transformed_examples_uri=transformed_examples.path,
            transform_graph_uri=transform_graph.path))
    for split, rows in result.rows.items():
        metrics.log_metric(f"{split}_rows", rows)
    metrics.log_metric("analyzed_rows", result.analyzed_rows)
    for split, unseen in result.unseen_labels.items():  # class labels training never had
        metrics.log_metric(f"{split}_unseen_label_rows", sum(unseen.values()))
    transform_graph.metadata["label_key"] = result.label_key or ""
    transformed_examples.metadata["splits"] = sorted(result.rows)
    transformed_examples.metadata["unseen_labels"] = {
        split: dict(unseen) for split, unseen in result.unseen_labels.items()}
    from components.common.kfp_files import write_metadata_file

    write_metadata_file(metrics)
    phases.end_step()


def transform(
    *,
    examples: pipeline_channel.PipelineChannel,
    schema: pipeline_channel.PipelineChannel,
    settings: TransformSettings,
    resources: Resources | None = None,
) -> dsl.PipelineTask:
    """Adds the transform step to the pipeline being built, after checking its inputs.

    Args:
        examples: The ingest step's examples output (`Split-<name>/*.tfrecord.gz`).
        schema: The ingest step's schema output (a folder with `schema.pbtxt`).
        settings: The step's settings (checked when made). A YAML spec's text is embedded
            in the pipeline; a `.py` spec (estimator_lib feature columns, see
            `python_spec.py`) runs here (loading TensorFlow) and the YAML it converts to is
            embedded; a module's source is embedded.
        resources: The step's Kubernetes requests (none by default).

    Returns:
        The task; its outputs are `transformed_examples`, `transform_graph` and `metrics`.

    Raises:
        ValueError: If the module defines no `preprocessing_fn`.
        SpecError: If the spec is not valid (every problem listed).
        FileNotFoundError: If the spec or module file does not exist.
    """
    if not isinstance(settings, TransformSettings):
        raise TypeError(f"`settings` must be TransformSettings; received "
                        f"{type(settings).__name__}.")
    spec_yaml = module_source = ""
    spec_file, module_file = settings.spec_file, settings.module_file
    if spec_file is not None and is_python_spec(spec_file):
        # The Python form is a front end: the pipeline carries the YAML it converts to.
        source = read_source(spec_file, "spec_file")
        spec_yaml = dump_spec(python_spec_from_source(source, origin=spec_file))
    elif spec_file is not None:
        spec_yaml = read_source(spec_file, "spec_file")
        parse_spec(spec_yaml, origin=spec_file)
    else:
        module_source = read_source(module_file, "module_file")
        check_defines(module_source, module_file, "preprocessing_fn",
                      "the transform step calls preprocessing_fn(inputs) -> dict.")
    embedded = {k: v for k, v in settings.to_json().items()
                if k not in ("spec_file", "module_file")}
    task = transform_op(examples=examples, schema=schema, settings=embedded,
                        spec_yaml=spec_yaml, module_source=module_source)
    (resources or Resources()).apply(task)
    return task
