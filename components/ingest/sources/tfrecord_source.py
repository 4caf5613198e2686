"""TFRecord files of serialized tf.Example (gzip or not), decoded to Arrow by tfx_bsl.

Records are decoded a batch at a time with tfx_bsl's ExamplesToRecordBatchDecoder; when a
batch fails, its records are decoded one by one and the ones that are not tf.Examples go to
the quarantine with their record number. Every tf.Example names its own features, so the
columns are known only after a pass over the data (`SourcePlan.columns` is None).

Example:
    >>> batches = TFRecordSource().read("/data/part-0.tfrecord.gz", batch_size=4096)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from tfx_bsl.coders.example_coder import ExamplesToRecordBatchDecoder

from components.artifacts import io
from components.common.tfrecord import iter_records
from components.ingest.config import InputFormat
from components.ingest.quarantine import BadRow, ReasonCode
from components.ingest.sources.base import RawBatch, RawKind, Source, SourcePlan

__all__ = ["TFRecordSource"]

_GZIP_MAGIC = b"\x1f\x8b"


def _is_gzip(path: str) -> bool:
    with io.open_for_read(path, compressed=False) as f:
        return f.read(2) == _GZIP_MAGIC


class TFRecordSource(Source):
    """Reads TFRecord files of tf.Example; gzip is detected from the file's first bytes."""

    input_format = InputFormat.TFRECORD

    def plan(self, files: Sequence[str]) -> SourcePlan:
        """See base class."""
        return SourcePlan(columns=None)

    def read(self, path: str, batch_size: int) -> Iterator[RawBatch]:
        """See base class."""
        decoder = ExamplesToRecordBatchDecoder()
        with io.open_for_read(path, compressed=_is_gzip(path)) as stream:
            records: list[bytes] = []
            first = 1
            for number, record in enumerate(iter_records(stream, path=path), start=1):
                if not records:
                    first = number
                records.append(record)
                if len(records) >= batch_size:
                    yield self._batch(decoder, path, first, records)
                    records = []
            if records:
                yield self._batch(decoder, path, first, records)

    @staticmethod
    def _batch(decoder, path: str, first: int, records: list[bytes]) -> RawBatch:
        numbers = np.arange(first, first + len(records), dtype=np.int64)
        bad: list[BadRow] = []
        try:
            decoded = decoder.DecodeBatch(records)
        except Exception:  # noqa: BLE001 (tfx_bsl raises RuntimeError/ValueError variants)
            good = []
            for i, record in enumerate(records):
                try:
                    decoder.DecodeBatch([record])
                    good.append(i)
                except Exception as error:  # noqa: BLE001
                    bad.append(BadRow(
                        source_file=path, line_number=int(numbers[i]),
                        reason_code=ReasonCode.MALFORMED_RECORD,
                        reason=f"record is not a tf.Example: {error}",
                        raw=RawBatch(path, numbers, {}, records, RawKind.RECORD).raw_text(i)))
            records = [records[i] for i in good]
            numbers = numbers[good]
            decoded = decoder.DecodeBatch(records) if records else None
        columns = ({name: decoded.column(i) for i, name in enumerate(decoded.schema.names)}
                   if decoded is not None else {})
        return RawBatch(source_file=path, line_numbers=numbers, columns=columns, raw=records,
                        raw_kind=RawKind.RECORD, bad_rows=bad)
