"""The ingest step: files in, validated tf.Example shards, statistics, schema, anomalies out.

`run(config)` is plain Python and Beam (no KFP): the KFP component in component.py, the
command line and tests all call it.

1. Resolve the input pattern to files (the latest span, a given span or a range).
2. Plan the columns (CSV header, Parquet metadata) and their types: declared in the
   config, else from the input schema, else inferred by a first Beam pass over the data.
3. The ingest pipeline: read with line numbers, type and validate, quarantine bad rows,
   hash-split, encode tf.Example with tfx_bsl, write gzip TFRecord shards and statistics.
4. Check that every count adds up (rows read = good + bad; good = examples written per
   split = statistics counts; the physical lines read = the lines of the good rows + those
   of the bad rows + the blank lines) and that bad rows stay under
   `max_bad_row_fraction`, counted by rows and by lines.
5. Publish: the quarantine, the shards (renamed from staging), statistics (JSON + HTML),
   the schema (the input one, or inferred), anomalies (JSON + text), and last
   `ingest_result.json`, the mark that the examples are complete.

Example:
    >>> outcome = run(IngestConfig(input_pattern="examples/chicago_taxi/data/data.csv",
    ...                            examples_uri="/tmp/out/examples",
    ...                            schema_uri="/tmp/out/schema",
    ...                            statistics_uri="/tmp/out/statistics",
    ...                            anomalies_uri="/tmp/out/anomalies", label_column="tips"))
    >>> outcome.result.splits
    {'train': 12001, 'eval': 3001}
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from apache_beam.metrics.metric import MetricsFilter
from apache_beam.runners.runner import PipelineState
from tensorflow_metadata.proto.v0 import schema_pb2

from components import artifacts
from components.artifacts import FeatureType, IngestResult, io
from components.common.phases import phase
from components.common.runner import create_pipeline
from components.common.shards import (
    CountMismatchError,
    ShardFormat,
    publish_shards,
    read_manifest,
)
from components.ingest.anomalies import Anomaly, find_anomalies, write_anomalies
from components.ingest.config import IngestConfig
from components.ingest.decoder import BatchDecoder
from components.ingest.parsing import ObservedType
from components.ingest.pipeline import (
    COUNTER_NAMESPACE,
    QUARANTINE_KEY,
    StagingLayout,
    build_inference,
    build_ingest,
    read_observations,
)
from components.ingest.quarantine import (
    BadRowsError,
    BadRowSummary,
    ReasonCode,
    counter_name,
    parse_counter_name,
    read_examples,
)
from components.ingest.schema import infer_schema, schema_types
from components.ingest.sources import Source, create_source
from components.ingest.spans import EmptyInputError, ResolvedInput, resolve_input
from components.ingest.splitting import SplitAssigner
from components.ingest.statistics import StatisticsCombineFn
from components.ingest.statistics_html import render_statistics

__all__ = ["AnomaliesFoundError", "IngestOutcome", "run"]

_LOGGER = logging.getLogger(__name__)


class AnomaliesFoundError(ValueError):
    """Anomalies were found and `fail_on_anomalies` is set (the artifacts are written)."""


@dataclasses.dataclass(frozen=True)
class IngestOutcome:
    """What `run` did.

    Attributes:
        result: what `ingest_result.json` holds.
        anomalies: the anomalies found (also in `anomalies.json`).
        bad_rows: the quarantined rows by reason and column.
        schema: the schema the data was validated against (input or inferred).
        schema_inferred: whether this run inferred the schema.
    """

    result: IngestResult
    anomalies: tuple[Anomaly, ...]
    bad_rows: BadRowSummary
    schema: schema_pb2.Schema
    schema_inferred: bool


@dataclasses.dataclass(frozen=True)
class _ColumnPlan:
    columns: tuple[str, ...]
    types: dict[str, FeatureType]
    observed: dict[str, ObservedType]


def run(config: IngestConfig) -> IngestOutcome:
    """Ingests the input `config` describes; see the module docstring for the steps.

    Args:
        config: what to read, where to write, how to validate.

    Returns:
        What was written, the anomalies found, and the bad-row counts.

    Raises:
        EmptyInputError: if no file matches, or the files hold no data rows.
        BadRowsError: if the share of bad rows is above `max_bad_row_fraction`; the
            message says how many, why, and where the quarantine is.
        ValueError: if the configuration does not fit the input (a label column that is
            not a column, files with different headers, ...).
        CountMismatchError: if a pipeline step lost or duplicated records (a bug).
        AnomaliesFoundError: if `fail_on_anomalies` is set and anomalies were found.
    """
    if not isinstance(config, IngestConfig):
        raise TypeError(f"`config` must be an IngestConfig, got {type(config).__name__}.")
    resolved = resolve_input(config.input_pattern, span=config.span,
                             span_range=config.span_range)
    _LOGGER.info("Ingest: %d file(s)%s from %r.", len(resolved.files),
                 f" of span(s) {list(resolved.spans)}" if resolved.spans else "",
                 config.input_pattern)
    source = create_source(config)
    input_schema = (artifacts.read_schema(config.input_schema_uri)
                    if config.input_schema_uri else None)
    baseline = (artifacts.read_statistics(config.baseline_statistics_uri)
                if config.baseline_statistics_uri else None)
    layout = StagingLayout(io.join(config.examples_uri, f".staging-{uuid.uuid4().hex}"))
    try:
        plan = _plan_columns(config, source, resolved, input_schema, layout)
        counters = _run_ingest(config, source, resolved, plan, layout)
        return _publish(config, resolved, plan, input_schema, baseline, layout, counters)
    finally:
        io.delete([layout.root])


def _plan_columns(config: IngestConfig, source: Source, resolved: ResolvedInput,
                  input_schema: schema_pb2.Schema | None, layout: StagingLayout) -> _ColumnPlan:
    """The columns and their types: declared, else the input schema's, else inferred."""
    plan = source.plan(resolved.files)
    from_schema = schema_types(input_schema) if input_schema is not None else {}
    columns = plan.columns
    observed = dict(plan.native_types)
    if columns == ():
        raise EmptyInputError(
            f"The {len(resolved.files)} file(s) matching {config.input_pattern!r} are empty "
            f"(no header, no rows): {list(resolved.files)[:5]}.")
    to_infer = None if columns is None else [
        c for c in columns
        if c not in config.column_types and c not in from_schema and c not in observed]
    if to_infer is None or to_infer:
        _LOGGER.info("Ingest: inferring the types of %s.",
                     "every column" if to_infer is None else to_infer)
        pipeline = create_pipeline(config.beam_pipeline_args,
                                   temp_location=io.join(layout.root, "beam-temp"))
        build_inference(pipeline, files=resolved.files, source=source, columns=to_infer,
                        missing_values=config.missing_values, layout=layout,
                        batch_size=config.batch_size)
        with phase("type inference"):
            _wait(pipeline.run(), "type inference")
        rows, counted = read_observations(layout)
        if rows == 0:
            raise _no_rows(config, resolved)
        seen = {name: observation.infer(config.min_numeric_fraction)
                for name, observation in counted.items()}
        observed.update(seen)
        if columns is None:  # TFRecord: the schema's order first, then new columns by name
            known = [f for f in from_schema if f in seen]
            columns = tuple(known + sorted(c for c in seen if c not in from_schema))
    types = {}
    for column in columns:
        if column in config.column_types:
            types[column] = config.column_types[column]
        elif column in from_schema:
            types[column] = from_schema[column]
        else:
            types[column] = observed.get(column, ObservedType.UNKNOWN).feature_type()
    _check_columns(config, columns)
    return _ColumnPlan(columns=tuple(columns), types=types, observed=observed)


def _check_columns(config: IngestConfig, columns: Sequence[str]) -> None:
    for name in ("label_column", "split_key"):
        value = getattr(config, name)
        if value is not None and value not in columns:
            raise ValueError(
                f"`{name}` {value!r} is not a column of the input; the columns are "
                f"{list(columns)}.")
    unknown = sorted(set(config.column_types) - set(columns))
    if unknown:
        raise ValueError(
            f"`column_types` declares {unknown}, which are not columns of the input; the "
            f"columns are {list(columns)}.")


def _no_rows(config: IngestConfig, resolved: ResolvedInput) -> EmptyInputError:
    return EmptyInputError(
        f"The input has no data rows: the {len(resolved.files)} file(s) matching "
        f"{config.input_pattern!r} hold at most a header ({list(resolved.files)[:5]}).")


def _wait(result, what: str) -> None:
    state = result.wait_until_finish()
    if state != PipelineState.DONE:
        raise RuntimeError(f"The {what} pipeline ended in state {state}, not DONE.")


def _counters(result) -> dict[str, int]:
    found = result.metrics().query(MetricsFilter().with_namespace(COUNTER_NAMESPACE))
    totals: dict[str, int] = {}
    for counter in found["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[counter.key.metric.name] = totals.get(counter.key.metric.name, 0) + (value or 0)
    return totals


def _run_ingest(config: IngestConfig, source: Source, resolved: ResolvedInput,
                plan: _ColumnPlan, layout: StagingLayout) -> dict[str, int]:
    decoder = BatchDecoder(columns=plan.columns, types=plan.types,
                           missing_values=config.missing_values,
                           label_column=config.label_column, split_key=config.split_key)
    pipeline = create_pipeline(config.beam_pipeline_args,
                               temp_location=io.join(layout.root, "beam-temp"))
    build_ingest(pipeline, files=resolved.files, source=source, decoder=decoder,
                 assigner=SplitAssigner(config.splits), split_key=config.split_key,
                 layout=layout, batch_size=config.batch_size)
    with phase("reading"):
        result = pipeline.run()
        _wait(result, "ingest")
    counters = _counters(result)
    if "rows_read" not in counters and "rows_decoded" not in counters:
        counters = _counters_from_outputs(layout, tuple(config.splits))
    return counters


def _counters_from_outputs(layout: StagingLayout, split_names: Sequence[str]) -> dict[str, int]:
    """The counts, rebuilt from the written files, for runners that report no Beam metrics.

    Only the files' own record counts are checked then (against the statistics); the
    per-step checks need the counters.
    """
    examples = read_manifest(layout.examples_manifest)
    bad_files = read_manifest(layout.quarantine_manifest)
    if not any(f.num_records for f in examples + bad_files):
        return {}  # nothing was read, or nothing was written: the caller tells which
    _LOGGER.warning("Ingest: the runner reported no Beam counters; checking the counts of "
                    "the written files only.")
    counters = {f"rows_split:{name}": sum(f.num_records for f in examples if f.key == name)
                for name in split_names}
    good = sum(counters.values())
    bad = 0
    for file in bad_files:
        with io.open_for_read(file.path, compressed=False) as f:
            for line in f:
                row = json.loads(line)
                name = counter_name(ReasonCode(row["reason_code"]), row.get("column"))
                counters[name] = counters.get(name, 0) + 1
                bad += 1
    counters.update(rows_read=good + bad, rows_decoded=good + bad, rows_good=good,
                    rows_bad=bad)
    return counters


def _check_counts(counters: Mapping[str, int], split_names: Sequence[str]) -> None:
    """Every step passed on what it received; raises CountMismatchError otherwise."""
    read = counters.get("rows_read", 0)
    decoded = counters.get("rows_decoded", 0)
    good, bad = counters.get("rows_good", 0), counters.get("rows_bad", 0)
    split = sum(counters.get(f"rows_split:{name}", 0) for name in split_names)
    checks = [
        ("the decode step received", decoded, "the read step produced", read),
        ("good + bad rows", good + bad, "rows read", read),
        ("rows assigned to splits", split, "good rows", good),
    ]
    if "lines_read" in counters:  # runners without counters only have the files' counts
        lines = {k: counters.get(f"lines_{k}", 0) for k in ("read", "good", "bad", "blank")}
        checks.append(("the lines of the good rows, of the bad rows and the blank lines",
                       lines["good"] + lines["bad"] + lines["blank"],
                       "the physical lines read", lines["read"]))
    for what, value, against, expected in checks:
        if value != expected:
            raise CountMismatchError(
                f"Ingest counts do not add up: {what} {value:,} but {against} {expected:,}. A "
                "pipeline step dropped or duplicated rows (a PTransform called as a function "
                "instead of applied with `|` writes nothing). This is a bug in the pipeline, "
                "not in the data.")


def _clear_previous(uri: str) -> None:
    # Uncommit first: without ingest_result.json readers treat the folder as incomplete.
    io.delete([io.join(uri, artifacts.INGEST_RESULT_FILE)])
    old_splits = {io.join(uri, path[len(uri):].lstrip("/").split("/")[0])
                  for path in io.match(io.join(uri, f"{artifacts.SPLIT_PREFIX}*", "*"))}
    io.delete(sorted(old_splits) + [artifacts.quarantine_dir(uri)])


def _bad_row_summary(counters: Mapping[str, int]) -> BadRowSummary:
    counts = {}
    for name, value in counters.items():
        parsed = parse_counter_name(name)
        if parsed is not None:
            counts[parsed] = value
    return BadRowSummary.from_counts(counts)


def _too_many_bad_rows(config: IngestConfig, summary: BadRowSummary, read: int,
                       bad_lines: int, data_lines: int) -> BadRowsError:
    quarantine = artifacts.quarantine_dir(config.examples_uri)
    examples = read_examples(quarantine, [(code, column) for code, column, _ in summary.counts])
    lines = (f" (spanning {bad_lines:,} of {data_lines:,} lines, {bad_lines / data_lines:.2%})"
             if bad_lines != summary.total and data_lines else "")
    return BadRowsError(
        f"{summary.total:,} of {read:,} rows ({summary.total / read:.2%}){lines} are bad, "
        "more than "
        f"`max_bad_row_fraction` ({config.max_bad_row_fraction:g}). Top reasons:\n"
        f"{summary.describe(examples)}\n"
        f"Every bad row is in the quarantine: {quarantine} (one JSON line per row with its "
        "file, line number, reason and raw text). Fix the input, declare `column_types` or "
        "`missing_values`, or raise `max_bad_row_fraction`.")


def _statistics(layout: StagingLayout, plan: _ColumnPlan, split_names: Sequence[str],
                expected: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    if not io.exists(layout.statistics):
        raise CountMismatchError(
            "The statistics step wrote nothing (was a PTransform called as a function instead "
            "of applied with `|`?).")
    computed = io.read_json(layout.statistics)
    empty = StatisticsCombineFn(plan.columns, plan.types)
    statistics = {}
    for name in split_names:
        stats = computed.get(name) or dict(
            empty.extract_output(empty.create_accumulator()), split=name)
        if stats["num_examples"] != expected[name]:
            raise CountMismatchError(
                f"The statistics of split {name!r} count {stats['num_examples']:,} examples "
                f"but {expected[name]:,} were written. This is a bug in the pipeline.")
        statistics[name] = stats
    return statistics


def _verify_counts(config: IngestConfig, resolved: ResolvedInput,
                   counters: Mapping[str, int]) -> tuple[BadRowSummary, dict[str, int]]:
    """The bad rows by reason and the examples per split, once every count adds up."""
    split_names = tuple(config.splits)
    if counters.get("rows_read", 0) == 0:
        raise _no_rows(config, resolved)
    _check_counts(counters, split_names)
    summary = _bad_row_summary(counters)
    if summary.total != counters.get("rows_bad", 0):
        raise CountMismatchError(
            f"Bad rows counted by reason ({summary.total:,}) differ from bad rows "
            f"({counters.get('rows_bad', 0):,}). This is a bug in the pipeline.")
    return summary, {name: counters.get(f"rows_split:{name}", 0) for name in split_names}


def _write_statistics(uri: str, statistics: Mapping[str, Mapping[str, Any]]) -> None:
    for name, stats in statistics.items():
        io.write_json_atomic(artifacts.statistics_path(uri, name), stats)
        io.write_text_atomic(
            io.join(artifacts.split_dir(uri, name), artifacts.STATS_HTML_FILE),
            render_statistics(stats, title=f"Statistics of split {name!r} "
                                           f"({stats['num_examples']:,} examples)"))


def _validate(config: IngestConfig, plan: _ColumnPlan, input_schema: schema_pb2.Schema | None,
              baseline: Mapping[str, Any] | None, statistics: Mapping[str, Any],
              summary: BadRowSummary) -> tuple[schema_pb2.Schema, list[Anomaly]]:
    """The schema (the input one, or inferred from this run) and the anomalies against it."""
    schema = input_schema
    if schema is None:
        schema = infer_schema(plan.columns, plan.types, statistics,
                              label_column=config.label_column,
                              drift_threshold=config.drift_threshold or None,
                              max_domain_size=config.max_domain_size)
    invalid = summary.invalid_values()
    invalid_examples = {}
    if invalid:
        found = read_examples(artifacts.quarantine_dir(config.examples_uri),
                              [(ReasonCode.INVALID_VALUE, c) for c in invalid])
        invalid_examples = {column: f"line {row['line_number']} of {row['source_file']}: "
                                    f"{row['reason']}" for (_, column), row in found.items()}
    anomalies = find_anomalies(schema=schema, columns=plan.columns, types=plan.types,
                               statistics=statistics, observed=plan.observed,
                               invalid_values=invalid, invalid_examples=invalid_examples,
                               baseline=baseline)
    return schema, anomalies


def _publish(config: IngestConfig, resolved: ResolvedInput, plan: _ColumnPlan,
             input_schema: schema_pb2.Schema | None,
             baseline: Mapping[str, Any] | None, layout: StagingLayout,
             counters: Mapping[str, int]) -> IngestOutcome:
    """Checks the run, then publishes its outputs; `ingest_result.json` goes last."""
    summary, split_counts = _verify_counts(config, resolved, counters)
    read = counters["rows_read"]
    uri = config.examples_uri
    _clear_previous(uri)
    publish_shards(read_manifest(layout.quarantine_manifest),
                   {QUARANTINE_KEY: artifacts.quarantine_dir(uri)},
                   expected={QUARANTINE_KEY: summary.total}, prefix="bad_rows",
                   shard_format=ShardFormat.JSON_LINES)
    # By records and by physical lines: a bad record spanning many lines weighs as many.
    data_lines = counters.get("lines_read", read) - counters.get("lines_blank", 0)
    bad_lines = counters.get("lines_bad", summary.total)
    if (summary.total > config.max_bad_row_fraction * read
            or bad_lines > config.max_bad_row_fraction * data_lines):
        raise _too_many_bad_rows(config, summary, read, bad_lines, data_lines)
    statistics = _statistics(layout, plan, tuple(config.splits), split_counts)
    publish_shards(read_manifest(layout.examples_manifest),
                   {name: artifacts.split_dir(uri, name) for name in split_counts},
                   expected=split_counts, prefix="data", shard_format=ShardFormat.TFRECORD_GZIP)
    _write_statistics(config.statistics_uri, statistics)
    schema, anomalies = _validate(config, plan, input_schema, baseline, statistics, summary)
    artifacts.write_schema(config.schema_uri, schema)
    write_anomalies(config.anomalies_uri, anomalies, context={
        "span": resolved.span, "schema": "input" if input_schema is not None else "inferred",
        "baseline_statistics": config.baseline_statistics_uri})
    result = IngestResult(span=resolved.span, splits=split_counts, bad_rows=summary.total,
                          source=config.input_pattern, columns=dict(plan.types),
                          spans=resolved.spans, rows_read=read, files=resolved.files,
                          label_column=config.label_column)
    io.write_json_atomic(io.join(uri, artifacts.INGEST_RESULT_FILE), result.to_json())
    _LOGGER.info("Ingest: %s examples (%s), %d bad rows, %d anomalies.",
                 f"{sum(split_counts.values()):,}",
                 ", ".join(f"{k}: {v:,}" for k, v in split_counts.items()), summary.total,
                 len(anomalies))
    if config.fail_on_anomalies and anomalies:
        raise AnomaliesFoundError(
            f"{len(anomalies)} anomalies found (see {config.anomalies_uri}):\n"
            + "\n".join(f"- {a.description}" for a in anomalies[:10]))
    return IngestOutcome(result=result, anomalies=tuple(anomalies), bad_rows=summary,
                         schema=schema, schema_inferred=input_schema is None)
