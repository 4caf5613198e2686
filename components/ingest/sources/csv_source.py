"""CSV files: a header row (or given column names), quoting, and every line accounted for.

tfx_bsl's CSV decoder works on lines without their numbers and raises on the first row with
the wrong number of fields. Here each file is read as bytes, line by line, in chunks, so
that every row keeps its line number and exact text, and every line ends up somewhere: in
a row, in the quarantine (with its own line number), or counted as blank.

- A chunk with no quote character (and only UTF-8) cannot have a field spanning lines, so
  row i is line i: Arrow's C++ CSV reader splits it into string columns, and its
  invalid-row handler reports the rows with the wrong number of fields.
- A chunk with quotes whose records are each one well-formed line goes through Python's
  csv module (strict); any other chunk is split record by record here.
- A quoted field may span lines, up to `max_record_lines` lines and `max_record_bytes`
  bytes. A quote not closed by then (or by the end of the file) is a stray quote: its
  line is quarantined on its own and reading resumes on the next line, so one stray `"`
  cannot swallow the rest of the file. A record spanning lines that has the wrong number
  of fields is treated the same way.
- A field that starts with a quote whose closing quote, on the same line, is not followed
  by the delimiter or the end of the line (`"Flash" Cab`) is not a quoted field: it is
  kept as written. (A quote that leaves its line open is closed properly or it is stray.)
- Bytes that are not UTF-8 quarantine their record, with the byte offset in the file; a
  UTF-8 byte order mark at the start of the file is dropped.
- A record equal to the header (files concatenated with their headers) is quarantined as
  a repeated header.

Either way the columns are Arrow strings, which `parsing.coerce` types in bulk.

Example:
    >>> source = CsvSource(delimiter=",", quotechar='"')
    >>> source.plan(["/data/taxi.csv"]).columns[:2]
    ('pickup_community_area', 'fare')
"""

from __future__ import annotations

import collections
import csv
import io as std_io
import itertools
import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from components.artifacts import io
from components.ingest.config import InputFormat
from components.ingest.quarantine import BadRow, ReasonCode
from components.ingest.sources.base import RawBatch, RawKind, Source, SourcePlan

__all__ = ["CsvSource"]

_BLANK_LINES = frozenset({"\n", "\r\n", "\r", ""})
_BLANK_BYTES = frozenset({b"\n", b"\r\n", b"\r", b""})
_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Bytes that are not UTF-8 decode (surrogateescape) to lone surrogates, which valid UTF-8
# never gives.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


class _Line(NamedTuple):
    number: int  # 1-based, in the file
    offset: int  # of its first byte, in the (decompressed) file
    size: int  # bytes
    text: str  # with its line ending; bytes that are not UTF-8 as lone surrogates


class _LineReader:
    """The lines of one file (split at b"\\n"), numbered, with their byte offsets.

    Lines can be given back, to be read again: after a stray quote, the lines a quoted
    field took are read again as records of their own.
    """

    def __init__(self, binary):
        self._file = binary
        self._pending: collections.deque[_Line] = collections.deque()
        self._number = 1
        self._offset = 0

    def __iter__(self):
        return self

    def __next__(self) -> _Line:
        if self._pending:
            return self._pending.popleft()
        data = self._file.readline()
        if not data:
            raise StopIteration
        return self.as_lines(*self._numbered([data]))[0]

    def read_raw(self, count: int) -> tuple[int, int, list[bytes]]:
        """Up to `count` lines from the file as bytes: (number of the first, its byte
        offset, lines). Call only when no line was given back (`has_pending` is False)."""
        return self._numbered(list(itertools.islice(self._file, count)))

    def _numbered(self, raw: list[bytes]) -> tuple[int, int, list[bytes]]:
        """Numbers lines just read from the file; drops the BOM that starts the file."""
        number, offset = self._number, self._offset
        self._number += len(raw)
        self._offset += sum(map(len, raw))
        if number == 1 and raw and raw[0].startswith(_BOM):
            raw[0] = raw[0][len(_BOM):]
            offset += len(_BOM)
        return number, offset, raw

    @staticmethod
    def as_lines(number: int, offset: int, raw: Sequence[bytes]) -> list[_Line]:
        """Lines read as bytes (`read_raw`), decoded, with their numbers and offsets."""
        lines = []
        for data in raw:
            lines.append(_Line(number, offset, len(data),
                               data.decode("utf-8", "surrogateescape")))
            number += 1
            offset += len(data)
        return lines

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    @property
    def next_number(self) -> int:
        """The number of the line `next` returns."""
        return self._pending[0].number if self._pending else self._number

    def give_back(self, lines: Sequence[_Line]) -> None:
        self._pending.extendleft(reversed(lines))


def _content(text: str) -> str:
    """A line (or record) without its final line ending."""
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def _escaped(text: str) -> str:
    """Text with bytes that were not UTF-8 written as `\\xNN`."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _not_utf8_reason(record: Sequence[_Line]) -> str | None:
    for line in record:
        found = _NOT_UTF8.search(line.text)
        if found:
            column = found.start()
            offset = line.offset + len(line.text[:column].encode("utf-8", "surrogateescape"))
            byte = ord(found.group()) - 0xDC00
            return (f"not UTF-8: byte 0x{byte:02x} at byte offset {offset:,} of the file "
                    f"(line {line.number}, character {column + 1}); the raw text shows "
                    "such bytes as \\xNN")
    return None


class CsvSource(Source):
    """Reads CSV (optionally gzip: `*.csv.gz`) with a header row or given column names.

    Args:
        delimiter: the field separator. Default: ",".
        quotechar: the quote character. Default: '"'.
        column_names: the columns of files that have no header row. Default: None (the
            first row of each file names the columns).
        max_record_lines: the most lines a record (a quoted field with newlines) may span;
            a quote left open longer is a stray quote. Default: 100.
        max_record_bytes: the most bytes a record may hold, likewise. Default: 1 MiB.
    """

    input_format = InputFormat.CSV

    def __init__(self, *, delimiter: str = ",", quotechar: str = '"',
                 column_names: Sequence[str] | None = None, max_record_lines: int = 100,
                 max_record_bytes: int = 1 << 20):
        self._delimiter = delimiter
        self._quotechar = quotechar
        self._column_names = tuple(column_names) if column_names is not None else None
        self._max_record_lines = max_record_lines
        self._max_record_bytes = max_record_bytes
        quote, separator = re.escape(quotechar), re.escape(delimiter)
        # Possessive: an escaped quote ("") is never split into a closing quote and a stray.
        self._quoted = re.compile(f"{quote}((?:[^{quote}]|{quote}{quote})*+){quote}")
        self._unquoted = re.compile(f"(?:[^{separator}\\r\\n]|\\r(?!\\n))*")

    # Records.

    def _split_record(self, first: _Line,
                      lines: _LineReader) -> tuple[list[str] | None, list[_Line]]:
        """The fields of the record that starts on `first`, and its lines.

        Pulls further lines from `lines` while a quoted field is open, and gives back
        those the record turns out not to need. Returns (None, [first]) if a quoted field
        stays open past the limits or the end of the file.
        """
        quote, separator = self._quotechar, self._delimiter
        taken = [first]
        text = first.text
        size = first.size
        fields: list[str] = []
        pos = 0
        while True:
            quoted = None
            if text.startswith(quote, pos):
                quoted = self._quoted.match(text, pos)
                while quoted is None:
                    following = None
                    if len(taken) < self._max_record_lines and size <= self._max_record_bytes:
                        following = next(lines, None)
                    if following is None:
                        lines.give_back(taken[1:])
                        return None, [first]
                    taken.append(following)
                    text += following.text
                    size += following.size
                    quoted = self._quoted.match(text, pos)
                end = quoted.end()
                if not (end == len(text) or text[end] == separator
                        or text.startswith("\n", end) or text.startswith("\r\n", end)
                        or text[end:] == "\r"):
                    # Not a quoted field: stray quotes. Closed on its own line
                    # (`"Flash" Cab`), the field is kept as written; closed on a later
                    # line, the quote left its line open.
                    if "\n" in text[pos:end]:
                        lines.give_back(taken[1:])
                        return None, [first]
                    quoted = None
            if quoted is not None:
                fields.append(quoted.group(1).replace(quote + quote, quote))
                pos = quoted.end()
            else:
                unquoted = self._unquoted.match(text, pos)
                fields.append(unquoted.group())
                pos = unquoted.end()
            if pos < len(text) and text[pos] == separator:
                pos += 1
                continue
            break
        used = text.count("\n", 0, pos) + 1
        if used < len(taken):
            lines.give_back(taken[used:])
            del taken[used:]
        return fields, taken

    def _header_of(self, path: str, lines: _LineReader) -> tuple[str, ...] | None:
        """The header (its first record), None for an empty file."""
        for line in lines:
            if line.text in _BLANK_LINES:
                continue
            fields, record = self._split_record(line, lines)
            problem = _not_utf8_reason(record)
            if problem is not None:
                hint = (" It starts with a UTF-16 byte order mark: save the file as UTF-8."
                        if line.number == 1 and line.text.encode(
                            "utf-8", "surrogateescape").startswith(_UTF16_BOMS) else "")
                raise ValueError(f"The CSV header of {path!r} is {problem}.{hint}")
            if fields is None:
                raise ValueError(
                    f"The CSV header of {path!r} (line {line.number}) opens a quoted field "
                    f"that is not closed within {self._max_record_lines} lines: "
                    f"{_content(line.text)[:200]!r}.")
            return tuple(cell.strip() for cell in fields)
        return None

    def plan(self, files: Sequence[str]) -> SourcePlan:
        """See base class."""
        if self._column_names is not None:
            return SourcePlan(columns=self._column_names)
        headers = {}
        for path in files:
            with io.open_for_read(path) as binary:
                headers[path] = self._header_of(path, _LineReader(binary))
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
        with io.open_for_read(path) as binary:
            lines = _LineReader(binary)
            columns = self._column_names
            if columns is None:
                columns = self._header_of(path, lines)
                if columns is None:
                    return  # an empty file
            quote = self._quotechar.encode("utf-8")
            while True:
                if lines.has_pending:  # lines a stray quote gave back
                    yield self._exact_batch(path, columns, lines,
                                            lines.next_number + batch_size)
                    continue
                first, offset, raw = lines.read_raw(batch_size)
                if not raw:
                    return
                data = b"".join(raw)
                batch = None
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    text = None
                # (Arrow would drop a BOM that starts the chunk: mid-file, it is data.)
                if text is not None and quote not in data and not data.startswith(_BOM):
                    batch = self._fast_batch(path, columns, first, raw, data, text)
                elif text is not None:
                    batch = self._one_line_records(path, columns, first, text)
                if batch is None:
                    lines.give_back(lines.as_lines(first, offset, raw))
                    batch = self._exact_batch(path, columns, lines, first + len(raw))
                yield batch

    def _fast_batch(self, path: str, columns: tuple[str, ...], first_line: int,
                    chunk: list[bytes], data: bytes, text: str) -> RawBatch | None:
        """Lines without quotes parsed by Arrow's C++ CSV reader; None if it cannot be used.

        Without a quote character no field spans lines, so row i is line i (less blank lines
        and rejected rows, which the invalid-row handler reports).
        """
        rejected: list[tuple[int, str, int]] = []

        def handle(row):
            rejected.append((row.number, row.text, row.actual_columns))
            return "skip"

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
        nonblank = [i for i, line in enumerate(chunk) if line not in _BLANK_BYTES]
        contents = text.split("\n")
        if "\r" in text:
            contents = [line[:-1] if line.endswith("\r") else line for line in contents]
        bad: list[BadRow] = []
        rejected_lines = set()
        for number, row_text, actual in rejected:
            index = nonblank[number - 1] if 0 < number <= len(nonblank) else None
            if index is None or contents[index] != row_text:
                return None  # not the line we think: let the exact reader decide
            rejected_lines.add(index)
            bad.append(BadRow(source_file=path, line_number=first_line + index,
                              reason_code=ReasonCode.FIELD_COUNT, raw=row_text,
                              reason=f"expected {len(columns)} fields, got {actual}"))
        good = [i for i in nonblank if i not in rejected_lines] if rejected_lines else nonblank
        if len(good) != table.num_rows:
            return None
        headers = self._repeated_headers(table, columns)
        if headers.size:
            for row in headers.tolist():
                bad.append(self._repeated_header(path, first_line + good[row],
                                                 contents[good[row]]))
            keep = np.ones(table.num_rows, dtype=bool)
            keep[headers] = False
            table = table.filter(pa.array(keep))
            good = [i for i, kept in zip(good, keep.tolist(), strict=True) if kept]
        return RawBatch(
            source_file=path, line_numbers=first_line + np.asarray(good, dtype=np.int64),
            columns={name: table.column(i).combine_chunks()
                     for i, name in enumerate(columns)},
            raw=[contents[i] for i in good], raw_kind=RawKind.TEXT, is_text=True,
            bad_rows=bad, num_lines=len(chunk), blank_lines=len(chunk) - len(nonblank))

    def _one_line_records(self, path: str, columns: tuple[str, ...], first_line: int,
                          text: str) -> RawBatch | None:
        """Quoted lines split by the csv module's C parser, if every record is one line and
        well-formed; None otherwise (the exact reader decides then)."""
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        reader = csv.reader(lines, strict=True, delimiter=self._delimiter,
                            quotechar=self._quotechar)
        header = list(columns)
        rows: list[list[str]] = []
        raws: list[str] = []
        numbers: list[int] = []
        bad: list[BadRow] = []
        blank = 0
        index = 0
        try:
            for fields in reader:
                if reader.line_num != index + 1:
                    return None  # a quoted field spans lines
                line = lines[index]
                raw = line[:-1] if line.endswith("\r") else line
                number = first_line + index
                index += 1
                if not fields:
                    blank += 1
                elif len(fields) != len(header):
                    bad.append(BadRow(source_file=path, line_number=number,
                                      reason_code=ReasonCode.FIELD_COUNT, raw=raw,
                                      reason=f"expected {len(header)} fields, got "
                                             f"{len(fields)}"))
                elif fields[0].strip() == header[0] and [f.strip() for f in fields] == header:
                    bad.append(self._repeated_header(path, number, raw))
                else:
                    rows.append(fields)
                    raws.append(raw)
                    numbers.append(number)
        except csv.Error:
            return None  # a stray quote, a lone carriage return, an enormous field
        if index != len(lines):
            return None
        return RawBatch(source_file=path, line_numbers=np.asarray(numbers, dtype=np.int64),
                        columns=_string_columns(columns, rows), raw=raws,
                        raw_kind=RawKind.TEXT, is_text=True, bad_rows=bad,
                        num_lines=len(lines), blank_lines=blank)

    @staticmethod
    def _repeated_headers(table: pa.Table, columns: tuple[str, ...]) -> np.ndarray:
        """The rows of `table` that repeat the header (cells compared without padding)."""
        if not table.num_rows:
            return np.zeros(0, dtype=np.int64)
        same = None
        for i, name in enumerate(columns):
            equal = pc.equal(pc.utf8_trim_whitespace(table.column(i)), name)
            same = equal if same is None else pc.and_(same, equal)
            if i == 0 and not pc.any(same).as_py():
                return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(same.to_numpy(zero_copy_only=False))

    def _repeated_header(self, path: str, number: int, raw: str) -> BadRow:
        return BadRow(source_file=path, line_number=number,
                      reason_code=ReasonCode.REPEATED_HEADER, raw=raw,
                      reason="repeated header: the row is the header again (files joined "
                             "with their headers?)")

    def _exact_batch(self, path: str, columns: tuple[str, ...], lines: _LineReader,
                     end: int) -> RawBatch:
        """The records that start before line `end`, split here (quotes, fields spanning
        lines, stray quotes, bytes that are not UTF-8)."""
        first_number = lines.next_number
        header = list(columns)
        width = len(columns)
        quote, separator = self._quotechar, self._delimiter
        rows: list[list[str]] = []
        raws: list[str] = []
        numbers: list[int] = []
        spans: list[int] = []
        bad: list[BadRow] = []
        blank = 0
        while lines.next_number < end:
            line = next(lines, None)
            if line is None:
                break
            if line.text in _BLANK_LINES:
                blank += 1
                continue
            if quote in line.text:
                try:  # the usual quoted line, by the csv module's C parser
                    fields, record = next(csv.reader((line.text,), strict=True,
                                                     delimiter=separator,
                                                     quotechar=quote)), [line]
                except (csv.Error, StopIteration):  # fields spanning lines, stray quotes
                    fields, record = self._split_record(line, lines)
            else:
                fields, record = _content(line.text).split(separator), [line]
            number = line.number
            if fields is None:
                bad.append(BadRow(
                    source_file=path, line_number=number,
                    reason_code=ReasonCode.UNTERMINATED_QUOTE, raw=_escaped(_content(line.text)),
                    reason=f"a quoted field opened on line {number} is not closed (by a "
                           "quote followed by the delimiter or the end of a line) within "
                           f"{self._max_record_lines} lines ({self._max_record_bytes:,} bytes) "
                           "or before the end of the file: the quote is taken as a stray "
                           "one, this line is set aside and the next lines are read on "
                           "their own"))
                continue
            raw = _content("".join(r.text for r in record)) if len(record) > 1 \
                else _content(line.text)
            problem = _not_utf8_reason(record)
            if problem is not None:
                bad.append(BadRow(source_file=path, line_number=number,
                                  reason_code=ReasonCode.NOT_UTF8, raw=_escaped(raw),
                                  reason=problem))
                continue
            if len(fields) != width:
                reason = f"expected {width} fields, got {len(fields)}"
                if len(record) > 1:
                    # Most likely a stray quote closed by another one lines later: keep the
                    # lines in between as records of their own.
                    lines.give_back(record[1:])
                    reason += (f" in the record that a quoted field carries over lines "
                               f"{number}-{record[-1].number}; the quote is taken as a stray "
                               "one, this line is set aside and the next lines are read on "
                               "their own")
                    raw = _content(line.text)
                bad.append(BadRow(source_file=path, line_number=number,
                                  reason_code=ReasonCode.FIELD_COUNT, raw=raw, reason=reason))
                continue
            if fields[0].strip() == header[0] and [f.strip() for f in fields] == header:
                bad.append(self._repeated_header(path, number, raw))
                continue
            rows.append(fields)
            raws.append(raw)
            numbers.append(number)
            spans.append(len(record))
        return RawBatch(source_file=path, line_numbers=np.asarray(numbers, dtype=np.int64),
                        columns=_string_columns(columns, rows), raw=raws, raw_kind=RawKind.TEXT, is_text=True,
                        bad_rows=bad, line_spans=np.asarray(spans, dtype=np.int64),
                        num_lines=lines.next_number - first_number, blank_lines=blank)


def _string_columns(columns: Sequence[str], rows: list[list[str]]) -> dict[str, pa.Array]:
    if not rows:
        return {name: pa.array([], type=pa.string()) for name in columns}
    return {name: pa.array(cells, type=pa.string())
            for name, cells in zip(columns, zip(*rows, strict=True), strict=True)}
