"""Nothing lost, nothing let through (issue 17): a taxi CSV with every kind of bad input.

The file is built from real taxi rows. Each corruption sits on a line the test knows, so it
checks the reason and the line number of every quarantined record, and counts by physical
line: the lines of the good rows, of the quarantined rows and the blank lines are the lines
of the file.
"""

from __future__ import annotations

import math

import pytest

from components.artifacts import FeatureType
from components.ingest import BadRowsError, ReasonCode, run
from tests.components.ingest.conftest import (
    TAXI_CSV,
    make_config,
    read_frame,
    read_quarantine,
)

HEADER = TAXI_CSV.read_text().splitlines()[0]
COLUMNS = HEADER.split(",")
TAXI_LINES = TAXI_CSV.read_text().splitlines()[1:]
ROWS = 1000  # enough that one bad cell in a column is under 1% of it


def _with(row: str, **cells: str) -> str:
    values = row.split(",")  # the taxi rows have no quotes
    for column, value in cells.items():
        values[COLUMNS.index(column)] = value
    return ",".join(values)


def _corrupted_taxi() -> tuple[bytes, dict[int, ReasonCode], dict[str, int], int]:
    """The file, {line: expected reason} of the lines to quarantine, {name: line} of some
    lines, and how many taxi rows it holds."""
    rows = iter(TAXI_LINES[:ROWS])
    # (physical lines, expected reason or None); most entries are one real row.
    entries: list[tuple[bytes, ReasonCode | None, str | None]] = []

    def add(text: str | bytes, reason: ReasonCode | None = None, name: str | None = None):
        entries.append((text.encode() if isinstance(text, str) else text, reason, name))

    def clean(count: int):
        for _ in range(count):
            add(next(rows))

    clean(50)
    add(_with(next(rows), company='"Flash" Cab'), name="stray_quotes")  # item 7
    clean(50)
    add(_with(next(rows), fare="12.3.4"), ReasonCode.INVALID_VALUE, "bad_fare")  # item 6
    add(_with(next(rows), fare="NA"), name="fare_na")  # missing, not text
    add(_with(next(rows), fare=" null "), name="fare_null")
    add(_with(next(rows), fare="#N/A"))
    clean(50)
    for label in ("", " ", "NaN", "None"):  # item 4: missing or blank
        add(_with(next(rows), tips=label), ReasonCode.MISSING_LABEL)
    for label in ("NAN", "inf", "-Infinity"):  # item 4: not finite
        add(_with(next(rows), tips=label), ReasonCode.INVALID_LABEL)
    clean(100)
    add(HEADER, ReasonCode.REPEATED_HEADER)  # item 5: files joined with their headers
    clean(50)
    add(_with(next(rows), company="Caf\xe9 Cab").encode("latin-1"),  # item 2
        ReasonCode.NOT_UTF8, "latin1")
    clean(50)
    # Item 1: an unterminated quote; every later line still counts on its own.
    add(_with(next(rows), company='"Blue Ribbon Taxi'), ReasonCode.UNTERMINATED_QUOTE,
        "unterminated")
    clean(200)
    add(_with(next(rows), company='"Yellow\nCab"'), name="two_lines")  # a real quoted newline
    add("")  # a blank line
    add(next(rows) + ",extra", ReasonCode.FIELD_COUNT)
    clean(200)
    # A quote left open near the end: it would reach the end of the file.
    add(_with(next(rows), payment_type='"Cash'), ReasonCode.UNTERMINATED_QUOTE, "at_end")
    clean(30)

    data = bytearray(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n")  # item 3: a BOM
    expected: dict[int, ReasonCode] = {}
    named: dict[str, int] = {}
    line = 2
    for text, reason, name in entries:
        if reason is not None:
            expected[line] = reason
        if name is not None:
            named[name] = line
        data += text + b"\n"
        line += text.count(b"\n") + 1
    taxi_rows = ROWS - len(list(rows))
    return bytes(data), expected, named, taxi_rows


@pytest.fixture(scope="module")
def corrupted(tmp_path_factory):
    data, expected, named, taxi_rows = _corrupted_taxi()
    folder = tmp_path_factory.mktemp("corrupted")
    path = folder / "taxi.csv"
    path.write_bytes(data)
    config = make_config(folder / "out", path, max_bad_row_fraction=0.05)
    return data, expected, named, taxi_rows, config, run(config)


def _physical_lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    return lines[:-1] if lines[-1] == b"" else lines


def test_every_physical_line_is_accounted_for(corrupted):
    data, expected, _, taxi_rows, config, outcome = corrupted
    lines = _physical_lines(data)[1:]  # less the header
    blank = sum(1 for line in lines if line in (b"", b"\r"))
    quarantined = read_quarantine(config.examples_uri)
    good = sum(outcome.result.splits.values())
    two_line_records = 1  # the quoted "Yellow\nCab"
    quarantined_lines = sum(row["raw"].count("\n") + 1 for row in quarantined)
    assert good + two_line_records + quarantined_lines + blank == len(lines)
    # Each quarantined record is one line here, and is one of the planted corruptions.
    assert quarantined_lines == len(quarantined) == len(expected)
    assert outcome.result.bad_rows == len(expected)
    assert good == taxi_rows - (len(expected) - 1)  # the repeated header is no taxi row


def test_each_quarantined_line_has_its_reason_and_number(corrupted):
    data, expected, _, _, config, _ = corrupted
    lines = _physical_lines(data)
    quarantined = read_quarantine(config.examples_uri)
    assert {row["line_number"]: ReasonCode(row["reason_code"]) for row in quarantined} \
        == expected
    for row in quarantined:
        assert row["reason"]
        # The raw text is that line of the file (bytes that are not UTF-8 as \xNN).
        physical = lines[row["line_number"] - 1].decode("utf-8", "backslashreplace")
        assert row["raw"] == physical.rstrip("\r")


def test_reasons_say_what_and_where(corrupted):
    data, _, named, _, config, _ = corrupted
    by_line = {row["line_number"]: row for row in read_quarantine(config.examples_uri)}
    fare = by_line[named["bad_fare"]]
    assert fare["column"] == "fare"
    assert fare["reason"] == "column 'fare': '12.3.4' is not a FLOAT"
    latin1 = by_line[named["latin1"]]
    offset = data.index(b"Caf\xe9") + 3
    assert f"byte 0xe9 at byte offset {offset:,} of the file" in latin1["reason"]
    assert "Caf\\xe9 Cab" in latin1["raw"]
    for name in ("unterminated", "at_end"):
        assert f"opened on line {named[name]} is not closed" in by_line[named[name]]["reason"]
    labels = {row["raw"].split(",")[-1]: row["reason"] for row in by_line.values()
              if row["column"] == "tips"}
    assert labels == {
        "": "the label column 'tips' is missing",
        " ": "the label column 'tips' is missing (the cell ' ' is blank)",
        "NaN": "the label column 'tips' is missing (the cell is 'NaN', a missing value)",
        "None": "the label column 'tips' is missing (the cell is 'None', a missing value)",
        "NAN": "the label column 'tips' is 'NAN', not a finite number",
        "inf": "the label column 'tips' is 'inf', not a finite number",
        "-Infinity": "the label column 'tips' is '-Infinity', not a finite number",
    }


def test_types_are_those_of_the_clean_rows(corrupted, tmp_path):
    *_, outcome = corrupted
    clean = tmp_path / "clean.csv"
    clean.write_text("\n".join([HEADER, *TAXI_LINES[:ROWS]]) + "\n")
    expected = run(make_config(tmp_path / "out", clean)).result.columns
    # The BOM is gone from the first name; the repeated header and "12.3.4" widen nothing.
    assert list(outcome.result.columns) == COLUMNS
    assert dict(outcome.result.columns) == dict(expected)
    assert outcome.result.columns["fare"] is FeatureType.FLOAT


def test_odd_values_are_kept_as_written(corrupted):
    *_, config, _ = corrupted
    rows = []
    for split in ("train", "eval"):
        rows.extend(read_frame(config.examples_uri, split).to_dict("records"))
    companies = {r["company"][0] for r in rows if r["company"] is not None and len(r["company"])}
    assert b'"Flash" Cab' in companies  # item 7: not "Flash Cab"
    assert b"Yellow\nCab" in companies  # a real quoted newline
    assert not any(c.startswith(b'"') and c != b'"Flash" Cab' for c in companies)
    fares = [r["fare"] for r in rows]
    assert sum(1 for f in fares if f is None or not len(f)) == 3  # NA, " null ", #N/A
    tips = [r["tips"][0] for r in rows]
    assert len(tips) == sum(1 for t in tips if math.isfinite(t))


def test_too_few_numbers_keep_a_column_text(tmp_path):
    # Two non-numbers in 100 fares are more than 1%: the column is text, nothing is lost.
    rows = [_with(row, fare="abc") if i in (10, 20) else row
            for i, row in enumerate(TAXI_LINES[:100])]
    path = tmp_path / "a.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    outcome = run(make_config(tmp_path / "out", path))
    assert outcome.result.columns["fare"] is FeatureType.BYTES
    assert outcome.result.bad_rows == 0
    strict = run(make_config(tmp_path / "strict", path, column_types={"fare": "FLOAT"},
                             max_bad_row_fraction=0.05))
    assert strict.result.bad_rows == 2


def test_one_stray_quote_costs_one_line(tmp_path):
    # The probe of issue 17: one `"` in row 987 of 2,000 swallowed the 1,013 lines after it.
    rows = list(TAXI_LINES[:2000])
    rows[986] = _with(rows[986], company='"' + rows[986].split(",")[14])
    path = tmp_path / "a.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    config = make_config(tmp_path / "out", path)
    outcome = run(config)
    assert sum(outcome.result.splits.values()) == 1999
    [bad] = read_quarantine(config.examples_uri)
    assert (bad["line_number"], bad["reason_code"]) == (988, "unterminated_quote")
    assert bad["raw"] == rows[986]


def test_bad_rows_weigh_their_lines(tmp_path):
    # One bad record spanning 5 lines of 14: 1 row in 10 but 36% of the lines.
    rows = list(TAXI_LINES[:10])
    rows[3] = _with(rows[3], fare="x", company='"A\nlong\nquoted\nname\nhere"')
    path = tmp_path / "a.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    config = make_config(tmp_path / "out", path, column_types={"fare": "FLOAT"},
                         max_bad_row_fraction=0.2)
    with pytest.raises(BadRowsError, match=r"1 of 10 rows \(10.00%\) \(spanning 5 of 14 lines, "
                                           r"35.71%\) are bad"):
        run(config)
    outcome = run(config.replace(max_bad_row_fraction=0.5))
    [bad] = read_quarantine(config.examples_uri)
    assert (bad["line_number"], bad["raw"].count("\n")) == (5, 4)
    assert sum(outcome.result.splits.values()) == 9
