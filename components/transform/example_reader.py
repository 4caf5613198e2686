"""Reads gzip tf.Example shards as Arrow RecordBatches of a fixed size, one file per task.

`ReadExampleBatches({tag: files}, schema, batch_size=...)` is the transform step's input: it
gives `(tag, RecordBatch)` pairs (the tag says which files, e.g. which split, a batch came
from) whose RecordBatches are what tf.Transform consumes (the same Arrow schema TFXIO's `TFExampleRecord` decodes
to, so its `TensorAdapterConfig` applies) without TFXIO's per-record Beam elements. The file
names are reshuffled so that parallel workers take different files, and each file is read,
checked (TFRecord checksums) and decoded by the task that owns it, in batches of
`batch_size` records: nothing but file names crosses between workers, so a read fuses with
whatever consumes it (analysis or transform) and the rows never pass through the runner.
Several splits go through one read (tagged) rather than one read each joined by a
`beam.Flatten`: Beam's FnApiRunner materializes every multi-input Flatten, shipping all the
rows through the runner.

Example:
    >>> tagged = (pipeline
    ...           | ReadExampleBatches({"train": train_files}, schema,
    ...                                columns=["fare", "tips"], batch_size=8192))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import apache_beam as beam
import pyarrow as pa
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx_bsl.coders import example_coder
from tfx_bsl.tfxio import tensor_representation_util

from components.artifacts import io
from components.common.tfrecord import iter_records

__all__ = ["DEFAULT_BATCH_SIZE", "ReadExampleBatches", "decoding_schema"]

# Rows per RecordBatch. tf.Transform runs its graphs once per batch; 8192 rows amortize the
# per-call cost (tensor conversion, the TF function call) and keep a batch a few MB.
DEFAULT_BATCH_SIZE = 8192


def decoding_schema(schema: schema_pb2.Schema,
                    columns: Sequence[str] | None) -> schema_pb2.Schema:
    """The schema tf.Examples are decoded with: `schema` projected onto `columns` (None: all).

    The same projection TFXIO's `TFExampleRecord.Project(columns)` makes.
    """
    if columns is None:
        return schema
    return tensor_representation_util.ProjectTensorRepresentationsInSchema(
        schema, list(columns))


class _ReadBatchesFn(beam.DoFn):
    """Reads one `(tag, gzip TFRecord file)`, yielding `(tag, RecordBatch)` pairs of at most
    `batch_size` rows each."""

    def __init__(self, serialized_schema: bytes, batch_size: int):
        self._serialized_schema = serialized_schema
        self._batch_size = batch_size
        self._decoder = None

    def setup(self):
        self._decoder = example_coder.ExamplesToRecordBatchDecoder(self._serialized_schema)

    def process(self, element: tuple[str, str]):
        tag, path = element
        batch: list[bytes] = []
        with io.open_for_read(path, compressed=True) as stream:
            for record in iter_records(stream, path=path):
                batch.append(record)
                if len(batch) == self._batch_size:
                    yield tag, self._decoder.DecodeBatch(batch)
                    batch = []
        if batch:
            yield tag, self._decoder.DecodeBatch(batch)


class ReadExampleBatches(beam.PTransform):
    """Reads gzip tf.Example TFRecord files as `(tag, pa.RecordBatch)` pairs.

    Args:
        files: Per tag (e.g. a split name), its shard files (gzip TFRecord of tf.Example).
        schema: The raw schema (tensorflow_metadata).
        columns: The columns to decode (None: every column of the schema).
        batch_size: Rows per RecordBatch (the last batch of a file may be smaller).
            Default: `DEFAULT_BATCH_SIZE`.
    """

    def __init__(self, files: Mapping[str, Sequence[str]], schema: schema_pb2.Schema, *,
                 columns: Sequence[str] | None = None,
                 batch_size: int = DEFAULT_BATCH_SIZE):
        super().__init__()
        if not isinstance(files, Mapping):
            raise TypeError(f"`files` must map a tag to its files, got {type(files).__name__}: "
                            f"{files!r}; pass e.g. {{'train': [...]}}.")
        empty = [tag for tag, paths in files.items() if isinstance(paths, str) or not paths]
        if not files or empty:
            raise ValueError(f"`files` must give each tag a list of files; {empty or 'no tag'} "
                             "has none.")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive int, got {batch_size!r}.")
        self._files = [(tag, path) for tag in sorted(files) for path in sorted(files[tag])]
        self._schema = decoding_schema(schema, columns)
        self._batch_size = batch_size

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of the RecordBatches this transform produces."""
        decoder = example_coder.ExamplesToRecordBatchDecoder(self._schema.SerializeToString())
        return decoder.ArrowSchema()

    def expand(self, pipeline):
        return (pipeline
                | "Files" >> beam.Create(self._files)
                # One file per task: spread the files over the workers.
                | "SpreadFiles" >> beam.Reshuffle()
                | "ReadAndDecode" >> beam.ParDo(
                    _ReadBatchesFn(self._schema.SerializeToString(), self._batch_size)))
