"""The Beam pipeline of the transform step: read, analyze, transform, write.

Raw splits are read as Arrow RecordBatches (`example_reader.py`: tf.Examples decoded with
tfx_bsl's decoder into the schema TFXIO's `TFExampleRecord` gives, so its
`TensorAdapterConfig` applies). The analyze splits go through `AnalyzeDataset`, every
transform split through `TransformDataset` with the resulting transform_fn, and every
transformed split is encoded back to tf.Examples a RecordBatch at a time and written as gzip
TFRecord shards (`components.common.shards.WriteShards`: a manifest records how many
examples each file holds).

Each split is read twice, once for the analyzers and once for the transform, instead of
reading it once and keeping it: a read fuses with its consumer, so no row is held between
the two passes or sent between processes, and memory stays flat in the number of rows (the
second read costs a decode, about as much as holding the rows would have cost to encode and
decode). Each stage counts its rows (`counts.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import apache_beam as beam
import tensorflow_transform.beam as tft_beam
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx_bsl.coders import example_coder
from tfx_bsl.public import tfxio

from components.common.shards import ShardFormat, WriteShards
from components.transform.counts import CountLabels, CountRows, CountSplitRows
from components.transform.example_reader import DEFAULT_BATCH_SIZE, ReadExampleBatches

TELEMETRY = ["estimator-pipelines", "transform"]
# gzip level of the transformed shards: level 1 is about 3x faster than the default 6 and
# writes about 12% more bytes; the shards are intermediate data, read by the trainer.
COMPRESSION_LEVEL = 1


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
    staging_dir: str,
    manifest_paths: Mapping[str, str],
    transform_graph_uri: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    class_label: str | None = None,
    label_splits: Sequence[str] = (),
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
        staging_dir: Where the transformed shards are written (`<staging_dir>/<split>/`)
            before the executor publishes them.
        manifest_paths: Per transform split, the JSON list of its staged shard files and
            their example counts (`components.common.shards.read_manifest`).
        transform_graph_uri: Where the transform graph (TFTransformOutput folder) goes.
        batch_size: Rows per RecordBatch. Default: `DEFAULT_BATCH_SIZE`.
        class_label: A class label's feature (class names), whose values `label_splits`
            count (`counts.CountLabels`). Default None: no label counted.
        label_splits: The transform splits whose label values are counted.
    """
    any_files = next(iter(split_files.values()))
    tensor_adapter_config = make_tfxio(list(any_files), schema, columns).TensorAdapterConfig()

    def read(splits: Sequence[str], stage: str, label: str):
        reader = ReadExampleBatches({s: split_files[s] for s in splits}, schema,
                                    columns=columns, batch_size=batch_size)
        if reader.arrow_schema() != tensor_adapter_config.arrow_schema:
            raise AssertionError(  # the reader and TFXIO must decode alike
                f"Decoded schema {reader.arrow_schema()} differs from TFXIO's "
                f"{tensor_adapter_config.arrow_schema}.")
        return (pipeline
                | f"Read[{label}]" >> reader
                | f"Count[{label}]" >> beam.ParDo(CountSplitRows(stage)))

    # One read for all analyze splits (a Flatten of several reads would route every row
    # through the runner), then a read of each transform split fused with its transform.
    analyze_data = read(analyze_splits, "analyzed", f"{'+'.join(analyze_splits)}/analyzed")
    transform_fn = ((analyze_data, tensor_adapter_config)
                    | "Analyze" >> tft_beam.AnalyzeDataset(preprocessing_fn))
    _ = transform_fn | "WriteTransformFn" >> tft_beam.WriteTransformFn(transform_graph_uri)

    for split in transform_splits:
        data, metadata = (
            ((read([split], "read", f"{split}/read"), tensor_adapter_config), transform_fn)
            | f"Transform[{split}]" >> tft_beam.TransformDataset(output_record_batches=True))
        encoder = (metadata.deferred_metadata
                   | f"Encoder[{split}]" >> beam.Map(
                       lambda m: example_coder.RecordBatchToExamplesEncoder(m.schema)))
        if class_label is not None and split in label_splits:
            data = data | f"CountLabels[{split}]" >> beam.ParDo(CountLabels(split, class_label))
        _ = (data
             | f"Count[{split}/transformed]" >> beam.ParDo(
                 CountRows(split, "transformed", batched=True))
             # Whole batches: one C++ call per RecordBatch (passthrough columns dropped).
             | f"Encode[{split}]" >> beam.Map(
                 lambda element, coder, key: (key, coder.encode(element[0])),
                 coder=beam.pvalue.AsSingleton(encoder), key=split)
             | f"Count[{split}/written]" >> beam.ParDo(
                 CountRows(split, "written", batched=True))
             | f"Write[{split}]" >> WriteShards(staging_dir, ShardFormat.TFRECORD_GZIP,
                                               manifest_paths[split],
                                               compression_level=COMPRESSION_LEVEL))
