"""What every input source gives the ingest pipeline: a plan of its columns and raw batches.

A source reads one file at a time (inside a Beam worker) and yields `RawBatch`es: raw
columns as Arrow arrays, the line (or record) number of every row, what is needed to quote
the row in the quarantine, and the rows it already rejected while reading (a CSV row with
the wrong number of fields, a record that is not a tf.Example).

Example:
    >>> source = CsvSource()
    >>> plan = source.plan(files)               # columns from the header rows
    >>> for batch in source.read(files[0], batch_size=4096):
    ...     batch.num_rows, batch.line_numbers[:2]
"""

from __future__ import annotations

import abc
import base64
import dataclasses
import enum
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from components.ingest.config import InputFormat
from components.ingest.parsing import ObservedType
from components.ingest.quarantine import BadRow

__all__ = ["RawBatch", "RawKind", "Source", "SourcePlan"]


class RawKind(enum.StrEnum):
    """How a source keeps each row's original form."""

    TEXT = "text"  # the CSV record as text
    RECORD = "record"  # the serialized record (TFRecord)
    COLUMNS = "columns"  # nothing but the columns themselves (Parquet)


@dataclasses.dataclass
class RawBatch:
    """Rows read from one file, not yet typed.

    Attributes:
        source_file: the file the rows come from.
        line_numbers: the 1-based line/record number of each row (int64 numpy array).
        columns: {column: raw Arrow array}; a column absent here is missing in every row.
        raw: one entry per row: the CSV text (str) or the record (bytes); None for COLUMNS.
        raw_kind: what `raw` holds.
        is_text: the columns are CSV text (missing-value tokens apply).
        bad_rows: rows rejected while reading; they are not in `columns`.
        line_spans: how many physical lines each row spans (a CSV record with a quoted
            newline spans several); None: one each.
        num_lines: the physical lines of the file this batch took, blank ones included;
            None: one per row, good and bad.
        blank_lines: the blank lines among them (neither rows nor bad rows).
    """

    source_file: str
    line_numbers: np.ndarray
    columns: dict[str, pa.Array]
    raw: Sequence[str] | Sequence[bytes] | None
    raw_kind: RawKind
    is_text: bool = False
    bad_rows: list[BadRow] = dataclasses.field(default_factory=list)
    line_spans: np.ndarray | None = None
    num_lines: int | None = None
    blank_lines: int = 0

    @property
    def num_rows(self) -> int:
        """Rows in `columns` (the rows rejected while reading are not counted)."""
        return len(self.line_numbers)

    @property
    def physical_lines(self) -> int:
        """The physical lines (records) of the input this batch took."""
        if self.num_lines is not None:
            return self.num_lines
        return self.num_rows + len(self.bad_rows)

    def lines_of(self, rows: np.ndarray) -> int:
        """The physical lines that `rows` (indices into `columns`) span together."""
        if self.line_spans is None:
            return len(rows)
        return int(self.line_spans[rows].sum())

    def raw_text(self, row: int) -> str:
        """The row as the quarantine quotes it."""
        if self.raw_kind is RawKind.TEXT:
            return self.raw[row]
        if self.raw_kind is RawKind.RECORD:
            return base64.b64encode(self.raw[row]).decode("ascii")
        return json.dumps({name: _jsonable(array[row].as_py())
                           for name, array in self.columns.items()}, ensure_ascii=False)

    def fingerprints(self, rows: np.ndarray) -> list[bytes]:
        """The bytes that identify each of `rows` for hash splitting, the same in every run.

        CSV: the record's text; TFRecord: the record; Parquet: the repr of the row's values
        in column order. (Not the serialized tf.Example: protobuf map order varies between
        processes.)
        """
        if self.raw_kind is RawKind.TEXT:
            raw = self.raw
            return [raw[i].encode("utf-8") for i in rows]
        if self.raw_kind is RawKind.RECORD:
            raw = self.raw
            return [raw[i] for i in rows]
        indices = pa.array(rows, type=pa.int64())
        values = [array.take(indices).to_pylist() for array in self.columns.values()]
        return [repr(row).encode("utf-8") for row in zip(*values, strict=True)]


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


@dataclasses.dataclass(frozen=True)
class SourcePlan:
    """What a source knows about its files before reading the rows.

    Attributes:
        columns: the column names in order, or None if only reading the rows tells
            (TFRecord: every tf.Example names its own features).
        native_types: the types the files declare (Parquet), {} when they declare none.
    """

    columns: tuple[str, ...] | None
    native_types: Mapping[str, ObservedType] = dataclasses.field(default_factory=dict)


class Source(abc.ABC):
    """Reads one input format. Subclasses are picklable: Beam ships them to workers."""

    input_format: ClassVar[InputFormat]

    @abc.abstractmethod
    def plan(self, files: Sequence[str]) -> SourcePlan:
        """The columns (and declared types) of `files`, read from their headers/metadata.

        Raises:
            ValueError: if the files disagree on their columns.
        """

    @abc.abstractmethod
    def read(self, path: str, batch_size: int) -> Iterator[RawBatch]:
        """Yields the rows of one file in batches of at most `batch_size` rows."""
