"""The checks on a model's answers, the sample loading, and the fresh process's time limit.

Whole models are validated through the executor (test_executor.py), which runs the fresh
process on a good, a corrupt and a skewed SavedModel.
"""

import json
import os
import shutil

import numpy as np
import pytest

from components.pusher import infra_validation
from components.pusher._serving_check import PRELOAD_NICENESS, check_outputs
from components.pusher.infra_validation import (
    load_samples,
    preload_model,
    standby_check_process,
    validate_model,
)
from tests.estimator_lib import toy


def test_good_outputs_have_no_problem():
    outputs = {"scores": np.full((4, 2), 0.5, np.float32),
               "classes": np.array([[b"0", b"1"]] * 4)}
    assert check_outputs(outputs, 4, "tensorflow/serving/classify") == []
    assert check_outputs({"outputs": np.zeros(4)}, 4, "tensorflow/serving/regress") == []


def test_non_finite_values_and_wrong_row_counts():
    outputs = {"logits": np.array([[0.0], [np.nan], [np.inf]]), "ids": np.zeros((2, 1), int),
               "scalar": np.float32(1.0)}
    assert check_outputs(outputs, 3) == [
        "output 'ids' has shape [2, 1]; expected one row per example (3)",
        "output 'logits' has 2 non-finite value(s) (NaN or inf)",
        "output 'scalar' has shape []; expected one row per example (3)",
    ]


def test_classify_and_regress_need_tf_servings_output_names():
    assert check_outputs({"probabilities": np.zeros((2, 1))}, 2, "tensorflow/serving/classify") \
        == ["a classify signature must return 'classes' and/or 'scores', got ['probabilities']"]
    assert check_outputs({"value": np.zeros(2)}, 2, "tensorflow/serving/regress") == [
        "a regress signature must return exactly 'outputs', got ['value']"]
    assert check_outputs({}, 2) == ["it returns no output"]


def test_load_samples(examples_uri):
    samples = load_samples(examples_uri, split="eval", num_examples=5)
    assert samples == toy.serialized_examples(5)
    assert len(load_samples(examples_uri, split="train", num_examples=100)) == 40
    with pytest.raises(FileNotFoundError, match="No example shards for split 'test'"):
        load_samples(examples_uri, split="test", num_examples=16)


def test_a_model_slower_than_the_time_limit_is_refused(exports):
    result = validate_model(exports["good"], toy.serialized_examples(2), timeout_seconds=0.05)
    assert not result.passed
    assert result.reason == ("the model did not load and answer within 0.05 s "
                             "(`infra_validation_timeout_seconds`)")
    assert result.to_json()["passed"] is False


def test_a_standby_process_answers_as_a_fresh_one(exports):
    with standby_check_process():
        standby = infra_validation._standby
        good = validate_model(exports["good"], toy.serialized_examples(3), timeout_seconds=300)
        assert standby.returncode == 0  # it took the request and ended
        assert infra_validation._standby is None
        broken = validate_model(exports["needs_y"], toy.serialized_examples(3), timeout_seconds=300)  # a new one
    assert good.passed and good.reason is None
    assert set(good.signatures) >= {"serving_default"}
    assert not broken.passed and "signature 'serving_default'" in broken.reason


def test_a_standby_that_died_is_replaced_and_one_left_unused_is_stopped(exports):
    with standby_check_process():
        infra_validation._standby.kill()
        infra_validation._standby.wait()
        assert validate_model(exports["good"], toy.serialized_examples(2), timeout_seconds=300).passed
    with standby_check_process():
        unused = infra_validation._standby
    assert unused.returncode is not None and infra_validation._standby is None


def _preload_done() -> dict:
    """The standby's line saying its preload ended (it waits for the load)."""
    return json.loads(infra_validation._standby.stdout.readline())


def test_a_preloaded_model_is_validated_as_loaded_then(exports, tmp_path):
    model_dir = str(tmp_path / "serving_model")
    shutil.copytree(exports["good"], model_dir)
    fresh = validate_model(model_dir, toy.serialized_examples(3), timeout_seconds=300)
    with standby_check_process():
        assert preload_model(model_dir)
        assert _preload_done() == {"preloaded": model_dir, "error": None}
        # It loaded on the CPU this process leaves idle.
        assert os.getpriority(os.PRIO_PROCESS, infra_validation._standby.pid) == min(
            19, os.getpriority(os.PRIO_PROCESS, 0) + PRELOAD_NICENESS)
        shutil.rmtree(model_dir)  # only the model loaded ahead can answer now
        result = validate_model(model_dir, toy.serialized_examples(3), timeout_seconds=300)
        assert not preload_model(model_dir)  # the standby was used
    assert fresh.passed and result.passed and result.reason is None
    assert result.signatures == fresh.signatures
    assert result.signatures["serving_default"]["outputs"] == \
        fresh.signatures["serving_default"]["outputs"]


def test_a_request_for_another_model_loads_that_one(exports):
    fresh = validate_model(exports["needs_y"], toy.serialized_examples(3), timeout_seconds=300)
    with standby_check_process():
        assert preload_model(exports["good"])
        result = validate_model(exports["needs_y"], toy.serialized_examples(3),
                                timeout_seconds=300)
    assert not result.passed and "signature 'serving_default'" in result.reason
    assert result.reason == fresh.reason and result.signatures == fresh.signatures


def test_a_failed_preload_decides_nothing(exports, tmp_path):
    later = str(tmp_path / "not_yet")
    corrupt = str(tmp_path / "corrupt")
    shutil.copytree(exports["good"], corrupt)
    with open(os.path.join(corrupt, "saved_model.pb"), "wb") as f:
        f.write(b"\x08\x01 this is not a SavedModel proto")
    fresh = validate_model(corrupt, toy.serialized_examples(2), timeout_seconds=300)
    assert fresh.reason.startswith("the SavedModel does not load: ")

    with standby_check_process():  # the folder appears after the preload: it is loaded again
        preload_model(later)
        assert _preload_done()["error"] is not None
        shutil.copytree(exports["good"], later)
        assert validate_model(later, toy.serialized_examples(2), timeout_seconds=300).passed
    with standby_check_process():  # a model that does not load is refused by the request
        preload_model(corrupt)
        assert _preload_done()["error"] is not None
        result = validate_model(corrupt, toy.serialized_examples(2), timeout_seconds=300)
    assert not result.passed and result.reason == fresh.reason


def test_there_is_nothing_to_preload_without_a_standby(exports):
    assert not preload_model(exports["good"])
    with standby_check_process():
        infra_validation._standby.kill()
        infra_validation._standby.wait()
        assert not preload_model(exports["good"])
