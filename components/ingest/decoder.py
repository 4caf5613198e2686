"""BatchDecoder: a RawBatch to typed, validated rows (an Arrow RecordBatch) and bad rows.

Each row is checked in a fixed order and quarantined for the first problem found: a value
that is not of its column's type (columns in order), a label that is missing, blank or not
a finite number (nan, inf, in any spelling), a missing split key.
(Rows with the wrong number of fields, or records that are not tf.Examples, were already
rejected while reading.)

Example:
    >>> decoder = BatchDecoder(columns=("fare", "payment_type"),
    ...                        types={"fare": FeatureType.FLOAT,
    ...                               "payment_type": FeatureType.BYTES},
    ...                        label_column="fare")
    >>> decoded = decoder.decode(raw_batch)
    >>> decoded.record_batch.num_rows + len(decoded.bad_rows) == raw_batch.num_rows
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from components.artifacts import FeatureType
from components.ingest.config import DEFAULT_MISSING_VALUES
from components.ingest.parsing import LIST_TYPES, coerce
from components.ingest.quarantine import BadRow, ReasonCode
from components.ingest.sources.base import RawBatch

__all__ = ["BatchDecoder", "DecodedBatch"]

_ARTICLES = {FeatureType.INT: "an INT", FeatureType.FLOAT: "a FLOAT",
             FeatureType.BYTES: "BYTES"}


@dataclasses.dataclass
class DecodedBatch:
    """The good rows of a batch, typed, and every bad row (read-time ones included).

    Attributes:
        record_batch: one large_list column per configured column, good rows only.
        rows: the index in the RawBatch of each good row.
        bad_rows: the rows for the quarantine.
    """

    record_batch: pa.RecordBatch
    rows: np.ndarray
    bad_rows: list[BadRow]


def _is_missing(values: pa.Array) -> np.ndarray:
    return (pc.list_value_length(values).fill_null(0).to_numpy(zero_copy_only=False) == 0)


def _label_problems(column: str, values: pa.LargeListArray, feature_type: FeatureType,
                    cells: pa.Array | None) -> dict[int, tuple[ReasonCode, str]]:
    """{row: (code, reason)} for the rows whose label is missing, blank or not finite.

    Args:
        column: the label column.
        values: its typed values.
        feature_type: its type.
        cells: its CSV text, to quote a missing-value marker in the reason; None otherwise.
    """
    problems: dict[int, tuple[ReasonCode, str]] = {}
    for row in np.flatnonzero(_is_missing(values)).tolist():
        cell = cells[row].as_py() if cells is not None else None
        marker = ""
        if cell:
            marker = (f" (the cell {cell!r} is blank)" if not cell.strip()
                      else f" (the cell is {cell!r}, a missing value)")
        problems[row] = (ReasonCode.MISSING_LABEL,
                         f"the label column {column!r} is missing{marker}")
    flat = pc.list_flatten(values)
    if feature_type is FeatureType.INT or not len(flat):
        return problems
    if feature_type is FeatureType.FLOAT:
        wrong = pc.invert(pc.is_finite(flat))
        what = "not a finite number"
    else:
        wrong = pc.match_substring_regex(flat, r"^\s*$")
        what = "blank"
    wrong = wrong.fill_null(False)
    if not pc.any(wrong).as_py():
        return problems
    parents = pc.list_parent_indices(values).to_numpy(zero_copy_only=False)
    for j in np.flatnonzero(wrong.to_numpy(zero_copy_only=False)).tolist():
        row = int(parents[j])
        if row not in problems:
            code = (ReasonCode.INVALID_LABEL if feature_type is FeatureType.FLOAT
                    else ReasonCode.MISSING_LABEL)
            value = cells[row].as_py() if cells is not None else flat[j].as_py()
            problems[row] = (code, f"the label column {column!r} is {value!r}, {what}")
    return problems


class BatchDecoder:
    """Types and validates raw batches against the columns and types of this run.

    Args:
        columns: the output columns, in order.
        types: the type of every column.
        missing_values: CSV cells that mean missing. Default: `DEFAULT_MISSING_VALUES`.
        label_column: rows missing it are bad. Default: None.
        split_key: rows missing it are bad. Default: None.
    """

    def __init__(self, *, columns: Sequence[str], types: Mapping[str, FeatureType],
                 missing_values: Sequence[str] = DEFAULT_MISSING_VALUES, label_column: str | None = None,
                 split_key: str | None = None):
        unknown = [c for c in columns if c not in types]
        if unknown:
            raise ValueError(f"Columns {unknown} have no type.")
        self.columns = tuple(columns)
        self.types = {c: FeatureType(types[c]) for c in self.columns}
        self._missing_values = tuple(missing_values)
        self._label_column = label_column
        self._split_key = split_key
        self.arrow_schema = pa.schema([pa.field(c, LIST_TYPES[self.types[c]])
                                       for c in self.columns])

    def decode(self, raw: RawBatch) -> DecodedBatch:
        """Types every column of `raw` and separates the good rows from the bad."""
        n = raw.num_rows
        bad = np.zeros(n, dtype=bool)
        reasons: dict[int, tuple[ReasonCode, str, str]] = {}
        arrays = []
        for column in self.columns:
            target = self.types[column]
            array = raw.columns.get(column)
            if array is None:
                array = pa.nulls(n, type=pa.string() if raw.is_text else pa.null())
            coerced = coerce(array, target,
                             missing_values=self._missing_values if raw.is_text else ())
            arrays.append(coerced.values)
            if coerced.invalid.any():
                for row in np.flatnonzero(coerced.invalid & ~bad):
                    value = coerced.bad_values.get(int(row))
                    reasons[int(row)] = (
                        ReasonCode.INVALID_VALUE, column,
                        f"column {column!r}: {value!r} is not {_ARTICLES[target]}")
                bad |= coerced.invalid
        if self._label_column is not None:
            index = self.columns.index(self._label_column)
            cells = raw.columns.get(self._label_column) if raw.is_text else None
            for row, (code, reason) in _label_problems(
                    self._label_column, arrays[index], self.types[self._label_column],
                    cells).items():
                if not bad[row]:
                    reasons[row] = (code, self._label_column, reason)
                    bad[row] = True
        if self._split_key is not None:
            missing = _is_missing(arrays[self.columns.index(self._split_key)])
            for row in np.flatnonzero(missing & ~bad):
                reasons[int(row)] = (ReasonCode.MISSING_SPLIT_KEY, self._split_key,
                                     f"the split key column {self._split_key!r} is missing")
            bad |= missing
        record_batch = pa.RecordBatch.from_arrays(arrays, schema=self.arrow_schema)
        rows = np.flatnonzero(~bad)
        if len(rows) < n:
            record_batch = record_batch.take(pa.array(rows))
        bad_rows = list(raw.bad_rows)
        for row in sorted(reasons):
            code, column, reason = reasons[row]
            bad_rows.append(BadRow(source_file=raw.source_file,
                                   line_number=int(raw.line_numbers[row]), reason_code=code,
                                   reason=reason, raw=raw.raw_text(row), column=column))
        return DecodedBatch(record_batch=record_batch, rows=rows, bad_rows=bad_rows)
