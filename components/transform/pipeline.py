"""The Beam pipeline of the transform step: read, analyze, transform, write.

Raw splits are read with TFXIO (`TFExampleRecord`): tf.Examples decoded straight into Arrow
RecordBatches, the fast path tf.Transform is built for. The analyze splits go through
`AnalyzeAndTransformDataset` (or `AnalyzeDataset` when several splits are analyzed together
or the analyzed split is not transformed), the other splits through `TransformDataset` with
the same transform_fn, and every transformed split is encoded back to tf.Examples from
RecordBatches and written as gzip TFRecord shards. Each stage counts its rows (`counts.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import apache_beam as beam
import tensorflow_transform.beam as tft_beam
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx_bsl.public import tfxio

from components.transform import layout
from components.transform.counts import CountRows

TELEMETRY = ["estimator-pipelines", "transform"]


def make_tfxio(file_pattern: str | Sequence[str], schema: schema_pb2.Schema,
               columns: Sequence[str] | None) -> tfxio.TFXIO:
    """A TFXIO over gzip tf.Example shards, decoding only `columns` (None: all)."""
    source = tfxio.TFExampleRecord(file_pattern=file_pattern, schema=schema,
                                   telemetry_descriptors=TELEMETRY)
    return source.Project(list(columns)) if columns is not None else source


def build_pipeline(
    pipeline: beam.Pipeline,
    *,
    schema: schema_pb2.Schema,
    preprocessing_fn: Callable,
    columns: Sequence[str] | None,
    split_files: Mapping[str, Sequence[str]],
    analyze_splits: Sequence[str],
    transform_splits: Sequence[str],
    transformed_examples_uri: str,
    transform_graph_uri: str,
) -> None:
    """Adds the transform step's transforms to `pipeline`; run it inside a `tft_beam.Context`.

    Args:
        pipeline: The Beam pipeline to add to.
        schema: The raw schema.
        preprocessing_fn: tf.Transform's preprocessing_fn.
        columns: The raw columns to decode (None: every column of the schema).
        split_files: Per split to read, its shard files.
        analyze_splits: The splits the analyzers see.
        transform_splits: The splits to transform and write.
        transformed_examples_uri: Where `Split-<name>/` folders of transformed shards go.
        transform_graph_uri: Where the transform graph (TFTransformOutput folder) goes.
    """
    sources = {split: make_tfxio(list(files), schema, columns)
               for split, files in split_files.items()}
    tensor_adapter_config = next(iter(sources.values())).TensorAdapterConfig()
    raw = {split: (pipeline
                   | f"Read[{split}]" >> source.BeamSource()
                   | f"Count[{split}/read]" >> beam.ParDo(CountRows(split, "read", batched=True)))
           for split, source in sources.items()}

    datasets = {}  # split -> (transformed RecordBatches, transformed metadata)
    if len(analyze_splits) == 1 and analyze_splits[0] in transform_splits:
        split = analyze_splits[0]
        datasets[split], transform_fn = (
            (raw[split], tensor_adapter_config)
            | f"AnalyzeAndTransform[{split}]" >> tft_beam.AnalyzeAndTransformDataset(
                preprocessing_fn, output_record_batches=True))
    else:
        analyze_data = (
            [raw[split] for split in analyze_splits] | "FlattenAnalyzeSplits" >> beam.Flatten())
        transform_fn = ((analyze_data, tensor_adapter_config)
                        | "Analyze" >> tft_beam.AnalyzeDataset(preprocessing_fn))
    for split in transform_splits:
        if split not in datasets:
            datasets[split] = (
                ((raw[split], tensor_adapter_config), transform_fn)
                | f"Transform[{split}]" >> tft_beam.TransformDataset(output_record_batches=True))

    _ = transform_fn | "WriteTransformFn" >> tft_beam.WriteTransformFn(transform_graph_uri)
    for split in transform_splits:
        data, metadata = datasets[split]
        data = (data
                | f"Count[{split}/transformed]" >> beam.ParDo(
                    CountRows(split, "transformed", batched=True)))
        _ = (
            (data, metadata)
            | f"Encode[{split}]" >> tft_beam.EncodeTransformedDataset()
            | f"Count[{split}/written]" >> beam.ParDo(CountRows(split, "written", batched=False))
            | f"Write[{split}]" >> beam.io.WriteToTFRecord(
                layout.transformed_split_prefix(transformed_examples_uri, split),
                file_name_suffix=layout.TFRECORD_SUFFIX,
                compression_type=beam.io.filesystem.CompressionTypes.GZIP))
