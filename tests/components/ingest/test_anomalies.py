"""Anomalies: a drifted span, a span with a new and a missing column, type changes."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from tensorflow_metadata.proto.v0 import schema_pb2

from components import artifacts
from components.artifacts import FeatureType
from components.ingest import AnomaliesFoundError, AnomalyKind, run
from components.ingest.anomalies import find_anomalies, summarize
from components.ingest.parsing import ObservedType
from tests.components.ingest.conftest import make_config, write_spans


@pytest.fixture(scope="module")
def spans(tmp_path_factory, taxi_text):
    """Span 1: the first half of the taxi data, ingested (schema inferred). Later spans are
    variations of the second half, validated against span 1's schema and statistics."""
    root = tmp_path_factory.mktemp("anomalies")
    second = taxi_text.iloc[7500:].copy()
    rng = np.random.default_rng(0)
    drifted = second.copy()
    cash = np.flatnonzero(drifted["payment_type"].to_numpy() == "Cash")
    drifted.iloc[rng.choice(cash, size=len(cash) * 2 // 5, replace=False),
                 drifted.columns.get_loc("payment_type")] = "Credit Card"
    drifted.iloc[:200, drifted.columns.get_loc("payment_type")] = "Bitcoin"
    reshaped = second.drop(columns=["company"]).assign(tip_rate="0.25")
    hours_as_floats = second.assign(trip_start_hour=second["trip_start_hour"] + ".5")
    pattern = write_spans(root / "data", {1: taxi_text.iloc[:7500], 2: second, 3: drifted,
                                          4: reshaped, 5: hours_as_floats})
    baseline = make_config(root / "span-1", pattern, span=1)
    run(baseline)
    return root, pattern, baseline


def _validate(spans, span, tmp_path, **options):
    _, pattern, baseline = spans
    config = make_config(tmp_path, pattern, span=span, input_schema_uri=baseline.schema_uri,
                         baseline_statistics_uri=baseline.statistics_uri, **options)
    return config, run(config)


def _kinds(outcome) -> dict[tuple[str, str], str]:
    return {(str(a.kind), a.feature): a.description for a in outcome.anomalies}


def test_unchanged_span_has_no_anomalies(spans, tmp_path):
    _, outcome = _validate(spans, 2, tmp_path)
    assert outcome.anomalies == ()
    assert not outcome.schema_inferred


def test_drifted_distribution_and_new_value(spans, tmp_path):
    config, outcome = _validate(spans, 3, tmp_path)
    kinds = _kinds(outcome)
    assert set(kinds) == {("drift", "payment_type"), ("out_of_domain", "payment_type")}
    drift = next(a for a in outcome.anomalies if a.kind is AnomalyKind.DRIFT)
    assert drift.details["distance"] > 0.2 and drift.details["threshold"] == 0.1
    assert drift.details["value"] in ("Cash", "Credit Card")
    assert "(2.67% of its values; the schema allows 1.00%): 'Bitcoin' (200)" in kinds[
        ("out_of_domain", "payment_type")]
    with open(os.path.join(config.anomalies_uri, "anomalies.json")) as f:
        written = json.load(f)
    assert written["num_anomalies"] == 2 and written["span"] == 3
    assert written["schema"] == "input"
    assert written["baseline_statistics"] == spans[2].statistics_uri
    with open(os.path.join(config.anomalies_uri, "anomalies.txt")) as f:
        text = f.read()
    lines = text.splitlines()
    assert lines[0] == "2 anomalies:"
    assert lines[1].startswith("- [out_of_domain] 'payment_type' has values outside its domain")
    assert lines[2].startswith("- [drift] 'payment_type' drifted from the previous span: "
                               "L-infinity distance 0.2")


def test_new_and_missing_column_fail_when_asked(spans, tmp_path):
    with pytest.raises(AnomaliesFoundError, match=r"2 anomalies found") as raised:
        _validate(spans, 4, tmp_path, fail_on_anomalies=True)
    assert "'company' (BYTES) is in the schema but not in the input" in str(raised.value)
    assert "'tip_rate' (FLOAT) is in the input but not in the schema" in str(raised.value)
    # The artifacts are written before the failure, the new column included.
    result = artifacts.read_ingest_result(str(tmp_path / "examples"))
    assert result.columns["tip_rate"] is FeatureType.FLOAT and "company" not in result.columns
    with open(tmp_path / "anomalies" / "anomalies.json") as f:
        kinds = {(a["kind"], a["feature"]) for a in json.load(f)["anomalies"]}
    assert kinds == {("missing_column", "company"), ("new_column", "tip_rate")}


def test_type_change_in_csv(spans, tmp_path):
    _, outcome = _validate(spans, 5, tmp_path, max_bad_row_fraction=1.0)
    assert outcome.result.bad_rows == 7502  # every row: each hour is now "x.5"
    kinds = _kinds(outcome)
    assert ("type_change", "trip_start_hour") in kinds
    assert "is not INT (the schema's type), e.g. line 2 of " in kinds[
        ("type_change", "trip_start_hour")]


# find_anomalies on its own, with hand-made statistics.

def _stats(**features):
    return {"train": {"split": "train", "num_examples": 10, "features": features}}


def _feature(feature_type, present=10, values=(1, 1), numeric=None, top=None):
    feature = {"type": feature_type, "num_present": present, "num_missing": 10 - present,
               "min_num_values": values[0], "max_num_values": values[1]}
    if numeric is not None:
        feature["numeric"] = numeric
    if top is not None:
        feature["categorical"] = {"num_values": sum(top.values()), "distinct": len(top),
                                  "distinct_is_exact": True, "top_values_complete": True,
                                  "top_values": [{"value": v, "count": n}
                                                 for v, n in top.items()]}
    return feature


def _schema(text: str) -> schema_pb2.Schema:
    from google.protobuf import text_format

    return text_format.Parse(text, schema_pb2.Schema())


def test_declared_and_observed_type_changes():
    schema = _schema('feature { name: "a" type: INT } feature { name: "b" type: INT }')
    found = find_anomalies(schema=schema, columns=["a", "b"],
                           types={"a": FeatureType.BYTES, "b": FeatureType.INT},
                           statistics=_stats(a=_feature("BYTES"), b=_feature("INT")),
                           observed={"b": ObservedType.FLOAT}, invalid_values={"b": 3})
    assert [(a.kind, a.feature) for a in found] == [(AnomalyKind.TYPE_CHANGE, "a"),
                                                   (AnomalyKind.TYPE_CHANGE, "b")]
    assert "ingested as BYTES (declared) but the schema says INT" in found[0].description
    assert "holds FLOAT values in the input but the schema says INT; 3 row(s)" in \
        found[1].description


def test_presence_value_count_and_numeric_range():
    schema = _schema("""
        feature { name: "a" type: FLOAT presence { min_fraction: 1.0 min_count: 1 }
                  value_count { min: 1 max: 1 } float_domain { min: 0 max: 100 } }
        feature { name: "b" type: INT presence { min_count: 1 } }""")
    stats = _stats(a=_feature("FLOAT", present=8, values=(1, 3),
                              numeric={"min": -5.0, "max": 50.0}),
                   b=_feature("INT", present=0, values=(None, None)))
    found = find_anomalies(schema=schema, columns=["a", "b"],
                           types={"a": FeatureType.FLOAT, "b": FeatureType.INT},
                           statistics=stats)
    assert [(str(a.kind), a.feature) for a in found] == [
        ("missing_values", "a"), ("value_count", "a"), ("out_of_domain", "a"),
        ("missing_values", "b")]
    assert "missing in 2 of 10 examples (20.0%)" in found[0].description
    assert "has 1..3 values per example; the schema allows 1..1" in found[1].description
    assert "ranges over [-5.0, 50.0]; the schema allows [0.0, 100.0]" in found[2].description
    assert "present in 0 of 10 examples; the schema requires it in at least 1" in \
        found[3].description
    assert summarize(found).startswith("4 anomalies:\n- [missing_values] ")
    assert summarize([]) == "No anomalies.\n"


def test_drift_threshold_comes_from_the_schema():
    schema = _schema('feature { name: "p" type: BYTES '
                     'drift_comparator { infinity_norm { threshold: 0.3 } } }')
    current = _stats(p=_feature("BYTES", top={"x": 6, "y": 4}))
    for previous_x, drifted in ((4, False), (2, True)):  # distances 0.2 and 0.4
        previous = _stats(p=_feature("BYTES", top={"x": previous_x, "y": 10 - previous_x}))
        found = find_anomalies(schema=schema, columns=["p"], types={"p": FeatureType.BYTES},
                               statistics=current, baseline=previous)
        assert bool(found) is drifted
