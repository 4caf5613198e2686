"""Bad rows: what they are, how they are recorded, and how they are summed up for people.

Nothing is silently dropped: every row that cannot become a valid tf.Example is written to
`<examples>/quarantine/` as one JSON line, with the file and line it came from, why it was
rejected and its raw text, and is counted per reason and column.

Example:
    >>> row = BadRow(source_file="a.csv", line_number=7, reason_code=ReasonCode.FIELD_COUNT,
    ...              reason="expected 18 fields, got 17", raw="1,2,3")
    >>> row.to_json_line()
    '{"source_file": "a.csv", "line_number": 7, "reason": "expected 18 fields, got 17", ...}'
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterable, Mapping

from components import artifacts
from components.artifacts import io

__all__ = [
    "BadRow",
    "BadRowsError",
    "BadRowSummary",
    "ReasonCode",
    "counter_name",
    "parse_counter_name",
    "read_examples",
]

COUNTER_PREFIX = "bad_rows"


class ReasonCode(enum.StrEnum):
    """Why a row was quarantined."""

    FIELD_COUNT = "field_count"  # a CSV row with more or fewer fields than the header
    UNTERMINATED_QUOTE = "unterminated_quote"  # a CSV quote not closed in time: one line
    NOT_UTF8 = "not_utf8"  # a CSV record with bytes that are not UTF-8
    REPEATED_HEADER = "repeated_header"  # the CSV header again, mid-file
    INVALID_VALUE = "invalid_value"  # a value that is not of its column's type
    MISSING_LABEL = "missing_label"  # the label is missing, empty or blank
    INVALID_LABEL = "invalid_label"  # the label is not a finite number (nan, inf)
    MISSING_SPLIT_KEY = "missing_split_key"  # the split key column is missing
    MALFORMED_RECORD = "malformed_record"  # a TFRecord record that is not a tf.Example


@dataclasses.dataclass(frozen=True, kw_only=True)
class BadRow:
    """One quarantined row.

    Attributes:
        source_file: the input file.
        line_number: the 1-based line of the row in a CSV file (its first line if a quoted
            field spans lines), or the 1-based record/row number in a TFRecord/Parquet file.
        reason_code: the kind of problem.
        reason: what is wrong, for people.
        raw: the row as read: CSV text, base64 of a TFRecord record, JSON of a Parquet row.
        column: the column at fault, if one is.
    """

    source_file: str
    line_number: int
    reason_code: ReasonCode
    reason: str
    raw: str
    column: str | None = None

    @property
    def num_lines(self) -> int:
        """The physical lines the row spans: those of its CSV text (TFRecord and Parquet
        rows quote their record without newlines: one)."""
        return self.raw.count("\n") + 1

    def to_json_line(self) -> str:
        """The quarantine line: {source_file, line_number, reason, raw, reason_code, column}."""
        return json.dumps({
            "source_file": self.source_file,
            "line_number": self.line_number,
            "reason": self.reason,
            "raw": self.raw,
            "reason_code": str(self.reason_code),
            "column": self.column,
        }, ensure_ascii=False)


def counter_name(code: ReasonCode, column: str | None) -> str:
    """The Beam counter that counts one (reason, column): `bad_rows:<code>:<column>`."""
    return f"{COUNTER_PREFIX}:{code}:{column or ''}"


def parse_counter_name(name: str) -> tuple[ReasonCode, str | None] | None:
    """The (reason, column) of a `counter_name`, or None for other counters."""
    prefix, _, rest = name.partition(":")
    if prefix != COUNTER_PREFIX or ":" not in rest:
        return None
    code, _, column = rest.partition(":")
    return ReasonCode(code), (column or None)


class BadRowsError(ValueError):
    """Too large a share of the input was bad; the message says how many, why and where."""


@dataclasses.dataclass(frozen=True)
class BadRowSummary:
    """Bad rows counted by (reason, column), largest first."""

    total: int
    counts: tuple[tuple[ReasonCode, str | None, int], ...]

    @classmethod
    def from_counts(cls, counts: Mapping[tuple[ReasonCode, str | None], int]) -> BadRowSummary:
        ordered = sorted(((code, column, n) for (code, column), n in counts.items() if n),
                         key=lambda item: (-item[2], str(item[0]), item[1] or ""))
        return cls(total=sum(n for *_, n in ordered), counts=tuple(ordered))

    def invalid_values(self) -> dict[str, int]:
        """{column: values that were not of the column's type}."""
        return {column: n for code, column, n in self.counts
                if code is ReasonCode.INVALID_VALUE and column}

    def describe(self, examples: Mapping[tuple[ReasonCode, str | None], dict] | None = None,
                 *, top: int = 5) -> str:
        """The top reasons as lines: `  1,204 x invalid_value in 'fare' (e.g. line 7 ...)`."""
        lines = []
        for code, column, n in self.counts[:top]:
            where = f" in {column!r}" if column else ""
            line = f"  {n:,} x {code}{where}"
            example = (examples or {}).get((code, column))
            if example:
                line += (f" (e.g. {example['source_file']} line {example['line_number']}: "
                         f"{example['reason']})")
            lines.append(line)
        if len(self.counts) > top:
            rest = sum(n for *_, n in self.counts[top:])
            lines.append(f"  {rest:,} more in {len(self.counts) - top} other reason(s)")
        return "\n".join(lines)


def read_examples(quarantine_uri: str, wanted: Iterable[tuple[ReasonCode, str | None]], *,
                  max_lines: int = 10_000) -> dict[tuple[ReasonCode, str | None], dict]:
    """The first quarantined row for each wanted (reason, column), reading at most max_lines."""
    wanted = set(wanted)
    found: dict[tuple[ReasonCode, str | None], dict] = {}
    read = 0
    for path in io.match(io.join(quarantine_uri, f"*{artifacts.QUARANTINE_SUFFIX}")):
        with io.open_for_read(path, compressed=False) as f:
            for line in f:
                read += 1
                row = json.loads(line)
                key = (ReasonCode(row["reason_code"]), row.get("column"))
                if key in wanted and key not in found:
                    found[key] = row
                if len(found) == len(wanted) or read >= max_lines:
                    return found
    return found
