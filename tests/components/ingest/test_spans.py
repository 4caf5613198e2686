"""Spans: resolving `{SPAN}` patterns, and the span travelling with the output."""

from __future__ import annotations

import pytest

from components import artifacts
from components.ingest import EmptyInputError, run
from components.ingest.spans import resolve_input
from tests.components.ingest.conftest import GOLDEN_SCHEMA, make_config, write_spans


@pytest.fixture
def span_tree(tmp_path):
    for span, names in {1: ["a.csv"], 2: ["a.csv", "b.csv"], 10: ["a.csv"]}.items():
        folder = tmp_path / f"span-{span}"
        folder.mkdir()
        for name in names:
            (folder / name).write_text("x\n")
    (tmp_path / "span-x").mkdir()  # not a number: ignored
    (tmp_path / "span-x" / "a.csv").write_text("x\n")
    return tmp_path


def test_latest_span_is_the_highest_number(span_tree):
    resolved = resolve_input(str(span_tree / "span-{SPAN}" / "*.csv"))
    assert resolved.spans == (10,)  # numerically, not as text ("2" > "10")
    assert resolved.files == (str(span_tree / "span-10" / "a.csv"),)
    assert resolved.span == 10


def test_given_span(span_tree):
    resolved = resolve_input(str(span_tree / "span-{SPAN}" / "*.csv"), span=2)
    assert resolved.files == (str(span_tree / "span-2" / "a.csv"),
                              str(span_tree / "span-2" / "b.csv"))
    assert resolved.span == 2


def test_span_range_is_inclusive(span_tree):
    resolved = resolve_input(str(span_tree / "span-{SPAN}" / "*.csv"), span_range=(2, 10))
    assert resolved.spans == (2, 10)
    assert len(resolved.files) == 3
    assert resolved.span == 10


def test_missing_span_lists_the_available_ones(span_tree):
    with pytest.raises(EmptyInputError, match=r"no files for span 3; the spans found are "
                                              r"\[1, 2, 10\]"):
        resolve_input(str(span_tree / "span-{SPAN}" / "*.csv"), span=3)
    with pytest.raises(EmptyInputError, match=r"no files for spans 3..9"):
        resolve_input(str(span_tree / "span-{SPAN}" / "*.csv"), span_range=(3, 9))


def test_span_in_a_file_name_and_repeated(tmp_path):
    for span in (3, 4):
        (tmp_path / f"day-{span}-part-{span}.csv").write_text("x\n")
    (tmp_path / "day-4-part-3.csv").write_text("x\n")  # the two numbers disagree
    resolved = resolve_input(str(tmp_path / "day-{SPAN}-part-{SPAN}.csv"))
    assert resolved.files == (str(tmp_path / "day-4-part-4.csv"),)


def test_pattern_without_span(tmp_path):
    (tmp_path / "b.csv").write_text("x\n")
    (tmp_path / "a.csv").write_text("x\n")
    resolved = resolve_input(str(tmp_path / "*.csv"))
    assert resolved.files == (str(tmp_path / "a.csv"), str(tmp_path / "b.csv"))
    assert resolved.spans == () and resolved.span is None


@pytest.fixture(scope="module")
def taxi_spans(tmp_path_factory, taxi_text):
    root = tmp_path_factory.mktemp("spans")
    return write_spans(root, {1: taxi_text.iloc[:100], 2: taxi_text.iloc[100:250],
                              10: taxi_text.iloc[250:300]})


@pytest.mark.parametrize("selection, expected_span, expected_spans, rows", [
    ({}, 10, [10], 50),
    ({"span": 2}, 2, [2], 150),
    ({"span_range": (1, 2)}, 2, [1, 2], 250),
])
def test_ingest_records_the_span(taxi_spans, tmp_path, selection, expected_span,
                                 expected_spans, rows):
    config = make_config(tmp_path, taxi_spans, input_schema_uri=str(GOLDEN_SCHEMA),
                         **selection)
    outcome = run(config)
    result = artifacts.read_ingest_result(config.examples_uri)
    assert result.span == expected_span and list(result.spans) == expected_spans
    assert result.source == taxi_spans
    assert sum(result.splits.values()) == rows == outcome.result.rows_read
    assert all(f"span-{s}" in " ".join(result.files) for s in expected_spans)
