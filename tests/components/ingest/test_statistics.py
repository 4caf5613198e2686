"""Statistics of the taxi data checked against pandas on the same file."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from components import artifacts
from components.ingest import run
from components.ingest.statistics_html import render_statistics
from tests.components.ingest.conftest import GOLDEN_SCHEMA, TAXI_CSV, TAXI_ROWS, make_config

NUMERIC = ["pickup_community_area", "fare", "trip_start_month", "trip_start_hour",
           "trip_start_day", "trip_start_timestamp", "pickup_latitude", "pickup_longitude",
           "dropoff_latitude", "dropoff_longitude", "trip_miles", "dropoff_census_tract",
           "trip_seconds", "dropoff_community_area", "tips"]
FLOATS = {"fare", "pickup_latitude", "pickup_longitude", "dropoff_latitude",
          "dropoff_longitude", "trip_miles", "tips"}


@pytest.fixture(scope="module")
def whole_file_stats(tmp_path_factory):
    """Statistics of the whole file as one split, so they compare with pandas directly."""
    out = tmp_path_factory.mktemp("stats")
    run(make_config(out, TAXI_CSV, splits={"all": 1}, input_schema_uri=str(GOLDEN_SCHEMA)))
    return artifacts.read_statistics(str(out / "statistics"))["all"]


def _stored(column: str, values: pd.Series) -> np.ndarray:
    # FLOAT values are stored (and summarized) as float32, as tf.Example holds them.
    values = values.dropna().to_numpy()
    return values.astype(np.float32).astype(np.float64) if column in FLOATS else values


def test_counts_and_missing_match_pandas(whole_file_stats, taxi_frame):
    assert whole_file_stats["num_examples"] == TAXI_ROWS
    for column in taxi_frame.columns:
        feature = whole_file_stats["features"][column]
        missing = int(taxi_frame[column].isna().sum())
        assert feature["num_missing"] == missing, column
        assert feature["num_present"] == TAXI_ROWS - missing, column


@pytest.mark.parametrize("column", NUMERIC)
def test_numeric_statistics_match_pandas(whole_file_stats, taxi_frame, column):
    numeric = whole_file_stats["features"][column]["numeric"]
    values = _stored(column, taxi_frame[column])
    assert numeric["count"] == len(values)
    assert numeric["num_zeros"] == int((values == 0).sum())
    assert numeric["min"] == pytest.approx(values.min(), rel=1e-7)
    assert numeric["max"] == pytest.approx(values.max(), rel=1e-7)
    assert numeric["mean"] == pytest.approx(values.mean(), rel=1e-9)
    assert numeric["std"] == pytest.approx(values.std(ddof=0), rel=1e-7)
    # Deciles from a sketch with rank error <= 0.1%: each lies between the exact quantiles
    # 0.5% of the ranks below and above.
    for point, value in zip(numeric["quantile_points"], numeric["quantiles"], strict=True):
        low = np.quantile(values, max(point - 0.005, 0), method="lower")
        high = np.quantile(values, min(point + 0.005, 1), method="higher")
        assert low <= value <= high, (column, point)


def test_single_value_column(whole_file_stats, taxi_frame):
    # pickup_census_tract has one value in the whole file.
    feature = whole_file_stats["features"]["pickup_census_tract"]
    value = int(taxi_frame["pickup_census_tract"].dropna().iloc[0])
    assert feature["num_present"] == 1
    assert feature["numeric"]["min"] == feature["numeric"]["max"] == value
    assert feature["numeric"]["std"] == 0.0


@pytest.mark.parametrize("column", ["payment_type", "company"])
def test_string_statistics_match_pandas(whole_file_stats, taxi_frame, column):
    categorical = whole_file_stats["features"][column]["categorical"]
    counts = taxi_frame[column].value_counts()
    assert categorical["distinct"] == taxi_frame[column].nunique()
    assert categorical["distinct_is_exact"] and categorical["top_values_complete"]
    top = {item["value"]: item["count"] for item in categorical["top_values"]}
    assert top == counts.to_dict()
    assert [item["count"] for item in categorical["top_values"]] == sorted(
        counts.to_list(), reverse=True)
    lengths = taxi_frame[column].dropna().map(lambda s: len(s.encode()))
    assert categorical["avg_length"] == pytest.approx(lengths.mean())


@pytest.mark.parametrize("column", ["trip_start_hour", "trip_start_day",
                                    "dropoff_community_area"])
def test_integer_columns_also_get_value_counts(whole_file_stats, taxi_frame, column):
    categorical = whole_file_stats["features"][column]["categorical"]
    counts = taxi_frame[column].dropna().astype(np.int64).value_counts()
    assert categorical["distinct"] == len(counts)
    assert {int(item["value"]): item["count"] for item in categorical["top_values"]} == \
        counts.to_dict()


def test_split_statistics_add_up_to_the_whole(taxi_run, whole_file_stats):
    config, outcome = taxi_run
    per_split = artifacts.read_statistics(config.statistics_uri)
    assert {s: v["num_examples"] for s, v in per_split.items()} == dict(outcome.result.splits)
    for column, whole in whole_file_stats["features"].items():
        assert sum(per_split[s]["features"][column]["num_missing"] for s in per_split) == \
            whole["num_missing"]
        if "numeric" in whole:
            n = [per_split[s]["features"][column]["numeric"]["count"] for s in per_split]
            means = [per_split[s]["features"][column]["numeric"]["mean"] for s in per_split]
            pooled = sum(c * m for c, m in zip(n, means, strict=True) if c) / sum(n)
            assert math.isclose(pooled, whole["numeric"]["mean"], rel_tol=1e-9)


def test_html_page_lists_every_feature(taxi_run):
    config, _ = taxi_run
    stats = artifacts.read_statistics(config.statistics_uri)["train"]
    page = render_statistics(stats)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for column in stats["features"]:
        assert f">{column}<" in page
    assert "Credit Card" in page
    path = artifacts.split_dir(config.statistics_uri, "train") + "/stats.html"
    with open(path, encoding="utf-8") as f:
        assert "Numeric features" in f.read()
