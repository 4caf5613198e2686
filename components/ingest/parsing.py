"""Typing columns: raw Arrow arrays (CSV text or a file's own types) to tf.Example-ready lists.

Every column of an ingested batch ends up as a `large_list` of int64 (INT), float32 (FLOAT)
or large_binary (BYTES), one list per row, null where the value is missing: the layout
tfx_bsl's RecordBatch-to-tf.Example encoder takes. The work is vectorized over the whole
batch; Python only touches the rows that fail.

CSV cells are text. A number is parsed after trimming whitespace: INT is `[+-]digits` within
int64, FLOAT is a decimal or scientific number, `nan` or `inf`. Cells listed as missing
values become missing (in a numeric column after trimming whitespace, in a BYTES column as
written). Anything else is an invalid value, and the row is quarantined.

Type inference (`observe`, then `TypeObservation.infer`) follows the same rules: it counts
a column's present cells, integers and numbers, and calls the column numeric when nearly
all present cells are numbers; `coerce` then quarantines the few that are not.

Example:
    >>> result = coerce(pa.array(["1", "NA", "x"]), FeatureType.INT, missing_values=("NA",))
    >>> result.values.to_pylist(), result.invalid.tolist()
    ([[1], None, None], [False, False, True])
    >>> observe(pa.array(["1", "NA", "2.5"]), missing_values=("NA",)).infer(0.99)
    <ObservedType.FLOAT: 2>
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from components.artifacts import FeatureType

__all__ = ["ARROW_TYPES", "Coerced", "ObservedType", "TypeObservation", "coerce",
           "native_type", "observe"]

ARROW_TYPES = {FeatureType.INT: pa.int64(), FeatureType.FLOAT: pa.float32(),
               FeatureType.BYTES: pa.large_binary()}
LIST_TYPES = {t: pa.large_list(v) for t, v in ARROW_TYPES.items()}

_INT_PATTERN = r"^[+-]?[0-9]+$"
_FLOAT_PATTERN = (r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
                  r"|^[+-]?(?:[nN][aA][nN]|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)$")
_INF_PATTERN = r"^[+-]?[iI][nN][fF](?:[iI][nN][iI][tT][yY])?$"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class ObservedType(enum.IntEnum):
    """What a column's values look like, ordered so that the wider type wins a merge."""

    UNKNOWN = 0  # no values seen (every cell missing)
    INT = 1
    FLOAT = 2
    BYTES = 3

    def feature_type(self) -> FeatureType:
        """The tf.Example type for this observation (an all-missing column is BYTES)."""
        return FeatureType.BYTES if self is ObservedType.UNKNOWN else FeatureType(self.name)

    @classmethod
    def of(cls, feature_type: FeatureType) -> ObservedType:
        return cls[str(feature_type)]


def native_type(arrow_type: pa.DataType) -> ObservedType | None:
    """The type a file's own Arrow type holds (lists: their values), None if unsupported."""
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) \
            or pa.types.is_fixed_size_list(arrow_type):
        value_type = arrow_type.value_type
        if pa.types.is_list(value_type) or pa.types.is_large_list(value_type):
            return None  # nested lists have no tf.Example form
        return native_type(value_type)
    if pa.types.is_null(arrow_type):
        return ObservedType.UNKNOWN
    if (pa.types.is_integer(arrow_type) or pa.types.is_boolean(arrow_type)
            or pa.types.is_temporal(arrow_type)):
        return ObservedType.INT
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return ObservedType.FLOAT
    if (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
            or pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type)
            or pa.types.is_string_view(arrow_type) or pa.types.is_binary_view(arrow_type)
            or pa.types.is_fixed_size_binary(arrow_type)):
        return ObservedType.BYTES
    if pa.types.is_dictionary(arrow_type):
        return native_type(arrow_type.value_type)
    return None


def _is_text(array: pa.Array) -> bool:
    return pa.types.is_string(array.type) or pa.types.is_large_string(array.type)


def _null_missing(text: pa.Array, missing_values: Sequence[str]) -> pa.Array:
    """Cells equal to a missing value, as written, become null."""
    if not missing_values or len(text) == 0:
        return text
    if len(missing_values) == 1:  # ("",): a comparison beats a hash lookup
        mask = pc.equal(text, pa.scalar(missing_values[0], type=text.type))
    else:
        mask = pc.is_in(text, value_set=pa.array(list(missing_values), type=text.type))
    if not pc.any(mask).as_py():
        return text
    return pc.if_else(mask, pa.scalar(None, type=text.type), text)


def _padded_missing(text: pa.Array, rows: np.ndarray,
                    missing_values: Sequence[str]) -> np.ndarray:
    """Which of `rows` (cells that are not numbers) hold a missing value padded with spaces."""
    if not missing_values or not len(rows):
        return np.zeros(len(rows), dtype=bool)
    trimmed = pc.utf8_trim_whitespace(text.take(pa.array(rows)))
    found = pc.is_in(trimmed, value_set=pa.array(list(missing_values), type=text.type))
    return found.fill_null(False).to_numpy(zero_copy_only=False)


@dataclasses.dataclass(frozen=True)
class TypeObservation:
    """What a column's cells look like, counted; observations of batches add up.

    Attributes:
        present: text cells that are not missing.
        integers: present cells that are integers within int64.
        big_integers: present cells that are integers beyond int64 (identifiers).
        numbers: present cells that are numbers (integers of any size included).
        native: the type a file's own (non-text) Arrow type holds, if any was seen.
    """

    present: int = 0
    integers: int = 0
    big_integers: int = 0
    numbers: int = 0
    native: ObservedType | None = None

    def merge(self, other: TypeObservation) -> TypeObservation:
        """The observation of both batches together."""
        natives = [n for n in (self.native, other.native) if n is not None]
        return TypeObservation(
            present=self.present + other.present, integers=self.integers + other.integers,
            big_integers=self.big_integers + other.big_integers,
            numbers=self.numbers + other.numbers, native=max(natives) if natives else None)

    def infer(self, min_numeric_fraction: float) -> ObservedType:
        """The column's type: numeric when at least `min_numeric_fraction` of it is numbers.

        INT when every number is an integer within int64, else FLOAT; BYTES when too few
        cells are numbers, or when the numbers are integers some of which exceed int64
        (identifiers: kept whole as text).
        """
        text = ObservedType.UNKNOWN
        if self.present:
            numeric = self.numbers >= self.present * min_numeric_fraction - 1e-9
            if not numeric or (self.big_integers
                               and self.integers + self.big_integers == self.numbers):
                text = ObservedType.BYTES
            else:
                text = ObservedType.INT if self.integers == self.numbers else ObservedType.FLOAT
        return max(text, self.native) if self.native is not None else text

    def to_json(self) -> dict[str, int | None]:
        return {"present": self.present, "integers": self.integers,
                "big_integers": self.big_integers, "numbers": self.numbers,
                "native": None if self.native is None else int(self.native)}

    @classmethod
    def from_json(cls, value: dict[str, int | None]) -> TypeObservation:
        native = value.get("native")
        return cls(present=value["present"], integers=value["integers"],
                   big_integers=value["big_integers"], numbers=value["numbers"],
                   native=None if native is None else ObservedType(native))


def _count(mask: pa.Array) -> int:
    return int(pc.sum(pc.cast(mask.fill_null(False), pa.int64())).as_py() or 0)


def observe(array: pa.Array, *, missing_values: Sequence[str] = ()) -> TypeObservation:
    """Counts what the values of a raw column look like, for type inference.

    Text (CSV cells): present cells, integers, numbers, by the rules `coerce` applies
    (missing values match after trimming whitespace, as in numeric columns). Other Arrow
    types: the type they hold (`native_type`).

    Raises:
        TypeError: for an Arrow type tf.Example cannot hold (structs, maps, nested lists).
    """
    if not _is_text(array):
        observed = native_type(array.type)
        if observed is None:
            raise TypeError(f"Arrow type {array.type} has no tf.Example form.")
        if observed is not ObservedType.UNKNOWN and _count_values(array) == 0:
            observed = ObservedType.UNKNOWN
        return TypeObservation(native=observed)
    text = _null_missing(pc.utf8_trim_whitespace(array), missing_values)
    present = len(text) - text.null_count
    if not present:
        return TypeObservation()
    int_like = pc.match_substring_regex(text, _INT_PATTERN)
    numbers = _count(pc.match_substring_regex(text, _FLOAT_PATTERN))
    integers = _count(int_like)
    big = 0
    # Only an integer of 19 or more digits can exceed int64.
    long = pc.and_(int_like, pc.greater_equal(pc.utf8_length(text), 19)).fill_null(False)
    for cell in text.filter(long).to_pylist():
        if not _INT64_MIN <= int(cell) <= _INT64_MAX:
            big += 1
    return TypeObservation(present=present, integers=integers - big, big_integers=big,
                           numbers=numbers)


def _count_values(array: pa.Array) -> int:
    if pa.types.is_list(array.type) or pa.types.is_large_list(array.type) \
            or pa.types.is_fixed_size_list(array.type):
        return len(pc.list_flatten(array))
    return len(array) - array.null_count


@dataclasses.dataclass(frozen=True)
class Coerced:
    """A column typed for tf.Example, and which rows held values that are not of its type.

    Attributes:
        values: a large_list array, one list per row, null where missing (and where invalid).
        invalid: a boolean numpy array, True for rows with a value not of the type.
        bad_values: {row: the first offending value} for the invalid rows.
    """

    values: pa.LargeListArray
    invalid: np.ndarray
    bad_values: dict[int, Any]


def _fast_cast(text: pa.Array, target: FeatureType) -> pa.Array | None:
    """The usual case in one kernel: Arrow's parser, where it accepts exactly our syntax.

    Arrow's float parser accepts what the FLOAT pattern does (it overflows to inf, which
    `_refuse_overflow` catches); its integer parser also takes hex (`0x10`), so a column
    with an "x" takes the exact path. Anything Arrow refuses takes the exact path too.
    """
    try:
        typed = pc.cast(text, ARROW_TYPES[target])
    except (pa.ArrowInvalid, OverflowError):
        return None
    if target is FeatureType.INT and pc.any(
            pc.match_substring(text, "x", ignore_case=True)).as_py():
        return None
    return typed


def _parse_text(text: pa.Array, target: FeatureType) -> tuple[pa.Array, np.ndarray]:
    """Text (missing already null) to the target type; returns (typed, invalid mask)."""
    n = len(text)
    if target is FeatureType.BYTES:
        return pc.cast(text, pa.large_binary()), np.zeros(n, dtype=bool)
    typed = _fast_cast(text, target)
    if typed is not None:
        invalid = np.zeros(n, dtype=bool)
        if target is FeatureType.FLOAT:
            typed, invalid = _refuse_overflow(typed, text, invalid)
        return typed, invalid
    trimmed = pc.utf8_trim_whitespace(text)
    pattern = _INT_PATTERN if target is FeatureType.INT else _FLOAT_PATTERN
    matches = pc.match_substring_regex(trimmed, pattern)
    invalid = pc.invert(matches).fill_null(False).to_numpy(zero_copy_only=False)
    if invalid.any():
        trimmed = pc.if_else(pa.array(invalid), pa.scalar(None, type=trimmed.type), trimmed)
    if target is FeatureType.INT:
        trimmed = pc.replace_substring_regex(trimmed, r"^\+", "")
    try:
        typed = pc.cast(trimmed, ARROW_TYPES[target])
    except (pa.ArrowInvalid, OverflowError):
        return _parse_text_slowly(trimmed, target, invalid)
    if target is FeatureType.FLOAT:
        typed, invalid = _refuse_overflow(typed, trimmed, invalid)
    return typed, invalid


def _refuse_overflow(typed: pa.Array, source: pa.Array,
                     invalid: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Finite numbers beyond float32's range became inf in the cast: they are invalid.

    Args:
        typed: the float32 result.
        source: what it was cast from: text, or float64 values.
        invalid: the invalid mask so far.
    """
    infinite = pc.is_inf(typed)
    if not pc.any(infinite).as_py():
        return typed, invalid
    if _is_text(source):
        was_infinite = pc.match_substring_regex(pc.utf8_trim_whitespace(source), _INF_PATTERN)
    else:
        was_infinite = pc.is_inf(source)
    overflow = pc.and_(infinite, pc.invert(was_infinite.fill_null(False))).fill_null(False)
    if not pc.any(overflow).as_py():
        return typed, invalid
    return (pc.if_else(overflow, pa.scalar(None, type=typed.type), typed),
            invalid | overflow.to_numpy(zero_copy_only=False))


def _parse_text_slowly(text: pa.Array, target: FeatureType,
                       invalid: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    # Only when the vectorized cast refused a value the pattern accepted: out of range.
    invalid = invalid.copy()
    values: list[Any] = []
    for i, cell in enumerate(text.to_pylist()):
        value = None
        if cell is not None:
            try:
                value = int(cell) if target is FeatureType.INT else float(cell)
            except ValueError:
                value = None
            if target is FeatureType.INT and value is not None \
                    and not _INT64_MIN <= value <= _INT64_MAX:
                value = None
            if target is FeatureType.FLOAT and value is not None and math.isfinite(value) \
                    and abs(value) > np.finfo(np.float32).max:
                value = None
            if value is None:
                invalid[i] = True
        values.append(value)
    return pa.array(values, type=ARROW_TYPES[target]), invalid


def _coerce_values(values: pa.Array, target: FeatureType) -> tuple[pa.Array, np.ndarray]:
    """Flat values of a file's own type to the target type: (typed, invalid mask)."""
    n = len(values)
    none_invalid = np.zeros(n, dtype=bool)
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    observed = native_type(values.type)
    if observed is ObservedType.UNKNOWN:
        return pa.nulls(n, type=ARROW_TYPES[target]), none_invalid
    if observed is ObservedType.BYTES:
        if target is FeatureType.BYTES:
            return pc.cast(values, pa.large_binary()), none_invalid
        if not _is_text(values):
            try:
                values = pc.cast(values, pa.large_string())
            except pa.ArrowInvalid:  # not UTF-8: cannot be a number
                values = pa.array([v.decode("utf-8", "replace") if v is not None else None
                                   for v in values.to_pylist()], type=pa.large_string())
        return _parse_text(values, target)
    if target is FeatureType.BYTES:
        return pc.cast(pc.cast(values, pa.large_string()), pa.large_binary()), none_invalid
    if observed is ObservedType.INT:
        if pa.types.is_temporal(values.type):
            values = values.view(pa.int64()) if values.type.bit_width == 64 \
                else pc.cast(values, pa.int32()).cast(pa.int64())
        if target is FeatureType.FLOAT:
            return pc.cast(values, pa.float32(), safe=False), none_invalid
        try:
            return pc.cast(values, pa.int64()), none_invalid
        except pa.ArrowInvalid:  # uint64 beyond int64
            big = pc.greater(values, pa.scalar(_INT64_MAX, type=values.type))
            invalid = big.fill_null(False).to_numpy(zero_copy_only=False)
            kept = pc.if_else(big, pa.scalar(None, type=values.type), values)
            return pc.cast(kept, pa.int64()), invalid
    # A floating-point (or decimal) source.
    floats = pc.cast(values, pa.float64(), safe=False)
    if target is FeatureType.FLOAT:
        return _refuse_overflow(pc.cast(floats, pa.float32(), safe=False), floats,
                                none_invalid)
    as_numpy = floats.to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        integral = np.isfinite(as_numpy) & (np.floor(as_numpy) == as_numpy) \
            & (as_numpy >= _INT64_MIN) & (as_numpy < 2.0**63)
    invalid = ~integral & floats.is_valid().to_numpy(zero_copy_only=False)
    kept = np.where(integral, as_numpy, 0).astype(np.int64)
    return pa.array(kept, type=pa.int64(), mask=~integral), invalid


def _as_list(typed: pa.Array) -> pa.LargeListArray:
    """A flat array with nulls to a large_list array: one value per row, null stays null."""
    valid = typed.is_valid().to_numpy(zero_copy_only=False)
    offsets = np.zeros(len(typed) + 1, dtype=np.int64)
    np.cumsum(valid, out=offsets[1:])
    mask = pa.array(~valid) if not valid.all() else None
    return pa.LargeListArray.from_arrays(pa.array(offsets), typed.drop_null(), mask=mask)


def coerce(array: pa.Array, target: FeatureType, *,
           missing_values: Sequence[str] = ()) -> Coerced:
    """Types a raw column for tf.Example.

    Args:
        array: the raw column: text (CSV), any supported Arrow type, or a list of one.
        target: the column's type.
        missing_values: text cells that mean missing (used for text only; in a numeric
            column also when padded with whitespace). Default: ().

    Returns:
        The typed column and its invalid rows.
    """
    if pa.types.is_list(array.type) or pa.types.is_large_list(array.type) \
            or pa.types.is_fixed_size_list(array.type):
        return _coerce_lists(array, target)
    if _is_text(array):
        array = _null_missing(array, missing_values)
        typed, invalid = _parse_text(array, target)
        if target is not FeatureType.BYTES and invalid.any():
            rows = np.flatnonzero(invalid)
            invalid = invalid.copy()
            invalid[rows[_padded_missing(array, rows, missing_values)]] = False
    else:
        typed, invalid = _coerce_values(array, target)
    bad_values = {}
    if invalid.any():
        typed = pc.if_else(pa.array(invalid), pa.scalar(None, type=typed.type), typed)
        bad_values = {int(i): array[int(i)].as_py() for i in np.flatnonzero(invalid)}
    return Coerced(values=_as_list(typed), invalid=invalid, bad_values=bad_values)


def _coerce_lists(array: pa.Array, target: FeatureType) -> Coerced:
    n = len(array)
    values = pc.list_flatten(array)
    lengths = pc.list_value_length(array).fill_null(0).to_numpy(zero_copy_only=False)
    typed, invalid_values = _coerce_values(values, target)
    # A null inside a list has no tf.Example form either.
    invalid_values = invalid_values | ~values.is_valid().to_numpy(zero_copy_only=False)
    invalid = np.zeros(n, dtype=bool)
    bad_values: dict[int, Any] = {}
    if invalid_values.any():
        parents = pc.list_parent_indices(array).to_numpy(zero_copy_only=False)
        for j in np.flatnonzero(invalid_values):
            row = int(parents[j])
            invalid[row] = True
            bad_values.setdefault(row, values[int(j)].as_py())
        typed = pc.if_else(pa.array(invalid_values), pa.scalar(0, type=typed.type)
                           if target is not FeatureType.BYTES
                           else pa.scalar(b"", type=typed.type), typed)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    is_null = array.is_null()
    mask = pc.or_(is_null, pa.array(invalid)) if invalid.any() else (
        is_null if array.null_count else None)
    result = pa.LargeListArray.from_arrays(pa.array(offsets), typed, mask=mask)
    return Coerced(values=result, invalid=invalid, bad_values=bad_values)
