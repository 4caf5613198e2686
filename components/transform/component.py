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
    ...         spec_file="examples/chicago_taxi/transform_spec.yaml")
    ...     trainer(examples=transform_task.outputs["transformed_examples"],
    ...             transform_graph=transform_task.outputs["transform_graph"], ...)
"""


from collections.abc import Sequence

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Output, pipeline_channel

from components.common.images import PIPELINE_IMAGE
from components.common.user_modules import check_defines, read_source
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
    spec_yaml: str = "",
    module_source: str = "",
    analyze_splits: list = ["train"],  # noqa: B006 (KFP stores defaults; never mutated)
    transform_splits: list = [],  # noqa: B006 (empty: every split of `examples`)
    beam_pipeline_args: list = [],  # noqa: B006
):
    """Runs the transform step; call it through `transform(...)`, which checks arguments."""
    import os
    import tempfile

    from console import quiet_tensorflow

    quiet_tensorflow()  # the step's log starts with its own lines
    from components.transform.executor import TransformConfig, run

    workdir = tempfile.mkdtemp(prefix="transform_")
    spec_file = module_file = None
    if spec_yaml:
        spec_file = os.path.join(workdir, "transform_spec.yaml")
        with open(spec_file, "w") as f:
            f.write(spec_yaml)
    if module_source:
        module_file = os.path.join(workdir, "preprocessing_module.py")
        with open(module_file, "w") as f:
            f.write(module_source)
    result = run(TransformConfig(
        examples_uri=examples.path, schema_uri=schema.path,
        transformed_examples_uri=transformed_examples.path,
        transform_graph_uri=transform_graph.path,
        spec_file=spec_file, module_file=module_file,
        analyze_splits=tuple(analyze_splits),
        transform_splits=tuple(transform_splits) or None,
        beam_pipeline_args=tuple(beam_pipeline_args)))
    for split, rows in result.rows.items():
        metrics.log_metric(f"{split}_rows", rows)
    metrics.log_metric("analyzed_rows", result.analyzed_rows)
    transform_graph.metadata["label_key"] = result.label_key or ""
    transformed_examples.metadata["splits"] = sorted(result.rows)
    from components.common.kfp_files import write_metadata_file

    write_metadata_file(metrics)


def transform(
    *,
    examples: pipeline_channel.PipelineChannel,
    schema: pipeline_channel.PipelineChannel,
    spec_file: str | None = None,
    module_file: str | None = None,
    analyze_splits: Sequence[str] = ("train",),
    transform_splits: Sequence[str] | None = None,
    beam_pipeline_args: Sequence[str] = (),
) -> dsl.PipelineTask:
    """Adds the transform step to the pipeline being built, after checking its arguments.

    Args:
        examples: The ingest step's examples output (`Split-<name>/*.tfrecord.gz`).
        schema: The ingest step's schema output (a folder with `schema.pbtxt`).
        spec_file: A local YAML feature spec; its text is embedded in the pipeline. A `.py`
            file is a Python spec (estimator_lib feature columns, see `python_spec.py`): it
            runs here (loading TensorFlow) and the YAML it converts to is embedded. Exactly
            one of `spec_file` and `module_file`.
        module_file: A local Python file defining `preprocessing_fn` (and optionally
            `LABEL_KEY`); its source is embedded in the pipeline.
        analyze_splits: The splits the analyzers see. Defaults to ("train",).
        transform_splits: The splits to transform. Defaults to None: every split.
        beam_pipeline_args: Beam options; no runner (or DirectRunner) runs Beam's FnApiRunner
            in the component's container.

    Returns:
        The task; its outputs are `transformed_examples`, `transform_graph` and `metrics`.

    Raises:
        ValueError: If not exactly one of `spec_file` and `module_file` is given, the module
            defines no `preprocessing_fn`, or a split list is empty.
        SpecError: If the spec is not valid (every problem listed).
        FileNotFoundError: If `spec_file` or `module_file` does not exist.
    """
    if (spec_file is None) == (module_file is None):
        raise ValueError("Give exactly one of `spec_file` (a YAML or .py feature spec) and "
                         f"`module_file` (a Python file with preprocessing_fn); got "
                         f"spec_file={spec_file!r}, module_file={module_file!r}.")
    spec_yaml = module_source = ""
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
    for name, splits in (("analyze_splits", analyze_splits),
                         ("transform_splits", transform_splits)):
        if splits is None and name == "transform_splits":
            continue
        if isinstance(splits, str) or not splits or not all(isinstance(s, str) for s in splits):
            raise ValueError(f"`{name}` must be a non-empty list of split names, got {splits!r}.")
    if isinstance(beam_pipeline_args, str):
        raise TypeError(f"`beam_pipeline_args` must be a list of strings, got the string "
                        f"{beam_pipeline_args!r}.")
    return transform_op(
        examples=examples, schema=schema, spec_yaml=spec_yaml, module_source=module_source,
        analyze_splits=list(analyze_splits), transform_splits=list(transform_splits or []),
        beam_pipeline_args=list(beam_pipeline_args))
