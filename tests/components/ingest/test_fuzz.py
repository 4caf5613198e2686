"""Random corruptions of taxi rows: every physical line still ends up in exactly one place.

Seeded and bounded. The CSV source must split each corrupted file into good records, bad
records and blank lines that together cover every line once, quoting each bad record with
its line number, its reason and its exact text. A few files also go through the whole
ingest step, whose own line check must hold. `-m slow` runs many more seeds.
"""

from __future__ import annotations

import random

import pytest

from components.ingest import ReasonCode, run
from components.ingest.sources import CsvSource
from tests.components.ingest.conftest import TAXI_CSV, make_config, read_quarantine

HEADER = TAXI_CSV.read_bytes().split(b"\n", 1)[0]
TAXI_LINES = TAXI_CSV.read_bytes().split(b"\n")[1:2001]
_CELLS = [b"NA", b"12.3.4", b" ", b"", b"nan", b"inf", b"None", b'"', b'"x""y"', b"a,b",
          b'"multi\nline"', b'"Flash" Cab', b"\xef\xbb\xbf"]


def _corrupt(line: bytes, rng: random.Random) -> list[bytes]:
    """One random corruption of one line; returns the physical lines that replace it."""
    kind = rng.randrange(10)
    at = rng.randrange(len(line) + 1)
    if kind == 0:  # a stray quote anywhere
        return (line[:at] + b'"' + line[at:]).split(b"\n")
    if kind == 1:  # a byte that is not UTF-8 (or starts a broken sequence)
        return [line[:at] + rng.choice([b"\xff", b"\xc3", b"\x80", b"\xe9", b"\xfe"])
                + line[at:]]
    if kind == 2:  # a delimiter more
        return [line[:at] + b"," + line[at:]]
    if kind == 3:  # a character less
        return [line[:at] + line[at + 1:]]
    if kind == 4:  # a line break inside the line
        return (line[:at] + rng.choice([b"\n", b"\r\n", b"\r"]) + line[at:]).split(b"\n")
    if kind == 5:  # the header again
        return [HEADER]
    if kind == 6:  # a blank line before it
        return [rng.choice([b"", b"\r"]), line]
    if kind == 7:  # the line cut short
        return [line[:at]]
    cells = line.split(b",")
    cells[rng.randrange(len(cells))] = rng.choice(_CELLS)  # kinds 8, 9: an odd cell
    return b",".join(cells).split(b"\n")


def _fuzzed(seed: int, rows: int = 300) -> bytes:
    rng = random.Random(seed)
    start = rng.randrange(len(TAXI_LINES) - rows)
    lines = [HEADER]
    for line in TAXI_LINES[start:start + rows]:
        if rng.random() < 0.08:
            lines.extend(_corrupt(line, rng))
        else:
            lines.append(line)
    return b"\n".join(lines) + rng.choice([b"\n", b""])


def _escaped(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


def _check_source(path, data: bytes, batch_size: int, max_record_lines: int) -> int:
    """Reads `path` and checks the line accounting; returns the number of records."""
    physical = data.split(b"\n")
    if physical[-1] == b"":
        physical.pop()
    first_data_line = 2
    data_lines = set(range(first_data_line, len(physical) + 1))
    covered: dict[int, str] = {}
    blank = lines_read = records = 0
    source = CsvSource(max_record_lines=max_record_lines)
    for batch in source.read(str(path), batch_size):
        lines_read += batch.physical_lines
        blank += batch.blank_lines
        spans = batch.line_spans if batch.line_spans is not None else [1] * batch.num_rows
        found = [(int(n), int(s), raw, "good") for n, s, raw
                 in zip(batch.line_numbers, spans, batch.raw, strict=True)]
        for bad in batch.bad_rows:
            assert bad.reason and isinstance(bad.reason_code, ReasonCode)
            found.append((bad.line_number, bad.num_lines, bad.raw, str(bad.reason_code)))
        for number, span, raw, what in found:
            records += 1
            text = b"\n".join(physical[number - 1:number - 1 + span])
            text = text[:-1] if text.endswith(b"\r") else text
            # The record quotes exactly its lines of the file.
            assert raw == _escaped(text), (number, what)
            for line in range(number, number + span):
                assert line not in covered, f"line {line} is in {covered[line]} and {what}"
                covered[line] = what
    assert lines_read == len(data_lines)
    uncovered = data_lines - set(covered)
    assert all(physical[n - 1] in (b"", b"\r") for n in uncovered)
    assert blank == len(uncovered)
    assert set(covered) <= data_lines
    return records


@pytest.mark.parametrize("seed", range(30))
def test_fuzzed_taxi_rows_keep_every_line(tmp_path, seed):
    data = _fuzzed(seed)
    path = tmp_path / "fuzzed.csv"
    path.write_bytes(data)
    rng = random.Random(seed)
    _check_source(path, data, batch_size=rng.choice([3, 7, 64, 4096]),
                  max_record_lines=rng.choice([2, 5, 100]))


def _outcome(path, batch_size: int):
    good, bad = [], []
    for batch in CsvSource().read(str(path), batch_size):
        columns = [batch.columns[name].to_pylist() for name in batch.columns]
        good.extend(zip(batch.line_numbers.tolist(), *columns, strict=True))
        bad.extend((row.line_number, row.reason_code, row.raw) for row in batch.bad_rows)
    return good, sorted(bad)


def _check_batch_sizes(path, sizes) -> None:
    # Each batch takes one of three readers (Arrow, the csv module, the exact one): a row
    # must come out the same whichever reads it.
    whole = _outcome(path, 4096)
    for size in sizes:
        assert _outcome(path, size) == whole, size


@pytest.mark.parametrize("seed", range(6))
def test_fuzzed_rows_read_the_same_in_any_batch_size(tmp_path, seed):
    path = tmp_path / "fuzzed.csv"
    path.write_bytes(_fuzzed(seed))
    _check_batch_sizes(path, [5, 31])


@pytest.mark.slow
def test_fuzzed_rows_read_the_same_in_any_batch_size_many_seeds(tmp_path):
    for seed in range(100, 160):
        path = tmp_path / f"{seed}.csv"
        path.write_bytes(_fuzzed(seed))
        _check_batch_sizes(path, [1, 2, 5, 31])


def _check_ingest(tmp_path, seed: int) -> None:
    data = _fuzzed(seed, rows=400)
    path = tmp_path / "fuzzed.csv"
    path.write_bytes(data)
    records = _check_source(path, data, batch_size=4096, max_record_lines=100)
    config = make_config(tmp_path / "out", path, max_bad_row_fraction=1.0)
    outcome = run(config)  # checks its own line counts (CountMismatchError otherwise)
    quarantined = read_quarantine(config.examples_uri)
    assert all(row["reason"] and row["line_number"] >= 2 for row in quarantined)
    assert sum(outcome.result.splits.values()) + len(quarantined) == records
    assert outcome.result.rows_read == records


@pytest.mark.parametrize("seed", [0, 1])
def test_fuzzed_taxi_rows_through_ingest(tmp_path, seed):
    _check_ingest(tmp_path, seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2, 22))
def test_fuzzed_taxi_rows_through_ingest_many(tmp_path, seed):
    _check_ingest(tmp_path, seed)


@pytest.mark.slow
def test_fuzzed_taxi_rows_many_seeds(tmp_path):
    for seed in range(1000, 1300):
        data = _fuzzed(seed)
        path = tmp_path / f"{seed}.csv"
        path.write_bytes(data)
        rng = random.Random(seed)
        _check_source(path, data, batch_size=rng.choice([1, 2, 7, 64, 4096]),
                      max_record_lines=rng.choice([2, 5, 100]))
