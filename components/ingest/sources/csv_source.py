"""CSV files: a header row (or given column names), quoting, line numbers for every row.

tfx_bsl's CSV decoder works on lines without their numbers and raises on the first row with
the wrong number of fields. Here each file is read sequentially in chunks of lines, so that
every row keeps its line number and exact text:

- A chunk with no quote character cannot have a field spanning lines, so row i is line i:
  Arrow's C++ CSV reader splits it into string columns, and its invalid-row handler reports
  the rows with the wrong number of fields (by row number, which maps back to the line).
- A chunk with quotes goes through Python's csv module, which pulls lines through a
  generator that records them, so a quoted field spanning lines yields one row (numbered by
  its first line), even across the end of the chunk.

Either way the columns are Arrow strings, which `parsing.coerce` types in bulk.

Example:
    >>> source = CsvSource(delimiter=",", quotechar='"')
    >>> source.plan(["/data/taxi.csv"]).columns[:2]
    ('pickup_community_area', 'fare')
"""

from __future__ import annotations

import csv
import io as std_io
import itertools
from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from components.artifacts import io
from components.ingest.config import InputFormat
from components.ingest.quarantine import BadRow, ReasonCode
from components.ingest.sources.base import RawBatch, RawKind, Source, SourcePlan

__all__ = ["CsvSource"]

_BLANK_LINES = frozenset({"\n", "\r\n", "\r", ""})


class _TrackedLines:
    """Feeds a csv.reader line by line and remembers the lines of the current record."""

    def __init__(self, text_stream):
        self.consumed: list[str] = []
        self.next_line = 1  # the number of the first line of the record being read
        self._iterator = self._lines(text_stream)

    def _lines(self, text_stream):
        consumed = self.consumed
        for line in text_stream:
            consumed.append(line)
            yield line

    def __iter__(self):
        return self._iterator

    def take(self) -> tuple[int, str]:
        """The first line number and the text of the record just read, and forgets them."""
        lines = self.consumed
        text = lines[0] if len(lines) == 1 else "".join(lines)
        number = self.next_line
        self.next_line += len(lines)
        lines.clear()
        return number, text.rstrip("\r\n")


class CsvSource(Source):
    """Reads CSV (optionally gzip: `*.csv.gz`) with a header row or given column names.

    Args:
        delimiter: the field separator. Default: ",".
        quotechar: the quote character. Default: '"'.
        column_names: the columns of files that have no header row. Default: None (the
            first row of each file names the columns).
    """

    input_format = InputFormat.CSV

    def __init__(self, *, delimiter: str = ",", quotechar: str = '"',
                 column_names: Sequence[str] | None = None):
        self._delimiter = delimiter
        self._quotechar = quotechar
        self._column_names = tuple(column_names) if column_names is not None else None

    def _reader(self, lines):
        return csv.reader(lines, delimiter=self._delimiter, quotechar=self._quotechar,
                          strict=False)

    def _open_text(self, path: str):
        return std_io.TextIOWrapper(io.open_for_read(path), encoding="utf-8",
                                    errors="replace", newline="")

    def _header(self, path: str) -> tuple[str, ...] | None:
        with self._open_text(path) as text:
            for record in self._reader(text):
                if record:
                    return tuple(cell.strip() for cell in record)
        return None  # an empty file

    def plan(self, files: Sequence[str]) -> SourcePlan:
        """See base class."""
        if self._column_names is not None:
            return SourcePlan(columns=self._column_names)
        headers = {path: self._header(path) for path in files}
        found = {path: h for path, h in headers.items() if h is not None}
        if not found:
            return SourcePlan(columns=())
        first_path, columns = next(iter(found.items()))
        for path, header in found.items():
            if header != columns:
                raise ValueError(
                    f"CSV files disagree on their header: {first_path!r} has {list(columns)} "
                    f"but {path!r} has {list(header)}. Ingest files with the same columns "
                    "together (or give `column_names` for headerless files).")
        duplicates = sorted({c for c in columns if columns.count(c) > 1})
        if duplicates or "" in columns:
            raise ValueError(
                f"The CSV header of {first_path!r} has repeated or empty column names "
                f"({duplicates or ['']}); every column needs its own name.")
        return SourcePlan(columns=columns)

    def read(self, path: str, batch_size: int) -> Iterator[RawBatch]:
        """See base class."""
        with self._open_text(path) as text:
            lines = iter(text)
            next_line = 1
            columns = self._column_names
            if columns is None:
                columns, next_line = self._read_header(lines)
                if columns is None:
                    return  # an empty file
            while True:
                chunk = list(itertools.islice(lines, batch_size))
                if not chunk:
                    return
                joined = "".join(chunk)
                batch = None
                if self._quotechar not in joined:
                    batch = self._fast_batch(path, columns, chunk, joined, next_line)
                borrowed = 0
                if batch is None:
                    batch, borrowed = self._exact_batch(path, columns, chunk, lines, next_line)
                next_line += len(chunk) + borrowed
                yield batch

    def _read_header(self, lines) -> tuple[tuple[str, ...] | None, int]:
        """The header (its first record) and the number of the line after it."""
        tracked = _TrackedLines(lines)
        for record in self._reader(tracked):
            tracked.take()
            if record:
                return tuple(cell.strip() for cell in record), tracked.next_line
        return None, tracked.next_line

    def _fast_batch(self, path: str, columns: tuple[str, ...], chunk: list[str], joined: str,
                    first_line: int) -> RawBatch | None:
        """Lines without quotes parsed by Arrow's C++ CSV reader; None if it cannot be used.

        Without a quote character no field spans lines, so row i is line i (less blank lines
        and rejected rows, which the invalid-row handler reports).
        """
        rejected: list[tuple[int, str, int]] = []

        def handle(row):
            rejected.append((row.number, row.text, row.actual_columns))
            return "skip"

        data = joined.encode("utf-8")
        try:
            table = pa_csv.read_csv(
                std_io.BytesIO(data),
                read_options=pa_csv.ReadOptions(column_names=list(columns), use_threads=False,
                                                block_size=max(len(data) + 1, 1 << 20)),
                parse_options=pa_csv.ParseOptions(
                    delimiter=self._delimiter, quote_char=False, newlines_in_values=False,
                    ignore_empty_lines=True, invalid_row_handler=handle),
                convert_options=pa_csv.ConvertOptions(
                    column_types={name: pa.string() for name in columns},
                    strings_can_be_null=False, quoted_strings_can_be_null=False))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        nonblank = [i for i, line in enumerate(chunk) if line not in _BLANK_LINES]
        bad: list[BadRow] = []
        rejected_lines = set()
        for number, row_text, actual in rejected:
            index = nonblank[number - 1] if 0 < number <= len(nonblank) else None
            if index is None or chunk[index].rstrip("\r\n") != row_text:
                return None  # not the line we think: let the exact reader decide
            rejected_lines.add(index)
            bad.append(BadRow(source_file=path, line_number=first_line + index,
                              reason_code=ReasonCode.FIELD_COUNT, raw=row_text,
                              reason=f"expected {len(columns)} fields, got {actual}"))
        good = [i for i in nonblank if i not in rejected_lines] if rejected_lines else nonblank
        if len(good) != table.num_rows:
            return None
        return RawBatch(
            source_file=path, line_numbers=first_line + np.asarray(good, dtype=np.int64),
            columns={name: table.column(i).combine_chunks()
                     for i, name in enumerate(columns)},
            raw=[chunk[i].rstrip("\r\n") for i in good], raw_kind=RawKind.TEXT, is_text=True,
            bad_rows=bad)

    def _exact_batch(self, path: str, columns: tuple[str, ...], chunk: list[str], lines,
                     first_line: int) -> tuple[RawBatch, int]:
        """The records that start in `chunk`, parsed by Python's csv module (quotes, fields
        spanning lines); returns the batch and how many lines past the chunk it read."""
        tracked = _TrackedLines(itertools.chain(chunk, lines))
        tracked.next_line = first_line
        reader = self._reader(tracked)
        end = first_line + len(chunk)
        rows: list[list[str]] = []
        raws: list[str] = []
        numbers: list[int] = []
        bad: list[BadRow] = []
        while tracked.next_line < end:
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as error:  # e.g. an enormous field
                number, raw = tracked.take()
                bad.append(BadRow(source_file=path, line_number=number,
                                  reason_code=ReasonCode.MALFORMED_RECORD, raw=raw,
                                  reason=f"not parseable as CSV: {error}"))
                continue
            number, raw = tracked.take()
            if not record:
                continue  # a blank line
            if len(record) != len(columns):
                bad.append(BadRow(source_file=path, line_number=number,
                                  reason_code=ReasonCode.FIELD_COUNT, raw=raw,
                                  reason=f"expected {len(columns)} fields, got {len(record)}"))
                continue
            rows.append(record)
            raws.append(raw)
            numbers.append(number)
        if rows:
            arrays = {name: pa.array(cells, type=pa.string())
                      for name, cells in zip(columns, zip(*rows, strict=True), strict=True)}
        else:
            arrays = {name: pa.array([], type=pa.string()) for name in columns}
        batch = RawBatch(source_file=path, line_numbers=np.asarray(numbers, dtype=np.int64),
                         columns=arrays, raw=raws, raw_kind=RawKind.TEXT, is_text=True,
                         bad_rows=bad)
        return batch, max(tracked.next_line - end, 0)
