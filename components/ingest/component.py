"""The ingest step as a Kubeflow Pipelines (v2) component: a typed shell around executor.run.

`ingest(...)` adds the step to the pipeline being defined and checks every argument known
at definition time (a `span` without `{SPAN}` in the pattern, split weights, a bad-row
fraction above 1, ...), so a mistake fails when the pipeline is compiled, not hours later
in the cluster. `ingest_component` is the raw component, for callers that want no checks.

Outputs: `examples` (Dataset: `Split-<name>/` gzip TFRecord shards, `quarantine/`,
`ingest_result.json`), `schema` (`schema.pbtxt`), `statistics` (`Split-<name>/stats.json`
and `stats.html`), `anomalies` (`anomalies.json`, `anomalies.txt`) and `metrics` (row
counts, bad rows, anomalies). Optional inputs: `input_schema` (validate against it instead
of inferring one) and `baseline_statistics` (the previous span's, for drift).

In the raw component `span=-1` (the default) means "no given span" (the latest, or
`span_range`): kfp.local cannot leave an optional integer unset (it casts None to int).
`drift_threshold=0` turns drift comparators off in an inferred schema.

Example:
    >>> @dsl.pipeline(name="taxi")
    ... def taxi(data: str = "gs://bucket/taxi/span-{SPAN}/*.csv"):
    ...     step = ingest(input_pattern=data, label_column="tips")
    ...     train_on(step.outputs["examples"], step.outputs["schema"])
"""

# KFP 2.17 reads component signatures itself: it knows `Optional[X]` but not `X | None`,
# and it copies mutable defaults. Hence these two exemptions.
# ruff: noqa: UP045, B006

from typing import Any, Optional

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Output
from kfp.dsl.pipeline_channel import PipelineChannel

from components.common.images import PIPELINE_IMAGE
from components.ingest.config import SPAN_PLACEHOLDER, IngestConfig

__all__ = ["ingest", "ingest_component"]


@dsl.component(base_image=PIPELINE_IMAGE, install_kfp_package=False)
def ingest_component(
    input_pattern: str,
    examples: Output[Dataset],
    schema: Output[Artifact],
    statistics: Output[Artifact],
    anomalies: Output[Artifact],
    metrics: Output[Metrics],
    input_format: str = "csv",
    span: int = -1,
    span_range: Optional[list[int]] = None,
    column_names: Optional[list[str]] = None,
    column_types: dict[str, str] = {},
    csv_delimiter: str = ",",
    csv_quotechar: str = '"',
    missing_values: list[str] = [""],
    label_column: Optional[str] = None,
    splits: dict[str, float] = {"train": 80.0, "eval": 20.0},
    split_key: Optional[str] = None,
    max_bad_row_fraction: float = 0.01,
    drift_threshold: float = 0.1,
    max_domain_size: int = 100,
    fail_on_anomalies: bool = False,
    beam_pipeline_args: list[str] = [],
    input_schema: Optional[Input[Artifact]] = None,
    baseline_statistics: Optional[Input[Artifact]] = None,
):
    """Ingests raw files into validated tf.Example shards; see components/ingest/executor.py."""
    from console import quiet_tensorflow

    quiet_tensorflow()  # the step's log starts with its own lines
    from components.ingest import IngestConfig, run

    outcome = run(IngestConfig(
        input_pattern=input_pattern,
        examples_uri=examples.uri,
        schema_uri=schema.uri,
        statistics_uri=statistics.uri,
        anomalies_uri=anomalies.uri,
        input_format=input_format,
        span=span if span >= 0 else None,
        span_range=tuple(span_range) if span_range else None,
        column_names=tuple(column_names) if column_names else None,
        column_types=column_types,
        csv_delimiter=csv_delimiter,
        csv_quotechar=csv_quotechar,
        missing_values=tuple(missing_values),
        label_column=label_column,
        splits=splits,
        split_key=split_key,
        max_bad_row_fraction=max_bad_row_fraction,
        input_schema_uri=input_schema.uri if input_schema is not None else None,
        baseline_statistics_uri=(baseline_statistics.uri if baseline_statistics is not None
                                 else None),
        drift_threshold=drift_threshold or None,
        max_domain_size=max_domain_size,
        fail_on_anomalies=fail_on_anomalies,
        beam_pipeline_args=tuple(beam_pipeline_args),
    ))
    result = outcome.result
    examples.metadata.update({"span": result.span, "spans": list(result.spans),
                              "splits": dict(result.splits), "bad_rows": result.bad_rows})
    schema.metadata["inferred"] = outcome.schema_inferred
    statistics.metadata["splits"] = list(result.splits)
    anomalies.metadata["num_anomalies"] = len(outcome.anomalies)
    metrics.log_metric("rows_read", result.rows_read)
    metrics.log_metric("bad_rows", result.bad_rows)
    metrics.log_metric("anomalies", len(outcome.anomalies))
    for name, count in result.splits.items():
        metrics.log_metric(f"examples_{name}", count)
    from components.common.kfp_files import write_metadata_file

    write_metadata_file(metrics)


_PLACEHOLDER_URI = "uri-known-at-run-time"


def _constant(value: Any) -> bool:
    return not isinstance(value, PipelineChannel)


def _check_arguments(arguments: dict[str, Any]) -> None:
    """Builds the executor's config from the arguments known now; it raises on bad ones."""
    pattern = arguments["input_pattern"]
    if not _constant(pattern):
        pattern = f"run-time-pattern/{SPAN_PLACEHOLDER}"  # cannot be checked until run time
    elif not isinstance(pattern, str):
        raise TypeError(f"`input_pattern` must be a string, got {pattern!r}.")
    config: dict[str, Any] = {
        "input_pattern": pattern,
        "examples_uri": _PLACEHOLDER_URI, "schema_uri": _PLACEHOLDER_URI,
        "statistics_uri": _PLACEHOLDER_URI, "anomalies_uri": _PLACEHOLDER_URI,
    }
    for artifact, field in (("input_schema", "input_schema_uri"),
                            ("baseline_statistics", "baseline_statistics_uri")):
        if arguments.get(artifact) is not None:
            config[field] = _PLACEHOLDER_URI
    conversions = {"span_range": tuple, "column_names": tuple, "missing_values": tuple,
                   "beam_pipeline_args": tuple}
    for name, value in arguments.items():
        if name in ("input_pattern", "input_schema", "baseline_statistics") or value is None:
            continue
        if not _constant(value):
            continue
        if name in conversions and isinstance(value, list | tuple):
            value = conversions[name](value)
        config[name] = value
    if config.get("drift_threshold") == 0:
        config["drift_threshold"] = None
    IngestConfig(**config)


def ingest(
    *,
    input_pattern: str,
    input_format: str = "csv",
    span: int | None = None,
    span_range: list[int] | None = None,
    column_names: list[str] | None = None,
    column_types: dict[str, str] | None = None,
    csv_delimiter: str = ",",
    csv_quotechar: str = '"',
    missing_values: list[str] | None = None,
    label_column: str | None = None,
    splits: dict[str, float] | None = None,
    split_key: str | None = None,
    max_bad_row_fraction: float = 0.01,
    drift_threshold: float = 0.1,
    max_domain_size: int = 100,
    fail_on_anomalies: bool = False,
    beam_pipeline_args: list[str] | None = None,
    input_schema: Any = None,
    baseline_statistics: Any = None,
) -> dsl.PipelineTask:
    """Adds the ingest step to the pipeline being defined, after checking its arguments.

    Arguments are those of `IngestConfig` (see config.py), given as pipeline parameters or
    constants (`drift_threshold=0` disables drift comparators); the artifact URIs come from
    KFP. `input_schema` and `baseline_statistics` are
    artifacts from other steps (e.g. an importer of a curated schema, or the previous run's
    `statistics` output).

    Returns:
        The pipeline task; its outputs are `examples`, `schema`, `statistics`, `anomalies`
        and `metrics`.

    Raises:
        TypeError, ValueError: for an argument known now that the executor would refuse.

    Example:
        >>> step = ingest(input_pattern="gs://bucket/taxi/span-{SPAN}/*.csv",
        ...               label_column="tips", splits={"train": 9, "eval": 1})
    """
    arguments = {
        "input_pattern": input_pattern, "input_format": input_format, "span": span,
        "span_range": span_range, "column_names": column_names, "column_types": column_types,
        "csv_delimiter": csv_delimiter, "csv_quotechar": csv_quotechar,
        "missing_values": missing_values, "label_column": label_column, "splits": splits,
        "split_key": split_key, "max_bad_row_fraction": max_bad_row_fraction,
        "drift_threshold": drift_threshold, "max_domain_size": max_domain_size,
        "fail_on_anomalies": fail_on_anomalies, "beam_pipeline_args": beam_pipeline_args,
        "input_schema": input_schema, "baseline_statistics": baseline_statistics,
    }
    _check_arguments(arguments)
    passed = {name: value for name, value in arguments.items() if value is not None}
    return ingest_component(**passed)
