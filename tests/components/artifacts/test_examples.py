"""The examples and schema artifacts' layouts, and the public surface of the artifact
package and of components.common."""

from __future__ import annotations

import pytest

import components.common as common
from components import artifacts
from components.artifacts import (
    FeatureType,
    IngestResult,
    blessing,
    evaluation,
    examples,
    model,
    push,
    schema,
    serving,
)


def test_every_name_in_all_resolves():
    for module in (common, artifacts, artifacts.io, common.shards, common.runner, common.tfrecord,
                   blessing, evaluation, examples, model, push, schema, serving):
        assert [n for n in module.__all__ if not hasattr(module, n)] == []


def test_layout_names():
    assert artifacts.split_dir("/a", "train") == "/a/Split-train"
    assert artifacts.shard_name("data", 1, 12, ".tfrecord.gz") == "data-00001-of-00012.tfrecord.gz"
    assert artifacts.examples_file_pattern("gs://b/x", "eval") == (
        "gs://b/x/Split-eval/data-*-of-*.tfrecord.gz")
    assert artifacts.statistics_path("/s", "eval") == "/s/Split-eval/stats.json"


def test_ingest_result_round_trip_and_absence(tmp_path):
    result = IngestResult(span=3, splits={"train": 8, "eval": 2}, bad_rows=1, source="/d/*",
                          columns={"a": FeatureType.INT, "b": FeatureType.BYTES}, spans=(3,),
                          rows_read=11, files=("/d/a",), label_column="a")
    assert IngestResult.from_json(result.to_json()) == result
    assert result.to_json()["columns"] == {"a": "INT", "b": "BYTES"}
    with pytest.raises(FileNotFoundError, match=r"incomplete"):
        artifacts.read_ingest_result(str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"No example shards for split 'train'"):
        artifacts.examples_files(str(tmp_path), "train")


def test_schema_reading_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No schema at"):
        artifacts.read_schema(str(tmp_path))
    (tmp_path / "schema.pbtxt").write_text("feature { nme: 'x' }")
    with pytest.raises(ValueError, match="is not a tensorflow_metadata Schema text proto"):
        artifacts.read_schema(str(tmp_path))
    with pytest.raises(ValueError, match="STRUCT"):
        FeatureType.from_schema(4)
