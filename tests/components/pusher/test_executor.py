"""run(): every outcome on real SavedModels, with the fresh-process infra validation."""

import json
import os
import shutil

import pytest

from components.artifacts import serving
from components.artifacts.push import PushOutcome, read_push_record
from components.pusher import PusherConfig
from components.pusher.executor import resolve_serving_model, run
from components.pusher.history import read_history
from components.pusher.rollback import rollback
from tests.components.pusher.conftest import make_blessing, make_model_artifact


def _config(tmp_path, model_uri, blessing_uri, examples_uri=None, **kwargs):
    if examples_uri is None:
        kwargs.setdefault("infra_validation", False)
    return PusherConfig(model_uri=model_uri, blessing_uri=blessing_uri,
                        examples_uri=examples_uri, serving_base_uri=str(tmp_path / "serving"),
                        model_name="taxi", pushed_model_uri=str(tmp_path / "pushed"), **kwargs)


def _versions(tmp_path):
    return serving.list_versions(str(tmp_path / "serving" / "taxi"))


def test_a_blessed_model_is_validated_and_pushed_once(model_uri, examples_uri, tmp_path):
    config = _config(tmp_path, model_uri, make_blessing(tmp_path, True), examples_uri)
    record = run(config)
    assert record.outcome is PushOutcome.PUSHED and record.pushed
    assert record.version == 1 and record.reason == "Published as version 1."
    base = tmp_path / "serving" / "taxi"
    assert record.destination == str(base / "1")
    assert sorted(os.listdir(base)) == ["1", "_pushes.jsonl"]  # no staging folder left
    assert os.path.exists(base / "1" / "saved_model.pb")
    validation = record.infra_validation
    assert validation["passed"] and validation["num_examples"] == 16
    assert validation["signatures"]["classification"]["outputs"] == {"classes": [16, 2],
                                                                     "scores": [16, 2]}
    assert validation["signatures"]["serving_default"]["method"] == "tensorflow/serving/predict"
    assert record.metrics == {"auc": 0.81, "accuracy": 0.74}
    assert record.trainer_result == {"final_step": 10, "metrics": {"loss": 0.5}}
    assert read_push_record(config.pushed_model_uri) == record
    with open(os.path.join(config.pushed_model_uri, "push_record.json")) as f:
        written = json.load(f)
    assert written["pushed"] is True and written["fingerprint"].startswith("sha256:")
    assert written["started_at"] <= written["finished_at"]
    (entry,) = read_history(str(base))
    assert (entry.event, entry.version, entry.model_uri) == ("push", 1, model_uri)

    again = run(config)  # the same content: no new version, no second validation
    assert again.outcome is PushOutcome.ALREADY_PUSHED and not again.pushed
    assert again.version == 1 and again.infra_validation is None
    assert "is already version 1, the latest: nothing to do" in again.reason
    assert _versions(tmp_path) == [1] and len(read_history(str(base))) == 1


def test_not_blessed_is_an_outcome(model_uri, tmp_path):
    blessing = make_blessing(tmp_path, False, reasons=["auc 0.61 < 0.70", "loss rose 12%"],
                             metrics={"auc": 0.61})
    record = run(_config(tmp_path, model_uri, blessing))
    assert record.outcome is PushOutcome.NOT_BLESSED and not record.pushed
    assert record.reason == "Not blessed by the evaluator: auc 0.61 < 0.70; loss rose 12%."
    assert record.blessing_reasons == ("auc 0.61 < 0.70", "loss rose 12%")
    assert record.metrics == {"auc": 0.61} and record.version is None
    assert not os.path.exists(tmp_path / "serving")
    assert read_push_record(str(tmp_path / "pushed")).outcome is PushOutcome.NOT_BLESSED


def test_a_corrupt_saved_model_is_refused(exports, examples_uri, tmp_path):
    model_uri = make_model_artifact(tmp_path, exports["good"])
    with open(os.path.join(model_uri, "serving_model", "saved_model.pb"), "wb") as f:
        f.write(b"\x08\x01 this is not a SavedModel proto")
    record = run(_config(tmp_path, model_uri, make_blessing(tmp_path, True), examples_uri))
    assert record.outcome is PushOutcome.INFRA_VALIDATION_FAILED and not record.pushed
    assert record.reason.startswith("Refused by the infra validation: the SavedModel does "
                                    "not load: ")
    assert record.infra_validation["passed"] is False
    assert not os.path.exists(tmp_path / "serving" / "taxi")


def test_a_model_whose_signatures_raise_is_refused(exports, examples_uri, tmp_path):
    # Training/serving skew: the serving input requires a feature `y` the raw data lacks.
    model_uri = make_model_artifact(tmp_path, exports["needs_y"])
    record = run(_config(tmp_path, model_uri, make_blessing(tmp_path, True), examples_uri))
    assert record.outcome is PushOutcome.INFRA_VALIDATION_FAILED
    assert "signature 'serving_default': it raised InvalidArgumentError" in record.reason
    assert "Feature: y (data type: float) is required but could not be found" in record.reason
    assert set(record.infra_validation["signatures"]) == {"serving_default", "classification",
                                                          "regression"}
    assert _versions(tmp_path) == []


def test_keeps_the_newest_versions(exports, tmp_path):
    blessing = make_blessing(tmp_path, True)
    for number, tag in enumerate("abcd", 1):
        model_uri = make_model_artifact(tmp_path, exports["good"], tag=tag)
        record = run(_config(tmp_path, model_uri, blessing, keep_versions=2))
        assert record.version == number
    assert record.pruned_versions == (2,)
    assert _versions(tmp_path) == [3, 4]
    history = read_history(str(tmp_path / "serving" / "taxi"))
    assert [(e.version, e.pruned) for e in history] == [(1, ()), (2, ()), (3, (1,)), (4, (2,))]


def test_rollbacks_survive_pushes_and_pruning(exports, tmp_path):
    blessing = make_blessing(tmp_path, True)
    models = {tag: make_model_artifact(tmp_path, exports["good"], tag=tag) for tag in "abc"}
    run(_config(tmp_path, models["a"], blessing, keep_versions=2))
    run(_config(tmp_path, models["b"], blessing, keep_versions=2))
    assert rollback(str(tmp_path / "serving"), "taxi").version == 3  # serves a again

    # b was rolled back from: a re-run of its pipeline does not silently undo the rollback.
    again = run(_config(tmp_path, models["b"], blessing, keep_versions=2))
    assert again.outcome is PushOutcome.ALREADY_PUSHED and again.version == 2
    assert "but the latest is 3" in again.reason and "--to 2" in again.reason

    record = run(_config(tmp_path, models["c"], blessing, keep_versions=2))
    assert record.version == 4 and record.pruned_versions == (2,)
    assert _versions(tmp_path) == [1, 3, 4]  # 1 stays: the kept rollback 3 refers to it


def test_no_blessing_needed_when_switched_off(model_uri, tmp_path):
    record = run(_config(tmp_path, model_uri, None, require_blessing=False))
    assert record.pushed and record.blessing_uri is None
    assert record.metrics == {"loss": 0.5}  # the trainer's, for want of the evaluator's


def test_missing_inputs_are_errors(exports, tmp_path):
    model_uri = make_model_artifact(tmp_path, exports["good"])
    with pytest.raises(FileNotFoundError, match="No blessing.json in the blessing artifact"):
        run(_config(tmp_path, model_uri, str(tmp_path / "no_blessing")))
    with pytest.raises(FileNotFoundError, match="No serving SavedModel in the model artifact"):
        run(_config(tmp_path, str(tmp_path / "no_model"), make_blessing(tmp_path, True)))
    with pytest.raises(FileNotFoundError, match="No example shards for split 'test'"):
        run(_config(tmp_path, model_uri, str(tmp_path / "blessing"), str(tmp_path),
                    infra_validation_split="test"))
    with pytest.raises(TypeError, match="`config` must be a PusherConfig"):
        run({"model_uri": model_uri})
    assert not os.path.exists(tmp_path / "serving") and not os.path.exists(tmp_path / "pushed")


def test_an_export_folder_and_no_trainer_result_are_accepted(exports, tmp_path):
    model_uri = tmp_path / "model"
    shutil.copytree(exports["good"], model_uri / "serving_model" / "1700000000")
    assert resolve_serving_model(str(model_uri)).endswith("serving_model/1700000000")
    record = run(_config(tmp_path, str(model_uri), make_blessing(tmp_path, True)))
    assert record.pushed and record.trainer_result is None
