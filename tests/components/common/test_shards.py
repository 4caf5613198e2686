"""Sharded writes: counted per key, published under final names, empty keys get a file."""

from __future__ import annotations

import json
import os

import apache_beam as beam
import pytest
import tensorflow as tf

from components.common.runner import create_pipeline
from components.common.shards import (
    CountMismatchError,
    ShardFile,
    ShardFormat,
    WriteShards,
    publish_shards,
    read_manifest,
)


def test_write_then_publish(tmp_path):
    staging, manifest = str(tmp_path / "staging"), str(tmp_path / "manifest.json")
    batches = [("train", [b"a", b"b"]), ("eval", [b"c"]), ("train", [b"d"]), ("train", [])]
    with create_pipeline() as pipeline:
        _ = (pipeline | beam.Create(batches)
             | WriteShards(staging, ShardFormat.TFRECORD_GZIP, manifest))
    files = read_manifest(manifest)
    assert sorted((f.key, f.num_records) for f in files) == [("eval", 1), ("train", 3)]
    published = publish_shards(
        files, {"train": str(tmp_path / "Split-train"), "eval": str(tmp_path / "Split-eval"),
                "test": str(tmp_path / "Split-test")},
        expected={"train": 3, "eval": 1, "test": 0}, prefix="data",
        shard_format=ShardFormat.TFRECORD_GZIP)
    assert [os.path.basename(p) for p in published["train"]] == [
        "data-00000-of-00001.tfrecord.gz"]
    read = {key: sorted(r.numpy() for path in paths
                        for r in tf.data.TFRecordDataset(path, compression_type="GZIP"))
            for key, paths in published.items()}
    assert read == {"train": [b"a", b"b", b"d"], "eval": [b"c"], "test": []}


def test_json_lines(tmp_path):
    manifest = str(tmp_path / "m.json")
    with create_pipeline() as pipeline:
        _ = (pipeline | beam.Create([("q", ['{"a": 1}', '{"a": 2}'])])
             | WriteShards(str(tmp_path / "s"), ShardFormat.JSON_LINES, manifest))
    [path] = publish_shards(read_manifest(manifest), {"q": str(tmp_path / "q")},
                            expected={"q": 2}, prefix="rows",
                            shard_format=ShardFormat.JSON_LINES)["q"]
    assert path.endswith("rows-00000-of-00001.jsonl")
    with open(path) as f:
        assert [json.loads(line) for line in f] == [{"a": 1}, {"a": 2}]


def test_a_count_mismatch_is_refused(tmp_path):
    staged = tmp_path / "x.tfrecord.gz"
    staged.write_bytes(b"")
    with pytest.raises(CountMismatchError, match=r"5 records were written for 'train', but "
                                                 r"the step before the write produced 6"):
        publish_shards([ShardFile("train", str(staged), 5)], {"train": str(tmp_path / "t")},
                       expected={"train": 6}, prefix="data",
                       shard_format=ShardFormat.TFRECORD_GZIP)
    with pytest.raises(CountMismatchError, match=r"not one of the expected keys"):
        publish_shards([ShardFile("other", str(staged), 0)], {"train": str(tmp_path / "t")},
                       expected={"train": 0}, prefix="data",
                       shard_format=ShardFormat.TFRECORD_GZIP)
    with pytest.raises(CountMismatchError, match=r"was not written: the write step never ran"):
        read_manifest(str(tmp_path / "missing.json"))
