"""The ingest step as a Kubeflow Pipelines (v2) component: a typed shell around executor.run.

`ingest(...)` adds the step to the pipeline being defined, with its `IngestSettings` (checked
when made) as one `settings` parameter, and checks what needs the input pattern (a `span`
without `{SPAN}` in it), so a mistake fails when the pipeline is compiled, not hours later
in the cluster. `ingest_component` is the raw component, for callers that want no checks.

Outputs: `examples` (Dataset: `Split-<name>/` gzip TFRecord shards, `quarantine/`,
`ingest_result.json`), `schema` (`schema.pbtxt`), `statistics` (`Split-<name>/stats.json`
and `stats.html`, for programs), `statistics_html` (HTML: one page with every split's
tables, which the Kubeflow UI shows), `anomalies` (`anomalies.json`, `anomalies.txt`) and `metrics` (row
counts, bad rows, anomalies). Optional inputs: `input_schema` (validate against it instead
of inferring one) and `baseline_statistics` (the previous span's, for drift).

In the raw component `span=-1` (the default) means "no given span" (the latest, or
`span_range`): kfp.local cannot leave an optional integer unset (it casts None to int).

Example:
    >>> @dsl.pipeline(name="taxi")
    ... def taxi(data: str = "gs://bucket/taxi/span-{SPAN}/*.csv"):
    ...     step = ingest(input_pattern=data, settings=IngestSettings(label_column="tips"))
    ...     train_on(step.outputs["examples"], step.outputs["schema"])
"""

# KFP 2.17 reads component signatures itself: it knows `Optional[X]` but not `X | None`,
# and it copies mutable defaults. Hence these two exemptions.
# ruff: noqa: UP045, B006

from typing import Any, Optional

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Metrics, Output
from kfp.dsl.pipeline_channel import PipelineChannel

from components.common.images import PIPELINE_IMAGE
from components.common.resources import Resources
from components.ingest.config import SPAN_PLACEHOLDER, IngestConfig, IngestSettings

__all__ = ["ingest", "ingest_component"]


@dsl.component(base_image=PIPELINE_IMAGE, install_kfp_package=False)
def ingest_component(
    input_pattern: str,
    examples: Output[Dataset],
    schema: Output[Artifact],
    statistics: Output[Artifact],
    statistics_html: Output[HTML],
    anomalies: Output[Artifact],
    metrics: Output[Metrics],
    settings: dict = {},
    span: int = -1,
    span_range: Optional[list[int]] = None,
    input_schema: Optional[Input[Artifact]] = None,
    baseline_statistics: Optional[Input[Artifact]] = None,
):
    """Ingests raw files into validated tf.Example shards; see components/ingest/executor.py."""
    from components.common import phases

    phases.start_step()
    from console import quiet_tensorflow

    quiet_tensorflow()  # the step's log starts with its own lines
    from components.ingest import IngestConfig, IngestSettings, run
    phases.lap("imports")

    outcome = run(IngestConfig(
        **IngestSettings.from_json(settings).to_json(),
        input_pattern=input_pattern,
        examples_uri=examples.uri,
        schema_uri=schema.uri,
        statistics_uri=statistics.uri,
        anomalies_uri=anomalies.uri,
        span=span if span >= 0 else None,
        span_range=tuple(span_range) if span_range else None,
        input_schema_uri=input_schema.uri if input_schema is not None else None,
        baseline_statistics_uri=(baseline_statistics.uri if baseline_statistics is not None
                                 else None),
    ))
    result = outcome.result
    examples.metadata.update({"span": result.span, "spans": list(result.spans),
                              "splits": dict(result.splits), "bad_rows": result.bad_rows})
    schema.metadata["inferred"] = outcome.schema_inferred
    statistics.metadata["splits"] = list(result.splits)
    from components.artifacts import io, read_statistics
    from components.ingest.statistics_html import render_all_statistics

    per_split = read_statistics(statistics.uri)  # one page for the UI, every split on it
    io.write_text_atomic(statistics_html.path, render_all_statistics(
        {name: per_split[name] for name in result.splits if name in per_split},
        title=f"Statistics of span {result.span}" if result.span is not None else "Statistics"))
    anomalies.metadata["num_anomalies"] = len(outcome.anomalies)
    metrics.log_metric("rows_read", result.rows_read)
    metrics.log_metric("bad_rows", result.bad_rows)
    metrics.log_metric("anomalies", len(outcome.anomalies))
    for name, count in result.splits.items():
        metrics.log_metric(f"examples_{name}", count)
    from components.common.kfp_files import write_metadata_file

    write_metadata_file(metrics)
    phases.end_step()


_PLACEHOLDER_URI = "uri-known-at-run-time"


def ingest(
    *,
    input_pattern: Any,
    settings: IngestSettings | None = None,
    span: Any = None,
    span_range: list[int] | None = None,
    input_schema: Any = None,
    baseline_statistics: Any = None,
    resources: Resources | None = None,
) -> dsl.PipelineTask:
    """Adds the ingest step to the pipeline being defined, after checking its arguments.

    Args:
        input_pattern: The files to read (a constant or a pipeline parameter), optionally
            with `{SPAN}`.
        settings: How to parse, validate and split (`IngestSettings`; checked when made).
            Defaults to `IngestSettings()`.
        span / span_range: Which span(s) to read (see `IngestConfig`); None: the latest.
        input_schema / baseline_statistics: Artifacts from other steps (e.g. an importer of
            a curated schema, or the previous run's `statistics` output).
        resources: The step's Kubernetes requests (none by default).

    Returns:
        The pipeline task; its outputs are `examples`, `schema`, `statistics`,
        `statistics_html`, `anomalies` and `metrics`.

    Raises:
        TypeError, ValueError: For an argument known now that the executor would refuse (a
            `span` without `{SPAN}` in the pattern, ...).

    Example:
        >>> step = ingest(input_pattern="gs://bucket/taxi/span-{SPAN}/*.csv",
        ...               settings=IngestSettings(label_column="tips",
        ...                                       splits={"train": 9, "eval": 1}))
    """
    settings = settings or IngestSettings()
    pattern = input_pattern
    if isinstance(pattern, PipelineChannel):
        pattern = f"run-time-pattern/{SPAN_PLACEHOLDER}"  # cannot be checked until run time
    elif not isinstance(pattern, str):
        raise TypeError(f"`input_pattern` must be a string, got {pattern!r}.")
    IngestConfig(  # the checks that need the pattern and the spans, made now
        **settings.to_json(), input_pattern=pattern, examples_uri=_PLACEHOLDER_URI,
        schema_uri=_PLACEHOLDER_URI, statistics_uri=_PLACEHOLDER_URI,
        anomalies_uri=_PLACEHOLDER_URI,
        span=None if isinstance(span, PipelineChannel) else span,
        span_range=tuple(span_range) if span_range else None)
    arguments: dict[str, Any] = {"input_pattern": input_pattern, "settings": settings.to_json()}
    for name, value in (("span", span), ("span_range", span_range),
                        ("input_schema", input_schema),
                        ("baseline_statistics", baseline_statistics)):
        if value is not None:
            arguments[name] = value
    task = ingest_component(**arguments)
    (resources or Resources()).apply(task)
    return task
