"""The transform step's executor: plain Python + Beam + tf.Transform over paths and URIs.

`run(config)` reads the raw splits with TFXIO, analyzes the analyze splits, transforms every
transform split with the same graph, writes transformed tf.Example shards and the transform
graph, checks that every row made it through (`counts.py`), and describes the features for
the trainer. For a class label it counts, by name, the labels of the other splits that the
analyzed splits never had (`TransformResult.unseen_labels`, logged). See `transform_graph.py` for the files it reads and writes. It imports no KFP.

Example:
    >>> from components.transform.executor import TransformConfig, run
    >>> result = run(TransformConfig(
    ...     examples_uri="/data/ingest/examples", schema_uri="/data/ingest/schema",
    ...     transformed_examples_uri="/data/transform/examples",
    ...     transform_graph_uri="/data/transform/graph",
    ...     spec_file="examples/chicago_taxi/transform_spec.yaml",
    ...     beam_pipeline_args=["--direct_running_mode=multi_processing",
    ...                         "--direct_num_workers=2"]))
    >>> dict(result.rows)  # rows written per split
    {'eval': ..., 'train': ...}
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from apache_beam.options.pipeline_options import StandardOptions
from tensorflow_metadata.proto.v0 import schema_pb2
from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io

from components import artifacts
from components.artifacts import io, transform_graph
from components.common.phases import phase
from components.common.runner import create_pipeline, is_direct
from components.common.shards import ShardFile, ShardFormat, publish_shards, read_manifest
from components.transform import counts
from components.transform.config import TransformConfig
from components.transform.feature_columns import describe_features, feature_spec_to_json
from components.transform.pipeline import build_pipeline
from components.transform.preprocessing import build_preprocessing_fn
from components.transform.schema import columns_of, load_schema
from components.transform.spec import SpecError, TransformSpec, dump_spec
from components.transform.spec_loading import is_python_spec, load_spec
from components.transform.spec_validation import validate_against_schema
from components.transform.transforms import Vocabulary
from components.transform.user_module import load_user_module

__all__ = ["TransformConfig", "TransformResult", "run"]

RESULT_FORMAT_VERSION = 1
_LOGGER = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TransformResult:
    """What a transform run wrote; also written as `transform_result.json`.

    Attributes:
        transformed_examples_uri: The transformed examples' root.
        transform_graph_uri: The transform graph folder.
        rows: Rows written per transformed split.
        files: Shard files written per transformed split.
        analyze_splits: The splits the analyzers saw.
        analyzed_rows: How many rows the analyzers saw.
        label_key: The label feature, if the spec or module names one.
        runner: The Beam runner that ran the pipeline.
        seconds: Wall time of the run.
        unseen_labels: For a class label (a spec's `vocabulary` label), per transformed split
            the analyzers did not see: {label: rows} of its labels that are not classes
            (the analyzed splits never had them), which the trainer and evaluator leave out.
    """

    transformed_examples_uri: str
    transform_graph_uri: str
    rows: Mapping[str, int]
    files: Mapping[str, int]
    analyze_splits: tuple[str, ...]
    analyzed_rows: int
    label_key: str | None
    runner: str
    seconds: float
    unseen_labels: Mapping[str, Mapping[str, int]] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        splits = {s: {"rows": self.rows[s], "files": self.files[s]} for s in self.rows}
        for split, unseen in self.unseen_labels.items():
            splits[split]["unseen_labels"] = dict(unseen)
        return {
            "format_version": RESULT_FORMAT_VERSION,
            "splits": splits,
            "analyze_splits": list(self.analyze_splits),
            "analyzed_rows": self.analyzed_rows,
            "label_key": self.label_key,
            "transformed_examples_uri": self.transformed_examples_uri,
            "transform_graph_uri": self.transform_graph_uri,
            "runner": self.runner,
            "seconds": round(self.seconds, 3),
        }


@dataclasses.dataclass(frozen=True)
class _Plan:
    """What to compute, resolved from the config before any Beam work."""

    preprocessing_fn: Callable
    spec: TransformSpec | None
    columns_to_read: tuple[str, ...] | None
    label_key: str | None
    analyze_splits: tuple[str, ...]
    transform_splits: tuple[str, ...]
    split_files: dict[str, list[str]]

    @property
    def class_label(self) -> str | None:
        """The label, when it is a class label: a spec's `vocabulary` label (class names)."""
        feature = self.spec.feature(self.label_key) if self.spec and self.label_key else None
        return feature.name if feature and isinstance(feature.transform, Vocabulary) else None

    @property
    def label_splits(self) -> tuple[str, ...]:
        """The transform splits whose class labels may be unseen: those not analyzed."""
        if self.class_label is None:
            return ()
        return tuple(s for s in self.transform_splits if s not in self.analyze_splits)


def run(config: TransformConfig) -> TransformResult:
    """Runs the transform step described by `config`.

    Returns:
        A `TransformResult` with the rows written per split.

    Raises:
        FileNotFoundError: If the schema, a split, the spec or the module is missing.
        SpecError: If the spec does not fit the schema (each problem named).
        RuntimeError: If a stage lost rows or wrote no shard.
    """
    if not isinstance(config, TransformConfig):
        raise TypeError(f"`config` must be a TransformConfig, got {type(config).__name__}.")
    start = time.monotonic()
    schema = load_schema(config.schema_uri)
    plan = _plan(config, schema)
    _clear_outputs(config, plan.transform_splits)
    temp_dir = os.path.join(config.transform_graph_uri, transform_graph.TEMP_DIR)
    staging = io.join(config.transformed_examples_uri,
                      f"{transform_graph.STAGING_PREFIX}{uuid.uuid4().hex}")
    manifest = io.join(staging, transform_graph.MANIFEST_FILE)
    try:
        with tft_beam.Context(temp_dir=temp_dir):
            # The common runner: DirectRunner (or none) is the FnApiRunner, never Prism.
            pipeline = create_pipeline(config.beam_pipeline_args, temp_location=temp_dir)
            runner = ("FnApiRunner" if is_direct(pipeline.options)
                      else pipeline.options.view_as(StandardOptions).runner)
            _LOGGER.info("Transform: analyzing %s, transforming %s on %s.",
                         list(plan.analyze_splits), list(plan.transform_splits), runner)
            with phase("tracing"):  # tf.Transform traces the preprocessing_fn per phase
                build_pipeline(
                    pipeline, schema=schema, preprocessing_fn=plan.preprocessing_fn,
                    columns=plan.columns_to_read, split_files=plan.split_files,
                    analyze_splits=plan.analyze_splits, transform_splits=plan.transform_splits,
                    staging_dir=staging, manifest_path=manifest,
                    transform_graph_uri=config.transform_graph_uri,
                    class_label=plan.class_label, label_splits=plan.label_splits)
            with phase("analysis and transform"):
                beam_result = pipeline.run()
                beam_result.wait_until_finish()

        staged = read_manifest(manifest)  # every split's files, each with its split as key
        shard_files = {s: [f for f in staged if f.key == s] for s in plan.transform_splits}
        split_counts = counts.query_counts(beam_result, tuple(plan.split_files))
        label_counts = counts.query_label_counts(beam_result, plan.label_splits)
        if split_counts is None:  # A runner that reports no metrics: count the files instead.
            _LOGGER.warning("Runner %s reported no counters; counting records in the files.",
                            runner)
            split_counts = _count_from_files(plan, shard_files)
            label_counts = {s: count_labels([f.path for f in shard_files[s]], plan.class_label)
                            for s in plan.label_splits}
        # Counted rows, then the manifest's count of each written file, checked before any
        # shard is published.
        counts.check_counts({s: split_counts[s] for s in plan.transform_splits},
                            {s: len(shard_files[s]) for s in plan.transform_splits})
        _check_against_ingest(config.examples_uri, split_counts)
        written_files = publish_shards(
            staged,
            {s: transform_graph.split_dir(config.transformed_examples_uri, s)
             for s in plan.transform_splits},
            expected={s: split_counts[s].written for s in plan.transform_splits},
            prefix=transform_graph.SHARD_PREFIX, shard_format=ShardFormat.TFRECORD_GZIP)
    finally:
        io.delete([staging])

    _write_graph_extras(config, plan, schema)
    transform_graph.remove_if_exists(temp_dir)
    unseen = _unseen_labels(config.transform_graph_uri, plan, label_counts)
    result = TransformResult(
        transformed_examples_uri=config.transformed_examples_uri,
        transform_graph_uri=config.transform_graph_uri,
        rows={s: split_counts[s].written for s in plan.transform_splits},
        files={s: len(written_files[s]) for s in plan.transform_splits},
        analyze_splits=plan.analyze_splits,
        analyzed_rows=sum(split_counts[s].analyzed for s in plan.analyze_splits),
        label_key=plan.label_key, runner=runner, seconds=time.monotonic() - start,
        unseen_labels=unseen)
    # Last: its presence says the outputs are complete.
    io.write_json_atomic(os.path.join(config.transformed_examples_uri, transform_graph.RESULT_FILE),
                         result.to_json())
    _LOGGER.info("Transform: wrote %s rows in %.1f s.", dict(result.rows), result.seconds)
    return result


def _plan(config: TransformConfig, schema: schema_pb2.Schema) -> _Plan:
    columns = columns_of(schema)
    if config.spec_file is not None:
        spec = load_spec(config.spec_file)
        try:
            validate_against_schema(spec, columns)
        except SpecError as e:
            raise SpecError(e.problems, origin=config.spec_file) from None
        preprocessing_fn = build_preprocessing_fn(spec, columns)
        columns_to_read, label_key = spec.raw_columns(), spec.label
    else:
        module = load_user_module(config.module_file)
        spec, preprocessing_fn = None, module.preprocessing_fn
        columns_to_read, label_key = None, module.label_key

    available = transform_graph.list_splits(config.examples_uri)
    transform_splits = config.transform_splits or tuple(available)
    if not transform_splits:
        raise FileNotFoundError(f"No Split-<name> folder under {config.examples_uri!r}; the "
                                "transform step reads the ingest step's examples output.")
    for field, names in (("analyze_splits", config.analyze_splits),
                         ("transform_splits", transform_splits)):
        unknown = [s for s in names if s not in available]
        if unknown:
            raise FileNotFoundError(f"`{field}` names {unknown}, but the splits under "
                                    f"{config.examples_uri!r} are {available}.")
    to_read = list(dict.fromkeys([*config.analyze_splits, *transform_splits]))
    split_files = {s: transform_graph.raw_split_files(config.examples_uri, s) for s in to_read}
    return _Plan(preprocessing_fn, spec, columns_to_read, label_key, config.analyze_splits,
                 tuple(transform_splits), split_files)


def _clear_outputs(config: TransformConfig, transform_splits: Sequence[str]) -> None:
    """Removes what an earlier (failed or retried) run left in this run's output URIs."""
    for name in transform_graph.GRAPH_OUTPUTS:
        transform_graph.remove_if_exists(os.path.join(config.transform_graph_uri, name))
    for split in transform_splits:
        transform_graph.remove_if_exists(transform_graph.split_dir(config.transformed_examples_uri, split))
    for stale in tf.io.gfile.glob(os.path.join(config.transformed_examples_uri,
                                               f"{transform_graph.STAGING_PREFIX}*")):
        transform_graph.remove_if_exists(stale)  # an interrupted run's staged shards
    transform_graph.remove_if_exists(os.path.join(config.transformed_examples_uri, transform_graph.RESULT_FILE))


def _write_graph_extras(config: TransformConfig, plan: _Plan, schema: schema_pb2.Schema) -> None:
    graph_uri = config.transform_graph_uri
    raw_schema = schema
    if plan.columns_to_read is not None:  # The graph reads only these; serving sends only these.
        raw_schema = schema_pb2.Schema()
        raw_schema.CopyFrom(schema)
        del raw_schema.feature[:]
        raw_schema.ClearField("tensor_representation_group")
        raw_schema.feature.extend(f for f in schema.feature if f.name in plan.columns_to_read)
    metadata_io.write_metadata(dataset_metadata.DatasetMetadata(raw_schema),
                               os.path.join(graph_uri, transform_graph.RAW_METADATA_DIR))
    tft_output = tft.TFTransformOutput(graph_uri)
    io.write_json_atomic(os.path.join(graph_uri, transform_graph.TRANSFORMED_FEATURE_SPEC_FILE),
                         feature_spec_to_json(tft_output.transformed_feature_spec()))
    io.write_json_atomic(os.path.join(graph_uri, transform_graph.FEATURE_COLUMNS_FILE),
                         describe_features(tft_output, spec=plan.spec, columns=columns_of(schema),
                                           label_key=plan.label_key))
    if plan.spec is not None and is_python_spec(config.spec_file):
        # A Python spec is kept as the YAML it converts to: one format for readers.
        with tf.io.gfile.GFile(os.path.join(graph_uri, transform_graph.SPEC_COPY_FILE), "w") as f:
            f.write(dump_spec(plan.spec))
        return
    source, copy_name = ((config.spec_file, transform_graph.SPEC_COPY_FILE) if plan.spec is not None
                         else (config.module_file, transform_graph.MODULE_COPY_FILE))
    tf.io.gfile.copy(source, os.path.join(graph_uri, copy_name), overwrite=True)


def _unseen_labels(graph_uri: str, plan: _Plan, label_counts: Mapping[str, Mapping[str, int]]
                   ) -> dict[str, dict[str, int]]:
    """Per split in `plan.label_splits`, {label: rows} of its labels that are not classes;
    logs each split that has some, by name."""
    if not plan.label_splits:
        return {}
    output = tft.TFTransformOutput(graph_uri)
    classes = [v.decode("utf-8") if isinstance(v, bytes) else str(v)
               for v in output.vocabulary_by_name(plan.class_label)]
    unseen = {s: counts.unseen_labels(label_counts.get(s, {}), classes)
              for s in plan.label_splits}
    for split, labels in unseen.items():
        if labels:
            _LOGGER.warning(
                "Transform: %d rows of split %r have labels that the analyzed split(s) %s "
                "never had, so no class stands for them (the trainer and evaluator leave "
                "them out): %s", sum(labels.values()), split, list(plan.analyze_splits),
                labels)
    return unseen


def _check_against_ingest(examples_uri: str,
                          split_counts: Mapping[str, counts.SplitCounts]) -> None:
    """Fails if a split has fewer or more rows than the ingest step says it wrote.

    The ingest step writes `ingest_result.json` last; examples made some other way may lack
    it, and then there is nothing to check against.
    """
    if not io.exists(os.path.join(examples_uri, artifacts.INGEST_RESULT_FILE)):
        _LOGGER.info("No %s under %s: row counts not checked against the ingest step.",
                     artifacts.INGEST_RESULT_FILE, examples_uri)
        return
    ingested = artifacts.read_ingest_result(examples_uri).splits
    problems = [f"split {split!r}: read {c.rows} rows, but {artifacts.INGEST_RESULT_FILE} says "
                f"{ingested[split]}" for split, c in split_counts.items()
                if split in ingested and ingested[split] != c.rows]
    if problems:
        raise RuntimeError(f"The examples under {examples_uri!r} do not match their ingest "
                           "record (changed or partly rewritten since?):\n"
                           + "\n".join(f"  - {p}" for p in problems))


def _count_from_files(plan: _Plan, shard_files: Mapping[str, Sequence[ShardFile]]
                      ) -> dict[str, counts.SplitCounts]:
    """Counts for a runner without metrics: the input files' records and the manifests'."""
    result = {}
    for split, files in plan.split_files.items():
        read = count_records(files)
        written = sum(f.num_records for f in shard_files.get(split, ()))
        analyzed = read if split in plan.analyze_splits else 0
        if split not in plan.transform_splits:
            read = 0
        result[split] = counts.SplitCounts(read=read, transformed=written, written=written,
                                           analyzed=analyzed)
    return result


def count_labels(files: Sequence[str], label_key: str) -> dict[str, int]:
    """{label value: rows} of a string label in transformed gzip tf.Example `files`."""
    counted: dict[str, int] = {}
    if not files:
        return counted
    spec = {label_key: tf.io.FixedLenFeature([], tf.string)}
    dataset = tf.data.TFRecordDataset(list(files), compression_type="GZIP").batch(4096)
    for batch in dataset:
        for value in tf.io.parse_example(batch, spec)[label_key].numpy():
            text = value.decode("utf-8", "replace")
            counted[text] = counted.get(text, 0) + 1
    return counted


def count_records(files: Sequence[str]) -> int:
    """The number of records in gzip TFRecord `files`."""
    if not files:
        return 0
    dataset = tf.data.TFRecordDataset(list(files), compression_type="GZIP")
    return int(dataset.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1).numpy())
