"""The blessing artifact: written by the evaluator, read by the pusher; clear errors for a
missing or bad file."""

import json

import pytest

from components.artifacts.blessing import Blessing, read_blessing, write_blessing
from tests.components.pusher.conftest import make_blessing


def test_reads_a_blessing(tmp_path):
    uri = make_blessing(tmp_path, False, reasons=["auc 0.61 < 0.7"], metrics={"auc": 0.61})
    assert read_blessing(uri) == Blessing(False, ("auc 0.61 < 0.7",), {"auc": 0.61})


def test_reasons_and_metrics_are_optional(tmp_path):
    (tmp_path / "blessing.json").write_text('{"blessed": true}')
    assert read_blessing(str(tmp_path)) == Blessing(True)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No blessing.json in the blessing artifact"):
        read_blessing(str(tmp_path))


@pytest.mark.parametrize("content, match", [
    ("not json", "is not JSON"),
    ("[true]", "must hold a JSON object"),
    (json.dumps({"blessed": "yes"}), "`blessed` must be true or false, got 'yes'"),
    (json.dumps({"reasons": []}), "`blessed` must be true or false, got None"),
    (json.dumps({"blessed": False, "reasons": "bad auc"}), "`reasons` must be a list"),
    (json.dumps({"blessed": True, "metrics": [1]}), "`metrics` must be an object"),
])
def test_malformed_file(tmp_path, content, match):
    (tmp_path / "blessing.json").write_text(content)
    with pytest.raises(ValueError, match=match):
        read_blessing(str(tmp_path))


def test_what_is_written_is_read_back_without_undefined_metrics(tmp_path):
    uri = str(tmp_path / "blessing")
    written = write_blessing(uri, Blessing(True, ("PASSED auc: 0.94 >= 0.7.",),
                                           {"auc": 0.94, "undefined": float("nan"),
                                            "missing": None}))
    assert written == f"{uri}/blessing.json"
    assert read_blessing(uri) == Blessing(True, ("PASSED auc: 0.94 >= 0.7.",), {"auc": 0.94})
