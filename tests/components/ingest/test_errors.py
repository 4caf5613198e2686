"""Clear errors: empty input, inputs that do not fit the config, and steps that write nothing."""

from __future__ import annotations

import os

import apache_beam as beam
import pytest

from components.common import shards
from components.ingest import (
    CountMismatchError,
    EmptyInputError,
    executor,
    pipeline,
    run,
    statistics,
)
from tests.components.ingest.conftest import GOLDEN_SCHEMA, TAXI_CSV, TESTDATA, make_config

TESTDATA_BAD_ROWS = TESTDATA / "bad_rows.csv"
HEADER = TAXI_CSV.read_text().splitlines()[0]


@pytest.fixture
def small_csv(tmp_path):
    path = tmp_path / "small.csv"
    with open(TAXI_CSV) as f:
        path.write_text("".join(f.readline() for _ in range(61)))
    return path


def test_no_matching_file(tmp_path):
    with pytest.raises(EmptyInputError, match=r"matches no files"):
        run(make_config(tmp_path, tmp_path / "nothing-*.csv"))


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_empty_files(tmp_path, content):
    (tmp_path / "a.csv").write_text(content)
    with pytest.raises(EmptyInputError, match=r"are empty \(no header, no rows\)"):
        run(make_config(tmp_path / "out", tmp_path / "*.csv"))


@pytest.mark.parametrize("schema", [None, str(GOLDEN_SCHEMA)], ids=["inferred", "given"])
def test_header_only(tmp_path, schema):
    (tmp_path / "a.csv").write_text(HEADER + "\n")
    with pytest.raises(EmptyInputError, match=r"has no data rows: the 1 file\(s\) matching"):
        run(make_config(tmp_path / "out", tmp_path / "a.csv", input_schema_uri=schema))
    assert not os.path.exists(tmp_path / "out" / "examples" / "ingest_result.json")


def test_label_column_must_exist(small_csv, tmp_path):
    with pytest.raises(ValueError, match=r"`label_column` 'big_tipper' is not a column"):
        run(make_config(tmp_path, small_csv, label_column="big_tipper",
                        input_schema_uri=str(GOLDEN_SCHEMA)))


def test_declared_types_must_name_columns(small_csv, tmp_path):
    with pytest.raises(ValueError, match=r"`column_types` declares \['tip'\]"):
        run(make_config(tmp_path, small_csv, column_types={"tip": "FLOAT"},
                        input_schema_uri=str(GOLDEN_SCHEMA)))


def test_files_with_different_headers(small_csv, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"CSV files disagree on their header"):
        run(make_config(tmp_path / "out", tmp_path / "*.csv"))


def _unapplied(self, pcoll):
    """A PTransform's expand as if it had been called instead of applied: it writes nothing."""
    return pcoll | "Nothing" >> beam.Filter(lambda _: False)


def _drop_half(element):
    name, _, serialized = element
    return name, serialized[: len(serialized) // 2]


@pytest.mark.parametrize("sabotage", ["examples_write", "statistics", "dropped_records"])
def test_a_step_that_writes_nothing_fails_the_run(small_csv, tmp_path, monkeypatch, sabotage):
    if sabotage == "examples_write":
        monkeypatch.setattr(shards.WriteShards, "expand", _unapplied)
        expected = r"shard manifest .* was not written"
    elif sabotage == "statistics":
        monkeypatch.setattr(statistics.ComputeStatistics, "expand",
                            _unapplied)
        expected = r"statistics step wrote nothing"
    else:
        monkeypatch.setattr(pipeline, "_serialized_of", _drop_half)
        expected = r"records were written for 'train', but the step before the write produced"
    config = make_config(tmp_path, small_csv, input_schema_uri=str(GOLDEN_SCHEMA))
    with pytest.raises(CountMismatchError, match=expected) as raised:
        run(config)
    assert "PTransform called as a function" in str(raised.value)
    assert not os.path.exists(os.path.join(config.examples_uri, "ingest_result.json"))


def test_a_runner_without_metrics_is_checked_by_its_files(tmp_path, monkeypatch):
    # Some runners report no Beam counters: the counts then come from the written files.
    monkeypatch.setattr(executor, "_counters", lambda result: {})
    config = make_config(tmp_path, TESTDATA_BAD_ROWS, input_schema_uri=str(GOLDEN_SCHEMA),
                         missing_values=("", "NA"), max_bad_row_fraction=1.0)
    outcome = run(config)
    assert outcome.result.rows_read == 17 and outcome.result.bad_rows == 9
    assert sum(outcome.result.splits.values()) == 8
    assert outcome.bad_rows.invalid_values() == {
        "fare": 3, "trip_start_hour": 1, "trip_start_timestamp": 1, "trip_seconds": 1}
