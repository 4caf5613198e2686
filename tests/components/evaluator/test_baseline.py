"""Finding the baseline in TF Serving's layout, or at an explicit URI."""

import os

import pytest

from components.evaluator.baseline import Baseline, resolve_baseline_uri, resolve_served_model


def _saved_model(path) -> str:
    os.makedirs(path)
    open(os.path.join(path, "saved_model.pb"), "wb").close()
    return str(path)


def test_the_highest_integer_version_is_the_baseline(tmp_path):
    base = tmp_path / "taxi"
    for version in ("2", "10", "9"):
        _saved_model(base / version)
    os.makedirs(base / "_staging-11-ab12")  # the pusher's names, never versions
    os.makedirs(base / "latest")
    (base / "_pushes.jsonl").write_text("{}\n")
    (base / "12").write_text("a file, not a version")
    assert resolve_served_model(str(tmp_path), "taxi") == Baseline(str(base / "10"), 10)


def test_nothing_served_yet_is_no_baseline(tmp_path):
    assert resolve_served_model(str(tmp_path), "taxi") is None
    os.makedirs(tmp_path / "taxi" / "_staging-1-x")
    assert resolve_served_model(str(tmp_path), "taxi") is None


def test_a_broken_served_version_is_an_error(tmp_path):
    os.makedirs(tmp_path / "taxi" / "3")
    with pytest.raises(FileNotFoundError, match="holds no saved_model.pb"):
        resolve_served_model(str(tmp_path), "taxi")


def test_an_explicit_baseline_is_a_saved_model_an_artifact_or_a_versions_folder(tmp_path):
    direct = _saved_model(tmp_path / "direct")
    assert resolve_baseline_uri(direct) == Baseline(direct)
    nested = _saved_model(tmp_path / "artifact" / "serving_model")
    assert resolve_baseline_uri(str(tmp_path / "artifact")) == Baseline(nested)
    versioned = _saved_model(tmp_path / "versions" / "4")
    assert resolve_baseline_uri(str(tmp_path / "versions")) == Baseline(versioned, 4)
    with pytest.raises(FileNotFoundError, match="is not a SavedModel folder"):
        resolve_baseline_uri(str(tmp_path / "nothing"))
