"""The Beam pipelines of an ingest run: type inference (when needed) and the ingest itself.

```
files -> Read (a Source, one file per worker, batches with line numbers)
      -> DecodeAndSplit (type, validate, hash-split, encode tf.Example with tfx_bsl)
           |-> examples -> WriteShards (gzip TFRecord, one folder per split) -> manifest
           |-> batches  -> ComputeStatistics (per split)                    -> stats file
           '-> bad rows -> WriteShards (JSON lines)                         -> manifest
```

Every step counts what it receives and emits (Beam counters in the `ingest` namespace, and
the record counts of the shard manifests); the executor checks that the counts add up, so
a step that silently wrote nothing (a PTransform called as a function instead of applied
with `|`) fails the run instead of losing data. Physical lines are counted too: the lines
the source took from its files (`lines_read`) must be the lines of the good rows, of the
quarantined rows and the blank lines together.

The whole graph after the read is fused and streams batch by batch: memory stays flat in
the number of rows.

Example:
    >>> layout = StagingLayout(examples_uri + "/.staging-1234")
    >>> with create_pipeline(args) as p:
    ...     build_ingest(p, files=files, source=CsvSource(), decoder=decoder,
    ...                  assigner=SplitAssigner({"train": 8, "eval": 2}), split_key=None,
    ...                  layout=layout, batch_size=4096)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam.metrics import Metrics
from tfx_bsl.coders.example_coder import RecordBatchToExamplesEncoder

from components.artifacts import io
from components.common.shards import ShardFormat, WriteShards
from components.ingest.decoder import BatchDecoder
from components.ingest.parsing import TypeObservation, observe
from components.ingest.quarantine import counter_name
from components.ingest.sources.base import RawBatch, Source
from components.ingest.splitting import SplitAssigner, key_fingerprints
from components.ingest.statistics import ComputeStatistics

__all__ = [
    "COUNTER_NAMESPACE",
    "QUARANTINE_KEY",
    "ReadRawBatches",
    "StagingLayout",
    "build_inference",
    "build_ingest",
]

COUNTER_NAMESPACE = "ingest"
QUARANTINE_KEY = "quarantine"


@dataclasses.dataclass(frozen=True)
class StagingLayout:
    """Where a run's pipelines leave their outputs before the executor publishes them."""

    root: str

    @property
    def examples(self) -> str:
        return io.join(self.root, "examples")

    @property
    def examples_manifest(self) -> str:
        return io.join(self.root, "examples_manifest.json")

    @property
    def quarantine(self) -> str:
        return io.join(self.root, "quarantine")

    @property
    def quarantine_manifest(self) -> str:
        return io.join(self.root, "quarantine_manifest.json")

    @property
    def statistics(self) -> str:
        return io.join(self.root, "statistics.json")

    @property
    def observations(self) -> str:
        return io.join(self.root, "observations.json")


def _count(name: str, value: int) -> None:
    if value:
        Metrics.counter(COUNTER_NAMESPACE, name).inc(value)


class _ReadFileFn(beam.DoFn):
    def __init__(self, source: Source, batch_size: int):
        self._source = source
        self._batch_size = batch_size

    def process(self, path: str):
        for batch in self._source.read(path, self._batch_size):
            _count("rows_read", batch.num_rows + len(batch.bad_rows))
            _count("lines_read", batch.physical_lines)
            _count("lines_blank", batch.blank_lines)
            yield batch


class ReadRawBatches(beam.PTransform):
    """Files to `RawBatch`es; with several files, each worker takes whole files."""

    def __init__(self, files: Sequence[str], source: Source, batch_size: int):
        super().__init__()
        self._files = list(files)
        self._source = source
        self._batch_size = batch_size

    def expand(self, pipeline):
        files = pipeline | "Files" >> beam.Create(self._files)
        if len(self._files) > 1:
            files = files | "Distribute" >> beam.Reshuffle()
        return files | "ReadFiles" >> beam.ParDo(_ReadFileFn(self._source, self._batch_size))


class _DecodeAndSplitFn(beam.DoFn):
    """RawBatch -> ('examples': (split, RecordBatch, [serialized]), 'bad': [BadRow])."""

    def __init__(self, decoder: BatchDecoder, assigner: SplitAssigner, split_key: str | None):
        self._decoder = decoder
        self._assigner = assigner
        self._split_key = split_key
        self._encoder = None

    def setup(self):
        self._encoder = RecordBatchToExamplesEncoder()

    def process(self, raw: RawBatch):
        _count("rows_decoded", raw.num_rows + len(raw.bad_rows))
        decoded = self._decoder.decode(raw)
        batch = decoded.record_batch
        _count("lines_good", raw.lines_of(decoded.rows))
        if decoded.bad_rows:
            _count("rows_bad", len(decoded.bad_rows))
            _count("lines_bad", sum(row.num_lines for row in decoded.bad_rows))
            for row in decoded.bad_rows:
                _count(counter_name(row.reason_code, row.column), 1)
            yield beam.pvalue.TaggedOutput("bad", decoded.bad_rows)
        if not batch.num_rows:
            return
        _count("rows_good", batch.num_rows)
        serialized = self._encoder.encode(batch)
        if self._split_key is not None:
            fingerprints = key_fingerprints(batch.column(self._split_key))
        else:
            fingerprints = raw.fingerprints(decoded.rows)
        assigned = self._assigner.assign(fingerprints)
        counts = np.bincount(assigned, minlength=len(self._assigner.names))
        if counts.max() < batch.num_rows:
            # One take that groups the rows by split; each split is then a zero-copy slice.
            order = np.argsort(assigned, kind="stable")
            batch = batch.take(pa.array(order))
            serialized = [serialized[i] for i in order]
        start = 0
        for name, count in zip(self._assigner.names, counts.tolist(), strict=True):
            if not count:
                continue
            _count(f"rows_split:{name}", count)
            yield beam.pvalue.TaggedOutput(
                "examples", (name, batch.slice(start, count), serialized[start:start + count]))
            start += count


def _serialized_of(element):
    name, _, serialized = element
    return name, serialized


def _batch_of(element):
    name, batch, _ = element
    return name, batch


def _quarantine_lines(bad_rows):
    return QUARANTINE_KEY, [row.to_json_line() for row in bad_rows]


def build_ingest(pipeline: beam.Pipeline, *, files: Sequence[str], source: Source,
                 decoder: BatchDecoder, assigner: SplitAssigner, split_key: str | None,
                 layout: StagingLayout, batch_size: int, compression_level: int = 1) -> None:
    """Adds the ingest graph to `pipeline`; its outputs land under `layout`.

    `compression_level` is gzip's for the example shards. Level 1 compresses the taxi
    examples 7x, about 12% less than the default 6 but 3x faster; the shards are
    intermediate data, read once or twice downstream.
    """
    raw = pipeline | "Read" >> ReadRawBatches(files, source, batch_size)
    decoded = raw | "DecodeAndSplit" >> beam.ParDo(
        _DecodeAndSplitFn(decoder, assigner, split_key)).with_outputs("examples", "bad")
    _ = (decoded.examples
         | "SerializedExamples" >> beam.Map(_serialized_of)
         | "WriteExamples" >> WriteShards(layout.examples, ShardFormat.TFRECORD_GZIP,
                                          layout.examples_manifest,
                                          compression_level=compression_level))
    _ = (decoded.examples
         | "ExampleBatches" >> beam.Map(_batch_of)
         | "Statistics" >> ComputeStatistics(decoder.columns, decoder.types,
                                             layout.statistics))
    _ = (decoded.bad
         | "QuarantineLines" >> beam.Map(_quarantine_lines)
         | "WriteQuarantine" >> WriteShards(layout.quarantine, ShardFormat.JSON_LINES,
                                            layout.quarantine_manifest))


class _ObserveFn(beam.DoFn):
    def __init__(self, columns: Sequence[str] | None, missing_values: Sequence[str]):
        self._columns = tuple(columns) if columns is not None else None
        self._missing_values = tuple(missing_values)

    def process(self, raw: RawBatch):
        names = self._columns if self._columns is not None else tuple(raw.columns)
        observed = {name: observe(raw.columns[name],
                                  missing_values=self._missing_values
                                  if raw.is_text else ()).to_json()
                    for name in names if name in raw.columns and raw.num_rows}
        yield {"rows": raw.num_rows + len(raw.bad_rows), "types": observed}


class _MergeObservations(beam.CombineFn):
    def create_accumulator(self) -> dict[str, Any]:
        return {"rows": 0, "types": {}}

    def add_input(self, accumulator, observation):
        return self.merge_accumulators([accumulator, observation])

    def merge_accumulators(self, accumulators):
        merged: dict[str, Any] = {"rows": 0, "types": {}}
        types = merged["types"]
        for accumulator in accumulators:
            merged["rows"] += accumulator["rows"]
            for name, observed in accumulator["types"].items():
                found = TypeObservation.from_json(observed)
                if name in types:
                    found = TypeObservation.from_json(types[name]).merge(found)
                types[name] = found.to_json()
        return merged

    def extract_output(self, accumulator):
        return accumulator


def _write_observations(observations: dict[str, Any], path: str) -> None:
    io.write_json_atomic(path, observations)


def build_inference(pipeline: beam.Pipeline, *, files: Sequence[str], source: Source,
                    columns: Sequence[str] | None, missing_values: Sequence[str],
                    layout: StagingLayout, batch_size: int) -> None:
    """Adds the type-inference graph: {"rows": n, "types": {column: TypeObservation}}.

    Rows the source rejects while reading (a repeated header, a wrong number of fields)
    are not observed, so they cannot widen a column's type.

    Args:
        columns: the columns to observe; None observes every column the data has.
    """
    _ = (pipeline
         | "Read" >> ReadRawBatches(files, source, batch_size)
         | "Observe" >> beam.ParDo(_ObserveFn(columns, missing_values))
         | "Merge" >> beam.CombineGlobally(_MergeObservations())
         | "Write" >> beam.Map(_write_observations, layout.observations))


def read_observations(layout: StagingLayout) -> tuple[int, dict[str, TypeObservation]]:
    """The (rows, {column: observation}) an inference pipeline wrote."""
    value = io.read_json(layout.observations)
    return value["rows"], {name: TypeObservation.from_json(t)
                           for name, t in value["types"].items()}
