"""The ingest executor on the real Chicago taxi data: layout, counts, splits, schema."""

from __future__ import annotations

import collections
import json
import os

import numpy as np
import pytest
from google.protobuf import text_format

from components import artifacts
from components.artifacts import FeatureType
from components.ingest import run
from tests.components.ingest.conftest import (
    GOLDEN_SCHEMA,
    TAXI_CSV,
    TAXI_ROWS,
    make_config,
    read_frame,
    read_records,
)

EXPECTED_TYPES = {
    "pickup_community_area": "INT", "fare": "FLOAT", "trip_start_month": "INT",
    "trip_start_hour": "INT", "trip_start_day": "INT", "trip_start_timestamp": "INT",
    "pickup_latitude": "FLOAT", "pickup_longitude": "FLOAT", "dropoff_latitude": "FLOAT",
    "dropoff_longitude": "FLOAT", "trip_miles": "FLOAT", "pickup_census_tract": "INT",
    "dropoff_census_tract": "INT", "payment_type": "BYTES", "company": "BYTES",
    "trip_seconds": "INT", "dropoff_community_area": "INT", "tips": "FLOAT",
}


def test_artifact_layout_and_ingest_result(taxi_run):
    config, outcome = taxi_run
    uri = config.examples_uri
    for split in ("train", "eval"):
        assert [os.path.basename(p) for p in artifacts.examples_files(uri, split)] == [
            "data-00000-of-00001.tfrecord.gz"]
        stats_dir = artifacts.split_dir(config.statistics_uri, split)
        assert sorted(os.listdir(stats_dir)) == ["stats.html", "stats.json"]
    assert sorted(os.listdir(artifacts.quarantine_dir(uri))) == ["bad_rows-00000-of-00001.jsonl"]
    assert os.listdir(config.schema_uri) == ["schema.pbtxt"]
    assert sorted(os.listdir(config.anomalies_uri)) == ["anomalies.json", "anomalies.txt"]
    assert not [name for name in os.listdir(uri) if name.startswith(".")]  # staging removed

    with open(os.path.join(uri, "ingest_result.json")) as f:
        written = json.load(f)
    assert written["span"] is None
    assert written["bad_rows"] == 0
    assert written["source"] == str(TAXI_CSV)
    assert written["columns"] == EXPECTED_TYPES
    assert list(written["splits"]) == ["train", "eval"]
    assert sum(written["splits"].values()) == TAXI_ROWS
    assert artifacts.read_ingest_result(uri) == outcome.result


def test_record_counts_match_the_files(taxi_run):
    config, outcome = taxi_run
    for split, count in outcome.result.splits.items():
        assert len(read_records(config.examples_uri, split)) == count
    assert outcome.result.rows_read == TAXI_ROWS


def test_split_ratio_is_about_80_20(taxi_run):
    _, outcome = taxi_run
    share = outcome.result.splits["train"] / TAXI_ROWS
    assert 0.78 < share < 0.82


def _typed(cell: str, feature_type: str):
    if cell == "":
        return None  # a missing cell is a missing feature
    if feature_type == "INT":
        return int(cell)
    if feature_type == "FLOAT":
        return float(np.float32(cell))
    return cell.encode()


def test_examples_hold_exactly_the_csv_rows(taxi_run, taxi_text):
    config, _ = taxi_run
    columns = list(EXPECTED_TYPES)
    expected = sorted(
        (tuple(_typed(cell, EXPECTED_TYPES[c]) for c, cell in zip(columns, row, strict=True))
         for row in taxi_text[columns].itertuples(index=False)), key=repr)
    written = []
    for split in ("train", "eval"):
        frame = read_frame(config.examples_uri, split)
        for row in frame[columns].itertuples(index=False):
            written.append(tuple(
                None if v is None or len(v) == 0 else
                (float(v[0]) if EXPECTED_TYPES[c] == "FLOAT" else v[0].item()
                 if EXPECTED_TYPES[c] == "INT" else v[0])
                for c, v in zip(columns, row, strict=True)))
    assert sorted(written, key=repr) == expected


def _rows(examples_uri: str, split: str) -> collections.Counter:
    # Compare decoded rows: protobuf map order, so the serialized bytes, varies by process.
    frame = read_frame(examples_uri, split)
    return collections.Counter(
        tuple(None if v is None else tuple(v.tolist()) for v in row)
        for row in frame.itertuples(index=False))


def _rerun(config, out, *beam_args):
    return run(config.replace(
        examples_uri=str(out / "examples"), schema_uri=str(out / "schema"),
        statistics_uri=str(out / "statistics"), anomalies_uri=str(out / "anomalies"),
        beam_pipeline_args=beam_args))


def test_split_is_deterministic_across_runs(taxi_run, tmp_path):
    config, outcome = taxi_run
    again = _rerun(config, tmp_path)
    assert again.result.splits == outcome.result.splits
    for split in ("train", "eval"):
        assert _rows(config.examples_uri, split) == _rows(str(tmp_path / "examples"), split)


@pytest.mark.slow
def test_split_is_deterministic_across_worker_processes(taxi_run, tmp_path):
    config, outcome = taxi_run
    again = _rerun(config, tmp_path, "--direct_num_workers=2",
                   "--direct_running_mode=multi_processing")
    assert again.result.splits == outcome.result.splits
    for split in ("train", "eval"):
        assert _rows(config.examples_uri, split) == _rows(str(tmp_path / "examples"), split)


def test_split_by_key_keeps_equal_keys_together(tmp_path):
    outcome = run(make_config(tmp_path, TAXI_CSV, split_key="company",
                              splits={"a": 1, "b": 1, "c": 2}, max_bad_row_fraction=0.5,
                              input_schema_uri=str(GOLDEN_SCHEMA)))
    companies = {}
    for split in ("a", "b", "c"):
        frame = read_frame(str(tmp_path / "examples"), split)
        companies[split] = {v[0] for v in frame["company"] if v is not None and len(v)}
    assert not companies["a"] & companies["b"] and not companies["b"] & companies["c"]
    assert not companies["a"] & companies["c"]
    # Rows without a company cannot be placed by key: they are quarantined, not dropped.
    assert outcome.result.bad_rows == 5140
    assert {code for code, _, _ in outcome.bad_rows.counts} == {"missing_split_key"}
    assert sum(outcome.result.splits.values()) + outcome.result.bad_rows == TAXI_ROWS


def test_schema_inference_types_and_golden(taxi_run):
    config, outcome = taxi_run
    schema = artifacts.read_schema(config.schema_uri)
    assert {f.name: artifacts.FeatureType.from_schema(f.type) for f in schema.feature} == {
        name: FeatureType(t) for name, t in EXPECTED_TYPES.items()}
    assert outcome.schema_inferred
    golden = text_format.Parse(GOLDEN_SCHEMA.read_text(), type(schema)())
    assert schema == golden
    by_name = {f.name: f for f in schema.feature}
    assert by_name["tips"].presence.min_fraction == 1.0  # the label is required
    assert by_name["company"].presence.min_fraction == 0.0  # 5,140 trips have no company
    domains = {d.name: list(d.value) for d in schema.string_domain}
    assert domains["payment_type"] == sorted(
        ["Cash", "Credit Card", "No Charge", "Unknown", "Dispute", "Pcard", "Prcard"])
    assert by_name["payment_type"].drift_comparator.infinity_norm.threshold == 0.1


def test_no_anomalies_against_its_own_schema(taxi_run):
    config, outcome = taxi_run
    assert outcome.anomalies == ()
    with open(os.path.join(config.anomalies_uri, "anomalies.json")) as f:
        assert json.load(f)["num_anomalies"] == 0
    with open(os.path.join(config.anomalies_uri, "anomalies.txt")) as f:
        assert f.read() == "No anomalies.\n"


def test_rerun_into_the_same_uri_replaces_the_outputs(tmp_path):
    subset = tmp_path / "subset.csv"
    with open(TAXI_CSV) as f:
        subset.write_text("".join(f.readline() for _ in range(301)))
    config = make_config(tmp_path / "out", subset, input_schema_uri=str(GOLDEN_SCHEMA))
    first = run(config)
    stale = tmp_path / "out" / "examples" / "Split-old"
    stale.mkdir()
    (stale / "data-00000-of-00001.tfrecord.gz").write_bytes(b"")
    second = run(config.replace(splits={"train": 1}))
    assert second.result.splits == {"train": 300}
    assert sorted(os.listdir(tmp_path / "out" / "examples")) == [
        "Split-train", "ingest_result.json", "quarantine"]
    assert first.result.splits["train"] + first.result.splits["eval"] == 300
