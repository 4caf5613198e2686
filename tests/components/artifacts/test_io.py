"""File helpers: atomic writes, globbing, deleting trees, gzip reading."""

from __future__ import annotations

import gzip
import io as std_io
import os

from components.artifacts import io


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    path = str(tmp_path / "sub" / "a.json")
    io.write_json_atomic(path, {"a": 1})
    io.write_json_atomic(path, {"a": 2})  # replaces
    assert io.read_json(path) == {"a": 2}
    assert os.listdir(tmp_path / "sub") == ["a.json"]
    assert io.temp_name(path).startswith(str(tmp_path / "sub" / ".a.json.tmp-"))


def test_match_is_sorted_and_empty_when_nothing_matches(tmp_path):
    for name in ("b.csv", "a.csv", "c.txt"):
        (tmp_path / name).write_text("x")
    assert io.match(str(tmp_path / "*.csv")) == [str(tmp_path / "a.csv"),
                                                 str(tmp_path / "b.csv")]
    assert io.match(str(tmp_path / "*.parquet")) == []


def test_delete_trees_and_missing_paths(tmp_path):
    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "e" / "f").write_text("x")
    io.delete([str(tmp_path / "d"), str(tmp_path / "missing")])
    assert os.listdir(tmp_path) == []


def test_open_for_read_gzip_is_a_regular_stream(tmp_path):
    path = tmp_path / "a.txt.gz"
    with gzip.open(path, "wt") as f:
        f.write("one\ntwo\n")
    with std_io.TextIOWrapper(io.open_for_read(str(path))) as text:
        assert text.read().splitlines() == ["one", "two"]
    with io.open_for_read(str(path), compressed=False) as raw:
        assert raw.read(2) == b"\x1f\x8b"
    assert io.is_local(str(path)) and not io.is_local("gs://bucket/a")
