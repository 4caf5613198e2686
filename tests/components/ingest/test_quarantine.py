"""Bad rows: the golden quarantine, and failing on too many of them with a useful message."""

from __future__ import annotations

import json
import os
import re

import pytest

from components import artifacts
from components.ingest import BadRowsError, ReasonCode, run
from components.ingest.quarantine import BadRow, BadRowSummary
from tests.components.ingest.conftest import (
    GOLDEN_SCHEMA,
    TESTDATA,
    make_config,
    read_frame,
    read_quarantine,
)

BAD_ROWS_CSV = TESTDATA / "bad_rows.csv"
EXPECTED = TESTDATA / "bad_rows.expected.jsonl"


def _config(out, **options):
    options.setdefault("input_schema_uri", str(GOLDEN_SCHEMA))
    options.setdefault("missing_values", ("", "NA"))
    return make_config(out, BAD_ROWS_CSV, **options)


@pytest.fixture(scope="module")
def tolerant_run(tmp_path_factory):
    config = _config(tmp_path_factory.mktemp("bad"), max_bad_row_fraction=1.0)
    return config, run(config)


def test_quarantine_matches_the_golden_file(tolerant_run):
    config, _ = tolerant_run
    rows = read_quarantine(config.examples_uri)
    for row in rows:
        assert row["source_file"] == str(BAD_ROWS_CSV)
        row["source_file"] = os.path.basename(row["source_file"])
    with open(EXPECTED, encoding="utf-8") as f:
        expected = [json.loads(line) for line in f]
    assert rows == expected


def test_every_reason_is_counted(tolerant_run):
    _, outcome = tolerant_run
    assert outcome.result.bad_rows == 9
    # Lines 2-20, less the blank line 8, with lines 9-10 one record.
    assert outcome.result.rows_read == 17
    assert sum(outcome.result.splits.values()) == 8
    assert dict(((code, column), n) for code, column, n in outcome.bad_rows.counts) == {
        (ReasonCode.INVALID_VALUE, "fare"): 3,
        (ReasonCode.FIELD_COUNT, None): 2,
        (ReasonCode.INVALID_VALUE, "trip_start_hour"): 1,
        (ReasonCode.INVALID_VALUE, "trip_start_timestamp"): 1,
        (ReasonCode.INVALID_VALUE, "trip_seconds"): 1,
        (ReasonCode.MISSING_LABEL, "tips"): 1,
    }


def test_odd_but_valid_rows_become_examples(tolerant_run):
    config, _ = tolerant_run
    rows = []
    for split in ("train", "eval"):
        frame = read_frame(config.examples_uri, split)
        rows.extend(frame.to_dict("records"))
    companies = {r["company"][0] for r in rows if r["company"] is not None and len(r["company"])}
    assert b'Taxi, "Affiliation"\nServices' in companies  # the quoted row on lines 9-10
    areas = sorted(int(r["pickup_community_area"][0]) for r in rows)
    assert areas == [5] + [60] * 7  # "+5" and " 60 " parse
    miles = sorted(float(r["trip_miles"][0]) for r in rows)
    assert miles[-1] == 1000.0  # "1e3"
    missing_fare = [r for r in rows if r["fare"] is None or len(r["fare"]) == 0]
    assert len(missing_fare) == 1  # "NA" is a missing value
    assert any(r["dropoff_latitude"] is not None and len(r["dropoff_latitude"])
               and r["dropoff_latitude"][0] != r["dropoff_latitude"][0] for r in rows)  # nan


def test_too_many_bad_rows_fails_with_how_many_why_and_where(tmp_path):
    config = _config(tmp_path)
    with pytest.raises(BadRowsError) as raised:
        run(config)
    message = str(raised.value)
    assert message.startswith("9 of 17 rows (52.94%) are bad, more than "
                              "`max_bad_row_fraction` (0.01).")
    assert "3 x invalid_value in 'fare' (e.g. " in message
    assert "line 5: column 'fare': 'abc' is not a FLOAT" in message
    assert "2 x field_count (e.g. " in message and "expected 18 fields, got 17" in message
    assert "1 x invalid_value in 'trip_seconds'" in message
    assert "  1 more in 1 other reason(s)" in message  # the top 5 reasons are listed
    quarantine = artifacts.quarantine_dir(config.examples_uri)
    assert f"Every bad row is in the quarantine: {quarantine}" in message
    # The quarantine is kept; the examples are not published (no ingest_result.json).
    assert len(read_quarantine(config.examples_uri)) == 9
    assert sorted(os.listdir(config.examples_uri)) == ["quarantine"]
    assert not os.path.exists(config.schema_uri)


def test_fraction_at_the_limit_passes(tmp_path):
    outcome = run(_config(tmp_path, max_bad_row_fraction=9 / 17))
    assert outcome.result.bad_rows == 9


def test_summary_describe_orders_and_truncates():
    counts = {(ReasonCode.INVALID_VALUE, f"c{i}"): i + 1 for i in range(7)}
    summary = BadRowSummary.from_counts(counts)
    assert summary.total == 28
    text = summary.describe(top=2)
    assert text.splitlines() == ["  7 x invalid_value in 'c6'", "  6 x invalid_value in 'c5'",
                                 "  15 more in 5 other reason(s)"]


def test_bad_row_json_line_has_the_contract_keys():
    row = BadRow(source_file="a.csv", line_number=3, reason_code=ReasonCode.FIELD_COUNT,
                 reason="expected 2 fields, got 1", raw="x")
    assert json.loads(row.to_json_line()) == {
        "source_file": "a.csv", "line_number": 3, "reason": "expected 2 fields, got 1",
        "raw": "x", "reason_code": "field_count", "column": None}
    assert re.fullmatch(r"\{.*\}", row.to_json_line())
