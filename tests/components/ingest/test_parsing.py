"""Typing raw columns: CSV text and a file's own Arrow types."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from components.artifacts import FeatureType
from components.ingest.parsing import ObservedType, coerce, native_type, observe


def _values(coerced):
    return [None if v is None else v for v in coerced.values.to_pylist()]


@pytest.mark.parametrize("cells, expected, invalid", [
    (["1", " 2 ", "+3", "-0", ""], [[1], [2], [3], [0], None], []),
    (["1.5", "0x10", "1e3", "9223372036854775808", "١"], [None] * 5, [0, 1, 2, 3, 4]),
    (["9223372036854775807", "-9223372036854775808"],
     [[9223372036854775807], [-9223372036854775808]], []),
])
def test_int_from_text(cells, expected, invalid):
    coerced = coerce(pa.array(cells), FeatureType.INT, missing_values=("",))
    assert _values(coerced) == expected
    assert np.flatnonzero(coerced.invalid).tolist() == invalid
    assert coerced.bad_values == {i: cells[i] for i in invalid}


def test_float_from_text():
    cells = ["1.5", ".5", "1e3", "-2E-2", "nan", "Inf", "-infinity", "5", "1_000", "abc", "NA"]
    coerced = coerce(pa.array(cells), FeatureType.FLOAT, missing_values=("", "NA"))
    values = _values(coerced)
    assert values[:4] == [[1.5], [0.5], [1000.0], [pytest.approx(-0.02)]]
    assert math.isnan(values[4][0]) and values[5] == [math.inf] and values[6] == [-math.inf]
    assert values[7] == [5.0]
    assert np.flatnonzero(coerced.invalid).tolist() == [8, 9]
    assert values[10] is None and not coerced.invalid[10]  # "NA" is missing, not invalid
    assert coerced.values.type == pa.large_list(pa.float32())


def test_float32_overflow_is_invalid():
    coerced = coerce(pa.array(["1e39", "3e38"]), FeatureType.FLOAT)
    assert coerced.invalid.tolist() == [True, False]


def test_bytes_keep_the_text():
    coerced = coerce(pa.array([" a ", "", None, "ü"]), FeatureType.BYTES, missing_values=("",))
    assert _values(coerced) == [[b" a "], None, None, ["ü".encode()]]
    assert not coerced.invalid.any()


@pytest.mark.parametrize("array, target, expected, invalid", [
    (pa.array([1, None, 3], pa.int32()), FeatureType.FLOAT, [[1.0], None, [3.0]], []),
    (pa.array([1.0, 2.5, None]), FeatureType.INT, [[1], None, None], [1]),
    (pa.array([1.5, None]), FeatureType.BYTES, [[b"1.5"], None], []),
    (pa.array([True, False]), FeatureType.INT, [[1], [0]], []),
    (pa.array(["7", "x"], pa.large_string()), FeatureType.INT, [[7], None], [1]),
    (pa.array([b"a", None], pa.binary()), FeatureType.BYTES, [[b"a"], None], []),
    (pa.array([2**63], pa.uint64()), FeatureType.INT, [None], [0]),
    (pa.nulls(2), FeatureType.INT, [None, None], []),
])
def test_native_types(array, target, expected, invalid):
    coerced = coerce(array, target)
    assert _values(coerced) == expected
    assert np.flatnonzero(coerced.invalid).tolist() == invalid


def test_lists_keep_their_lengths_and_invalid_rows():
    array = pa.array([[1.0, 2.0], [], None, [3.5], [4.0, None]])
    coerced = coerce(array, FeatureType.INT)
    assert coerced.invalid.tolist() == [False, False, False, True, True]
    assert coerced.values.to_pylist()[:3] == [[1, 2], [], None]
    assert coerced.bad_values == {3: 3.5, 4: None}


def test_lists_of_a_slice():
    array = pa.array([[1], [2, 3], [4]]).slice(1)
    assert coerce(array, FeatureType.FLOAT).values.to_pylist() == [[2.0, 3.0], [4.0]]


@pytest.mark.parametrize("cells, expected", [
    (["1", "", "-2"], ObservedType.INT),
    (["1", "2.5"], ObservedType.FLOAT),
    (["1", "nan"], ObservedType.FLOAT),
    (["1", "x"], ObservedType.BYTES),
    (["", ""], ObservedType.UNKNOWN),
    (["99999999999999999999"], ObservedType.BYTES),  # an identifier, not a number
])
def test_observe_text(cells, expected):
    assert observe(pa.array(cells), missing_values=("",)).infer(1.0) is expected


def test_observe_native_and_lattice():
    assert observe(pa.array([[1.5]])).infer(0.99) is ObservedType.FLOAT
    assert observe(pa.array([[]], pa.list_(pa.int64()))).infer(0.99) is ObservedType.UNKNOWN
    assert native_type(pa.list_(pa.list_(pa.int64()))) is None
    assert native_type(pa.struct([("a", pa.int64())])) is None
    assert native_type(pa.timestamp("s")) is ObservedType.INT
    assert max(ObservedType.INT, ObservedType.FLOAT) is ObservedType.FLOAT
    assert ObservedType.UNKNOWN.feature_type() is FeatureType.BYTES
    with pytest.raises(TypeError, match="no tf.Example form"):
        observe(pa.array([{"a": 1}]))


_MARKERS = ("", "NA", "N/A", "NaN", "null", "None", "#N/A")


@pytest.mark.parametrize("cells, fraction, expected", [
    # Missing-value markers are missing, not text: the column stays numeric.
    (["1", "NA", "N/A", "NaN", "null", "None", "#N/A", "", " NA ", "   "], 1.0,
     ObservedType.INT),
    (["1.5", "NA", "2"], 1.0, ObservedType.FLOAT),
    # One bad cell in 100 numbers: numeric at 0.99 (the cell is quarantined), text at 1.0.
    (["1.5"] * 99 + ["12.3.4"], 0.99, ObservedType.FLOAT),
    (["1.5"] * 99 + ["12.3.4"], 1.0, ObservedType.BYTES),
    (["7"] * 99 + ["x"], 0.99, ObservedType.INT),
    # Two in 100 is more than 1%: text.
    (["1.5"] * 98 + ["a", "b"], 0.99, ObservedType.BYTES),
    # Integers beyond int64 among integers are identifiers, tolerance or not.
    (["1"] * 99 + ["99999999999999999999"], 0.99, ObservedType.BYTES),
    (["NA", "None"], 0.99, ObservedType.UNKNOWN),
])
def test_inference_with_missing_markers_and_tolerance(cells, fraction, expected):
    observed = observe(pa.array(cells), missing_values=_MARKERS)
    assert observed.infer(fraction) is expected


def test_observations_add_up_across_batches():
    first = observe(pa.array(["1"] * 60 + ["NA"]), missing_values=_MARKERS)
    second = observe(pa.array(["2.5"] * 39 + ["oops"]), missing_values=_MARKERS)
    merged = first.merge(second)
    assert (merged.present, merged.integers, merged.numbers) == (100, 60, 99)
    assert merged.infer(0.99) is ObservedType.FLOAT
    assert second.infer(0.99) is ObservedType.BYTES  # 39 of 40 alone is under 99%
    assert type(merged).from_json(merged.to_json()) == merged


def test_padded_markers_are_missing_in_numbers_but_kept_in_text():
    cells = pa.array(["1", " NA ", "  ", "x"])
    coerced = coerce(cells, FeatureType.FLOAT, missing_values=_MARKERS)
    assert _values(coerced) == [[1.0], None, None, None]
    assert coerced.invalid.tolist() == [False, False, False, True]
    assert coerced.bad_values == {3: "x"}
    text = coerce(cells, FeatureType.BYTES, missing_values=_MARKERS)
    assert _values(text) == [[b"1"], [b" NA "], [b"  "], [b"x"]]
