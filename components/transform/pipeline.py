"""The Beam pipeline of the transform step: read, analyze, transform, write.

Raw splits are read as Arrow RecordBatches (`example_reader.py`: tf.Examples decoded with
tfx_bsl's decoder into the schema TFXIO's `TFExampleRecord` gives, so its
`TensorAdapterConfig` applies). The analyze splits go through `AnalyzeDataset`; all the
transform splits go through one `TransformDataset` with the resulting transform_fn, each
row carrying its split in a passthrough column (`SPLIT_COLUMN`, hidden from the
preprocessing_fn), so the transform graph is loaded once, not once per split. Each
transformed RecordBatch (from one input batch, so of one split) is keyed by that split again,
encoded back to tf.Examples whole and written as gzip TFRecord shards under
`<staging_dir>/<split>/` (`components.common.shards.WriteShards`: one manifest records how
many examples each file of each split holds).

The analyze splits are read twice, once for the analyzers and once for the transform,
instead of reading them once and keeping them: a read fuses with its consumer, so no row is
held between the two passes or sent between processes, and memory stays flat in the number
of rows (the second read costs a decode, about as much as holding the rows would have cost
to encode and decode). Each stage counts its rows per split (`counts.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import tensorflow_transform.beam as tft_beam
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx_bsl.coders import example_coder
from tfx_bsl.public import tfxio
from tfx_bsl.tfxio.tensor_adapter import TensorAdapterConfig

from components.common.shards import ShardFormat, WriteShards
from components.transform.counts import CountLabels, CountSplitRows
from components.transform.example_reader import DEFAULT_BATCH_SIZE, ReadExampleBatches

TELEMETRY = ["estimator-pipelines", "transform"]
# gzip level of the transformed shards: level 1 is about 3x faster than the default 6 and
# writes about 12% more bytes; the shards are intermediate data, read by the trainer.
COMPRESSION_LEVEL = 1
# The passthrough column that carries each row's split through TransformDataset.
SPLIT_COLUMN = "__split__"
_SPLIT_FIELD = pa.field(SPLIT_COLUMN, pa.list_(pa.binary()))


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
    manifest_path: str,
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
        manifest_path: The JSON list of the staged shard files of every transform split,
            each with its split (`key`) and example count
            (`components.common.shards.read_manifest`).
        transform_graph_uri: Where the transform graph (TFTransformOutput folder) goes.
        batch_size: Rows per RecordBatch. Default: `DEFAULT_BATCH_SIZE`.
        class_label: A class label's feature (class names), whose values `label_splits`
            count (`counts.CountLabels`). Default None: no label counted.
        label_splits: The transform splits whose label values are counted.

    Raises:
        ValueError: If the schema has a column named `SPLIT_COLUMN`.
    """
    if any(feature.name == SPLIT_COLUMN for feature in schema.feature):
        raise ValueError(f"The schema has a column named {SPLIT_COLUMN!r}, the name the "
                         "transform step gives its split passthrough column; rename it.")
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

    # One read for all analyze splits and one for all transform splits (a Flatten of
    # several reads would route every row through the runner); each fuses with its consumer.
    analyze_data = (read(analyze_splits, "analyzed", f"{'+'.join(analyze_splits)}/analyzed")
                    | "DropSplit" >> beam.Values())
    transform_fn = ((analyze_data, tensor_adapter_config)
                    | "Analyze" >> tft_beam.AnalyzeDataset(preprocessing_fn))
    _ = transform_fn | "WriteTransformFn" >> tft_beam.WriteTransformFn(transform_graph_uri)

    label = "+".join(transform_splits)
    tagged_config = TensorAdapterConfig(
        tensor_adapter_config.arrow_schema.append(_SPLIT_FIELD),
        tensor_adapter_config.tensor_representations)
    tagged = (read(transform_splits, "read", f"{label}/read")
              | "TagSplit" >> beam.Map(_with_split_column))
    with tft_beam.Context(passthrough_keys={SPLIT_COLUMN}):
        data, metadata = (((tagged, tagged_config), transform_fn)
                          | "Transform" >> tft_beam.TransformDataset(
                              output_record_batches=True))
    encoder = (metadata.deferred_metadata
               | "Encoder" >> beam.Map(
                   lambda m: example_coder.RecordBatchToExamplesEncoder(m.schema)))
    data = data | "KeyBySplit" >> beam.Map(_split_and_batch)
    if class_label is not None and label_splits:
        data = data | "CountLabels" >> beam.ParDo(CountLabels(class_label, label_splits))
    _ = (data
         | f"Count[{label}/transformed]" >> beam.ParDo(CountSplitRows("transformed"))
         # Whole batches: one C++ call per RecordBatch.
         | "Encode" >> beam.Map(lambda element, coder: (element[0], coder.encode(element[1])),
                                coder=beam.pvalue.AsSingleton(encoder))
         | f"Count[{label}/written]" >> beam.ParDo(CountSplitRows("written"))
         | "Write" >> WriteShards(staging_dir, ShardFormat.TFRECORD_GZIP, manifest_path,
                                  compression_level=COMPRESSION_LEVEL))


def _with_split_column(element: tuple[str, pa.RecordBatch]) -> pa.RecordBatch:
    """`(split, batch)` -> the batch with a `SPLIT_COLUMN` holding `[split]` in every row."""
    split, batch = element
    rows = batch.num_rows
    column = pa.ListArray.from_arrays(pa.array(range(rows + 1), pa.int32()),
                                      pa.array([split.encode()] * rows, pa.binary()))
    return pa.RecordBatch.from_arrays([*batch.columns, column],
                                      schema=batch.schema.append(_SPLIT_FIELD))


def _split_and_batch(element: tuple[pa.RecordBatch, dict]) -> tuple[str, pa.RecordBatch]:
    """A transformed `(batch, unary passthrough)` -> `(split, batch without SPLIT_COLUMN)`.

    A transformed batch holds the rows of one read batch, hence of one split. A
    preprocessing_fn that changes the number of rows gets the split back from TFT as a unary
    passthrough value instead (and the run then fails its row counts, naming the split).
    """
    batch, unary = element
    index = batch.schema.get_field_index(SPLIT_COLUMN)
    column = unary[SPLIT_COLUMN] if index < 0 else batch.column(index)
    splits = pc.unique(column.flatten())
    if len(splits) != 1:
        raise RuntimeError(f"A transformed batch holds the rows of splits {splits.to_pylist()}; "
                           "each must hold one split's.")
    return splits[0].as_py().decode(), batch if index < 0 else batch.remove_column(index)
