"""End-to-end: the test spec over 4,000 taxi rows (real Beam + tf.Transform), checked
against pandas on the same rows."""

import json
import os

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from components import artifacts
from components.artifacts import io, transform_graph
from components.transform.counts import SplitCounts
from components.transform.executor import (
    TransformConfig,
    _check_against_ingest,
    _clear_outputs,
    count_records,
    run,
)
from components.transform.spec import SpecError
from tests.components.transform.conftest import TEST_SPEC


def _f32(series: pd.Series) -> np.ndarray:
    """Values as the tf.Example stores them (float32), widened back to float64."""
    return series.to_numpy(dtype=np.float64).astype(np.float32).astype(np.float64)


def _hash(strings, num_buckets: int) -> np.ndarray:
    return tf.strings.to_hash_bucket_fast(list(strings), num_buckets).numpy()


def _read_lines(path: str) -> list[str]:
    with tf.io.gfile.GFile(path) as f:
        return f.read().splitlines()


def _vocabulary_order(values: pd.Series) -> list[str]:
    """tf.Transform's order: most frequent first, ties by the token in descending order."""
    counts = values[values != ""].value_counts()
    return [token for token, _ in sorted(counts.items(), key=lambda kv: (-kv[1], _desc(kv[0])))]


def _desc(token: str):
    return tuple(-b for b in token.encode()) + (1,)


@pytest.fixture(scope="module")
def raw(spec_run):
    return spec_run.inputs.train, spec_run.inputs.eval


def test_counts_and_result_file(spec_run, raw):
    train, eval_ = raw
    result = spec_run.result
    assert dict(result.rows) == {"train": len(train), "eval": len(eval_)}
    assert result.analyzed_rows == len(train)
    assert result.runner == "FnApiRunner"
    for split, frame in (("train", train), ("eval", eval_)):
        assert count_records(spec_run.split_files(split)) == len(frame)
    with open(os.path.join(spec_run.config.transformed_examples_uri, transform_graph.RESULT_FILE)) as f:
        written = json.load(f)
    assert written["splits"] == {"train": {"rows": len(train), "files": result.files["train"]},
                                 "eval": {"rows": len(eval_), "files": result.files["eval"]}}
    assert written["analyze_splits"] == ["train"] and written["label_key"] == "big_tipper"


def test_output_layout(spec_run):
    graph = spec_run.config.transform_graph_uri
    for name in ("transform_fn/saved_model.pb", "transformed_metadata/schema.pbtxt",
                 "metadata/schema.pbtxt", transform_graph.FEATURE_COLUMNS_FILE,
                 transform_graph.TRANSFORMED_FEATURE_SPEC_FILE, transform_graph.SPEC_COPY_FILE):
        assert os.path.exists(os.path.join(graph, name)), name
    assert not os.path.exists(os.path.join(graph, transform_graph.TEMP_DIR))
    assert all(f.endswith(".tfrecord.gz") for f in spec_run.split_files("train"))
    # The graph reads only the columns the spec uses, and says so in its raw metadata.
    raw_spec = spec_run.tft_output.raw_feature_spec()
    assert "pickup_census_tract" not in raw_spec and "tips" in raw_spec
    assert isinstance(raw_spec["dropoff_latitude"], tf.io.VarLenFeature)


def test_z_score_has_mean_0_and_std_1_on_train_and_train_stats_on_eval(spec_run, raw):
    train, eval_ = raw
    z = spec_run.train["trip_miles"].to_numpy(np.float64)
    assert abs(z.mean()) < 1e-4
    assert abs(z.std() - 1) < 1e-4
    mean, std = _f32(train["trip_miles"]).mean(), _f32(train["trip_miles"]).std()
    np.testing.assert_allclose(spec_run.eval["trip_miles"], (_f32(eval_["trip_miles"]) - mean) / std,
                               rtol=1e-4, atol=1e-4)


def test_min_max_scales_train_to_the_output_range(spec_run, raw):
    train, _ = raw
    scaled = spec_run.train["fare_scaled"]
    assert scaled.min() == pytest.approx(-1) and scaled.max() == pytest.approx(1)
    seconds = train["trip_seconds"].fillna(0).to_numpy(np.float64)  # int column, default fill 0
    expected = (seconds - seconds.min()) / (seconds.max() - seconds.min())
    np.testing.assert_allclose(spec_run.train["trip_seconds"], expected, atol=1e-6)


def test_bucketize_boundaries_are_train_quantiles(spec_run, raw):
    train, eval_ = raw
    fare = _f32(train["fare"])
    buckets = spec_run.train["fare_bucket"].to_numpy()
    assert set(buckets) == {0, 1, 2, 3}
    order = np.argsort(fare, kind="stable")
    assert np.all(np.diff(buckets[order]) >= 0), "buckets must grow with the value"
    for k in (1, 2, 3):
        boundary = fare[buckets == k].min()
        below, at_or_below = np.mean(fare < boundary), np.mean(fare <= boundary)
        assert below - 0.02 <= k / 4 <= at_or_below + 0.02, (k, boundary, below, at_or_below)
    # Eval rows use the boundaries analyzed on train: a fare seen in train gets its bucket.
    bucket_of = dict(zip(fare, buckets, strict=True))
    eval_fare = _f32(eval_["fare"])
    seen = np.array([f in bucket_of for f in eval_fare])
    assert seen.mean() > 0.9
    np.testing.assert_array_equal(spec_run.eval["fare_bucket"].to_numpy()[seen],
                                  [bucket_of[f] for f in eval_fare[seen]])


def test_vocabulary_ids_follow_the_written_file_in_frequency_order(spec_run, raw):
    train, eval_ = raw
    tft_output = spec_run.tft_output
    vocabulary = _read_lines(tft_output.vocabulary_file_by_name("payment_type"))
    assert vocabulary == _vocabulary_order(train["payment_type"])
    for frame, transformed in ((train, spec_run.train), (eval_, spec_run.eval)):
        seen = frame["payment_type"].isin(vocabulary).to_numpy()
        expected = [vocabulary.index(v) for v in frame["payment_type"][seen]]
        np.testing.assert_array_equal(transformed["payment_type"].to_numpy()[seen], expected)


def test_vocabulary_top_k_and_oov_buckets(spec_run, raw):
    train, _ = raw
    company = train["company"].fillna("(missing)")  # the spec's fill for `company`
    vocabulary = _read_lines(spec_run.tft_output.vocabulary_file_by_name("company"))
    assert vocabulary == _vocabulary_order(company)[:5]
    assert "(missing)" in vocabulary  # fill values are counted like any other value
    ids = spec_run.train["company"].to_numpy()
    in_vocabulary = company.isin(vocabulary).to_numpy()
    np.testing.assert_array_equal(ids[in_vocabulary],
                                  [vocabulary.index(v) for v in company[in_vocabulary]])
    # Values outside the top 5 hash into the 2 OOV ids after the vocabulary's.
    oov = company[~in_vocabulary]
    assert len(oov) > 0
    np.testing.assert_array_equal(ids[~in_vocabulary], 5 + _hash(oov, 2))


def test_vocabulary_frequency_threshold(spec_run, raw):
    train, _ = raw
    company = train["company"].fillna("(missing)")
    vocabulary = _read_lines(spec_run.tft_output.vocabulary_file_by_name("company_frequent"))
    counts = company.value_counts()
    assert vocabulary == [t for t in _vocabulary_order(company) if counts[t] >= 20]
    assert spec_run.train["company_frequent"].max() == len(vocabulary)  # the single OOV id


def test_hash_buckets(spec_run, raw):
    train, _ = raw
    ids = spec_run.train["payment_hash"].to_numpy()
    assert ids.min() >= 0 and ids.max() < 16
    np.testing.assert_array_equal(ids, _hash(train["payment_type"], 16))


def test_crosses_hash_the_joined_values(spec_run, raw):
    train, _ = raw
    joined = train["trip_start_day"].astype(str) + "_X_" + train["trip_start_month"].astype(str)
    np.testing.assert_array_equal(spec_run.train["day_x_month"], _hash(joined, 50))
    # `fare_bucket` and `payment_type` are features of the spec, so the cross reads their
    # transformed ids (features shadow raw columns).
    t = spec_run.train
    joined = t["fare_bucket"].astype(str) + "_X_" + t["payment_type"].astype(str)
    np.testing.assert_array_equal(t["fare_bucket_x_payment"], _hash(joined, 20))


def test_identity_maps_out_of_range_to_default(spec_run, raw):
    train, _ = raw
    hour = train["trip_start_hour"].to_numpy()
    np.testing.assert_array_equal(spec_run.train["trip_start_hour"], np.where(hour < 12, hour, 11))


def test_missing_values_are_filled(spec_run, raw):
    train, _ = raw
    t = spec_run.train
    missing = train["dropoff_latitude"].isna().to_numpy()
    assert missing.sum() > 10
    present_mean = _f32(train["dropoff_latitude"].dropna()).mean()
    np.testing.assert_allclose(t["dropoff_latitude_filled"][missing], present_mean, rtol=1e-6)
    np.testing.assert_allclose(t["dropoff_latitude_filled"][~missing],
                               _f32(train["dropoff_latitude"][~missing]), rtol=1e-7)
    company = [v.decode() for v in t["company_filled"]]
    assert company == list(train["company"].fillna("(missing)"))
    # No fill given for an int column: 0.
    np.testing.assert_array_equal(t["dropoff_community_area"],
                                  train["dropoff_community_area"].fillna(0).astype(np.int64))


def test_label_and_expressions_match_pandas(spec_run, raw):
    for frame, transformed in zip(raw, (spec_run.train, spec_run.eval), strict=True):
        tips, fare, miles = _f32(frame["tips"]), _f32(frame["fare"]), _f32(frame["trip_miles"])
        np.testing.assert_array_equal(transformed["big_tipper"], (tips > 0.2 * fare).astype(int))
        long_cash = (frame["payment_type"] == "Cash").to_numpy() & ~(miles < 5)
        np.testing.assert_array_equal(transformed["long_cash_trip"], long_cash.astype(int))
        per_mile = np.divide(fare, miles, out=np.zeros_like(fare), where=miles != 0)
        np.testing.assert_allclose(transformed["fare_per_mile"], per_mile, rtol=1e-6)
    assert 0.2 < spec_run.train["big_tipper"].mean() < 0.6


def test_transformed_feature_spec_json(spec_run):
    path = os.path.join(spec_run.config.transform_graph_uri, transform_graph.TRANSFORMED_FEATURE_SPEC_FILE)
    with open(path) as f:
        written = json.load(f)
    spec = spec_run.tft_output.transformed_feature_spec()
    assert set(written) == set(spec)
    assert written["trip_miles"] == {"type": "FixedLenFeature", "shape": [], "dtype": "float32"}
    assert written["company"] == {"type": "FixedLenFeature", "shape": [], "dtype": "int64"}


def test_feature_columns_json_describes_features_for_the_trainer(spec_run):
    path = os.path.join(spec_run.config.transform_graph_uri, transform_graph.FEATURE_COLUMNS_FILE)
    with open(path) as f:
        described = json.load(f)
    features = described["features"]
    assert described["label_key"] == "big_tipper"
    assert list(features)[:3] == ["trip_miles", "fare_scaled", "trip_seconds"]  # spec order
    assert features["trip_miles"]["kind"] == "numeric"
    assert features["company"] == {
        "kind": "categorical_identity", "dtype": "int64", "shape": [], "num_buckets": 7,
        "transform": "vocabulary", "source": "company", "vocabulary_file":
        "transform_fn/assets/company", "vocabulary_size": 5, "num_oov_buckets": 2}
    assert features["fare_bucket"]["num_buckets"] == 4
    assert features["payment_hash"]["num_buckets"] == 16
    assert features["day_x_month"]["inputs"] == ["trip_start_day", "trip_start_month"]
    assert features["trip_start_hour"]["num_buckets"] == 12
    assert features["long_cash_trip"]["num_buckets"] == 2
    assert features["fare_per_mile"]["kind"] == "numeric"
    assert features["company_filled"]["kind"] == "string"
    assert features["big_tipper"] == {"kind": "label", "dtype": "int64", "shape": [],
                                      "num_classes": 2, "transform": "expression",
                                      "expression": "tips > 0.2 * fare"}
    # Every categorical id in the data is below its num_buckets.
    for name, entry in features.items():
        if entry["kind"] == "categorical_identity":
            ids = spec_run.train[name]
            assert ids.min() >= 0 and ids.max() < entry["num_buckets"], name
    assert "tips" not in described["serving_raw_columns"]
    assert "fare" in described["serving_raw_columns"]


def test_clearing_outputs_removes_only_what_the_step_writes(tmp_path):
    config = TransformConfig(examples_uri=str(tmp_path / "in"), schema_uri=str(tmp_path / "s"),
                             transformed_examples_uri=str(tmp_path / "examples"),
                             transform_graph_uri=str(tmp_path / "graph"), spec_file=TEST_SPEC)
    owned = [transform_graph.split_dir(config.transformed_examples_uri, "eval") + "/old.tfrecord.gz",
             os.path.join(config.transformed_examples_uri, transform_graph.RESULT_FILE),
             os.path.join(config.transform_graph_uri, "transform_fn", "saved_model.pb"),
             os.path.join(config.transform_graph_uri, transform_graph.FEATURE_COLUMNS_FILE)]
    kept = [transform_graph.split_dir(config.transformed_examples_uri, "train") + "/other.tfrecord.gz",
            os.path.join(config.transform_graph_uri, "notes.txt")]
    for path in owned + kept:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").close()
    _clear_outputs(config, ["eval"])
    assert [os.path.exists(p) for p in owned] == [False] * len(owned)
    assert [os.path.exists(p) for p in kept] == [True] * len(kept)


@pytest.mark.slow
def test_a_rerun_into_the_same_uris_replaces_stale_shards(spec_run, raw, tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text("features:\n  - {name: fare, transform: z_score}\n")
    config = spec_run.config.replace(
        spec_file=str(spec), analyze_splits=["eval"], transform_splits=["eval"],
        transformed_examples_uri=str(tmp_path / "examples"),
        transform_graph_uri=str(tmp_path / "graph"))
    stale = os.path.join(transform_graph.split_dir(config.transformed_examples_uri, "eval"),
                         "data-00000-of-00009.tfrecord.gz")
    os.makedirs(os.path.dirname(stale))
    with open(stale, "w") as f:
        f.write("stale")
    result = run(config)
    assert not os.path.exists(stale)
    assert dict(result.rows) == {"eval": len(raw[1])}
    files = tf.io.gfile.glob(transform_graph.transformed_split_pattern(config.transformed_examples_uri,
                                                             "eval"))
    assert count_records(files) == len(raw[1])


def test_a_spec_that_does_not_fit_the_schema_fails_before_beam(spec_run, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("features:\n  - {name: farez, transform: z_score}\n"
                   "  - {name: company, transform: z_score}\n")
    config = spec_run.config.replace(spec_file=str(bad),
                                     transform_graph_uri=str(tmp_path / "graph"),
                                     transformed_examples_uri=str(tmp_path / "examples"))
    with pytest.raises(SpecError, match=r"(?s)bad\.yaml.*'farez'.*did you mean 'fare'.*"
                                        r"'company'.*needs a float/int column"):
        run(config)
    assert not os.path.exists(tmp_path / "graph")


@pytest.mark.parametrize("field, value, error", [
    ("analyze_splits", ["test"], "`analyze_splits` names \\['test'\\]"),
    ("transform_splits", ["train", "holdout"], "`transform_splits` names \\['holdout'\\]"),
])
def test_unknown_splits_are_named(spec_run, tmp_path, field, value, error):
    config = spec_run.config.replace(**{field: value}, transform_graph_uri=str(tmp_path / "g"),
                                     transformed_examples_uri=str(tmp_path / "e"))
    with pytest.raises(FileNotFoundError, match=error + r".*\['eval', 'train'\]"):
        run(config)


def test_rows_are_checked_against_the_ingest_record(spec_run, tmp_path):
    examples_uri = spec_run.config.examples_uri
    assert io.exists(os.path.join(examples_uri, artifacts.INGEST_RESULT_FILE))  # spec_run passed
    n_train, n_eval = len(spec_run.inputs.train), len(spec_run.inputs.eval)
    _check_against_ingest(examples_uri, {"train": SplitCounts(n_train, n_train, n_train)})
    with pytest.raises(RuntimeError, match=f"split 'eval': read 7 rows, but ingest_result.json "
                                           f"says {n_eval}"):
        _check_against_ingest(examples_uri, {"eval": SplitCounts(7, 7, 7)})
    _check_against_ingest(str(tmp_path), {"eval": SplitCounts(7, 7, 7)})  # no record: no check


def test_missing_schema_is_a_clear_error(spec_run, tmp_path):
    config = TransformConfig(examples_uri=spec_run.config.examples_uri,
                             schema_uri=str(tmp_path), spec_file=TEST_SPEC,
                             transformed_examples_uri=str(tmp_path / "e"),
                             transform_graph_uri=str(tmp_path / "g"))
    with pytest.raises(FileNotFoundError, match="No schema at .*schema.pbtxt"):
        run(config)
