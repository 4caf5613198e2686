"""The TFRecord and Parquet sources end to end, and the CSV source's reading details."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components import artifacts
from components.artifacts import FeatureType
from components.common.tfrecord import CorruptRecordError, encode_record
from components.ingest import InputFormat, ReasonCode, run
from components.ingest.sources import CsvSource, ParquetSource, TFRecordSource
from tests.components.ingest.conftest import (
    GOLDEN_SCHEMA,
    TAXI_CSV,
    make_config,
    read_quarantine,
    read_records,
)


def _ingested_train(taxi_run):
    config, outcome = taxi_run
    return config.examples_uri, outcome


def test_tfrecord_of_ingested_examples_round_trips(taxi_run, tmp_path):
    examples_uri, first = _ingested_train(taxi_run)
    source_files = artifacts.examples_files(examples_uri, "eval")
    config = make_config(tmp_path, source_files[0], input_format="tfrecord")
    outcome = run(config)
    assert outcome.result.rows_read == first.result.splits["eval"]
    assert outcome.result.bad_rows == 0
    # Features come in sorted order (tf.Examples name them; there is no header) and keep
    # their types, except pickup_census_tract: its one value is in the train split, and an
    # empty feature carries no type, so without a schema it reads as BYTES.
    columns = dict(outcome.result.columns)
    assert list(columns) == sorted(first.result.columns)
    assert columns.pop("pickup_census_tract") is FeatureType.BYTES
    assert columns == {k: v for k, v in first.result.columns.items()
                       if k != "pickup_census_tract"}
    before = artifacts.read_statistics(taxi_run[0].statistics_uri)["eval"]["features"]
    after = artifacts.read_statistics(config.statistics_uri)
    combined_missing = sum(s["features"]["company"]["num_missing"] for s in after.values())
    assert combined_missing == before["company"]["num_missing"]


def test_tfrecord_uses_the_schema_order_and_quarantines_malformed_records(taxi_run, tmp_path):
    examples_uri, _ = _ingested_train(taxi_run)
    records = read_records(examples_uri, "eval")[:40]
    records.insert(5, b"\xff\xfe not a tf.Example")
    path = tmp_path / "input.tfrecord"  # uncompressed this time
    path.write_bytes(b"".join(encode_record(r) for r in records))
    config = make_config(tmp_path / "out", path, input_format="tfrecord",
                         input_schema_uri=str(GOLDEN_SCHEMA), max_bad_row_fraction=0.1)
    outcome = run(config)
    assert list(outcome.result.columns) == [f.name for f in
                                            artifacts.read_schema(str(GOLDEN_SCHEMA)).feature]
    assert sum(outcome.result.splits.values()) == 40
    [bad] = read_quarantine(config.examples_uri)
    assert bad["line_number"] == 6 and bad["reason_code"] == "malformed_record"
    assert bad["raw"] == "//4gbm90IGEgdGYuRXhhbXBsZQ=="  # base64 of the record


def test_truncated_tfrecord_is_an_error_not_bad_rows(tmp_path):
    path = tmp_path / "cut.tfrecord.gz"
    with gzip.open(path, "wb") as f:
        f.write(encode_record(b"x" * 100)[:50])
    with pytest.raises(CorruptRecordError, match=r"record 1 is truncated"):
        list(TFRecordSource().read(str(path), 10))


@pytest.fixture(scope="module")
def taxi_parquet(tmp_path_factory, taxi_frame):
    path = tmp_path_factory.mktemp("parquet") / "taxi.parquet"
    taxi_frame.iloc[:2000].to_parquet(path, index=False)
    return path


def test_parquet_types_come_from_the_file(taxi_parquet, tmp_path):
    outcome = run(make_config(tmp_path, taxi_parquet, input_format="parquet"))
    columns = outcome.result.columns
    # pandas wrote integer columns with missing values as float64: Parquet says FLOAT.
    assert columns["pickup_community_area"] is FeatureType.FLOAT
    assert columns["trip_start_hour"] is FeatureType.INT
    assert columns["company"] is FeatureType.BYTES
    assert sum(outcome.result.splits.values()) == 2000
    assert outcome.anomalies == ()


def test_parquet_against_the_taxi_schema(taxi_parquet, tmp_path, taxi_frame):
    frame = taxi_frame.iloc[:100].copy()
    frame.loc[3, "dropoff_community_area"] = 8.5  # not an integer: the schema says INT
    path = tmp_path / "odd.parquet"
    frame.to_parquet(path, index=False)
    config = make_config(tmp_path / "out", path, input_format="parquet",
                         input_schema_uri=str(GOLDEN_SCHEMA), max_bad_row_fraction=0.05)
    outcome = run(config)
    assert outcome.result.columns["pickup_community_area"] is FeatureType.INT  # 8.0 -> 8
    [bad] = read_quarantine(config.examples_uri)
    assert bad["line_number"] == 4 and bad["column"] == "dropoff_community_area"
    assert json.loads(bad["raw"])["dropoff_community_area"] == 8.5
    kinds = {(str(a.kind), a.feature) for a in outcome.anomalies}
    assert ("type_change", "dropoff_community_area") in kinds


def test_parquet_lists_and_a_stable_split(tmp_path):
    table = pa.table({"id": pa.array(range(50)),
                      "tags": pa.array([[f"t{i % 3}", "x"] for i in range(50)]),
                      "score": pa.array(np.linspace(0, 1, 50))})
    pq.write_table(table, tmp_path / "lists.parquet")
    config = make_config(tmp_path / "a", tmp_path / "lists.parquet", input_format="parquet",
                         label_column="score")
    first = run(config)
    second = run(config.replace(examples_uri=str(tmp_path / "b" / "examples")))
    assert first.result.splits == second.result.splits  # whole-row hashing is deterministic
    stats = artifacts.read_statistics(config.statistics_uri)
    tags = [s["features"]["tags"] for s in stats.values()]
    assert {t["min_num_values"] for t in tags} == {t["max_num_values"] for t in tags} == {2}


def test_parquet_plan_refuses_nested_types(tmp_path):
    table = pa.table({"s": pa.array([{"a": 1}])})
    pq.write_table(table, tmp_path / "nested.parquet")
    with pytest.raises(TypeError, match=r"Column 's' .* has no tf.Example form"):
        ParquetSource().plan([str(tmp_path / "nested.parquet")])


def test_csv_source_line_numbers_and_raw_text(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('a,b\n1,"x\ny"\n\n2,z\n3\n4,"q,r"\n')
    [batch] = list(CsvSource().read(str(path), 100))
    assert batch.line_numbers.tolist() == [2, 5, 7]
    assert batch.raw == ['1,"x\ny"', "2,z", '4,"q,r"']
    assert batch.columns["b"].to_pylist() == ["x\ny", "z", "q,r"]
    [bad] = batch.bad_rows
    assert (bad.line_number, bad.reason_code, bad.raw) == (6, ReasonCode.FIELD_COUNT, "3")


def test_csv_fast_path_without_quotes(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"a,b\n1,x\n\n2\n3,y,z\r\n\r\n4,w \n")
    [batch] = list(CsvSource().read(str(path), 100))
    assert batch.line_numbers.tolist() == [2, 7]
    assert batch.raw == ["1,x", "4,w "]
    assert batch.columns["b"].to_pylist() == ["x", "w "]
    assert [(b.line_number, b.raw, b.reason) for b in batch.bad_rows] == [
        (4, "2", "expected 2 fields, got 1"), (5, "3,y,z", "expected 2 fields, got 3")]


@pytest.mark.parametrize("batch_size", [1, 2, 3, 100])
def test_quoted_field_across_chunks(tmp_path, batch_size):
    path = tmp_path / "a.csv"
    path.write_text('a,b\n1,x\n2,"multi\nline\nvalue"\n3,y\n4\n5,z\n')
    batches = list(CsvSource().read(str(path), batch_size))
    numbers = [n for b in batches for n in b.line_numbers.tolist()]
    values = [v for b in batches for v in b.columns["b"].to_pylist()]
    assert numbers == [2, 3, 6, 8]
    assert values == ["x", "multi\nline\nvalue", "y", "z"]
    assert [r.line_number for b in batches for r in b.bad_rows] == [7]


def test_csv_source_batches_and_gzip(tmp_path):
    path = tmp_path / "a.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("a;b\n" + "".join(f"{i};'{i},{i}'\r\n" for i in range(10)))
    source = CsvSource(delimiter=";", quotechar="'")
    assert source.plan([str(path)]).columns == ("a", "b")
    batches = list(source.read(str(path), 4))
    assert [b.num_rows for b in batches] == [4, 4, 2]
    assert batches[2].line_numbers.tolist() == [10, 11]
    assert batches[2].columns["b"].to_pylist() == ["8,8", "9,9"]


def test_csv_without_header(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("1,x\n2,y\n")
    source = CsvSource(column_names=("n", "s"))
    [batch] = list(source.read(str(path), 10))
    assert batch.line_numbers.tolist() == [1, 2]
    outcome = run(make_config(tmp_path / "out", path, column_names=("n", "s"),
                              label_column=None, column_types={"s": "BYTES"}))
    assert dict(outcome.result.columns) == {"n": FeatureType.INT, "s": FeatureType.BYTES}


def test_input_format_enum():
    assert InputFormat("parquet") is InputFormat.PARQUET
    assert pd.api.types.is_string_dtype(pd.Series([str(InputFormat.CSV)]))
    assert TAXI_CSV.exists()


def _read_all(source, path, batch_size=100):
    batches = list(source.read(str(path), batch_size))
    good = [(n, raw) for b in batches for n, raw in zip(b.line_numbers.tolist(), b.raw,
                                                         strict=True)]
    bad = [(r.line_number, r.reason_code) for b in batches for r in b.bad_rows]
    return batches, good, bad


# Past a limit the quote is stray: its line is quarantined, and the lines it took are read
# on their own ("two", "three" and 'four"' have one field each).
_SPLIT_UP = [(3, ReasonCode.UNTERMINATED_QUOTE), (4, ReasonCode.FIELD_COUNT),
             (5, ReasonCode.FIELD_COUNT), (6, ReasonCode.FIELD_COUNT)]


@pytest.mark.parametrize("limits, expected_bad", [
    ({"max_record_lines": 4}, []),  # the 4-line field fits
    ({"max_record_lines": 3}, _SPLIT_UP),
    ({"max_record_bytes": 10}, _SPLIT_UP),
])
def test_csv_record_limits(tmp_path, limits, expected_bad):
    path = tmp_path / "a.csv"
    path.write_text('a,b\n1,x\n2,"one\ntwo\nthree\nfour"\n3,y\n')
    batches, good, bad = _read_all(CsvSource(**limits), path)
    assert bad == expected_bad
    assert [n for n, _ in good] == ([2, 3, 7] if not expected_bad else [2, 7])
    assert sum(b.physical_lines for b in batches) == 6


def test_csv_quote_closed_lines_later_by_a_stray_one(tmp_path):
    # The second quote closes the first, but the record is then 2 lines with 3 fields: both
    # quotes are stray, and each line is read on its own.
    path = tmp_path / "a.csv"
    path.write_text('a,b\n1,"Blue\n2,"Flash" Cab\n3,x\n')
    _, good, bad = _read_all(CsvSource(), path)
    assert bad == [(2, ReasonCode.UNTERMINATED_QUOTE)]
    assert good == [(3, '2,"Flash" Cab'), (4, "3,x")]


def test_csv_bom_without_header(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"\xef\xbb\xbf1,x\n2,y\n")
    [batch] = list(CsvSource(column_names=("n", "s")).read(str(path), 10))
    assert batch.columns["n"].to_pylist() == ["1", "2"]


@pytest.mark.parametrize("data, match", [
    ("a,b\n1,2\n".encode("utf-16"), r"UTF-16 byte order mark: save the file as UTF-8"),
    (b"a,b\xff\n1,2\n", r"not UTF-8: byte 0xff at byte offset 3"),
    (b'a,"b\n1,2\n', r"opens a quoted field that is not closed"),
])
def test_csv_header_that_cannot_be_read(tmp_path, data, match):
    path = tmp_path / "a.csv"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=match):
        CsvSource().plan([str(path)])
