"""Streaming evaluation on the real taxi model: checkpoints evaluated as they appear."""

import json
import os
import threading
import time

import pytest

from components.evaluator.streaming import evaluate_checkpoints
from tests.components.evaluator.conftest import (
    copy_checkpoint,
    copy_recipe,
    make_config,
    mark_done,
    model_dir_with,
    tensorboard_steps,
)


def _logged(config) -> list[dict]:
    if not os.path.exists(config.metrics_log_uri):
        return []
    with open(config.metrics_log_uri) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_three_checkpoints_written_while_it_watches_are_each_evaluated_once(
        trained, taxi_data, tmp_path):
    model_dir = str(tmp_path / "model_dir")  # does not exist yet: the trainer has not started
    config = make_config(taxi_data, tmp_path, model_dir)
    appeared, failures = {}, []

    def trainer():
        """Writes a checkpoint only once the previous one is in the evaluator's log."""
        try:
            time.sleep(0.5)
            copy_recipe(trained.model_dir, model_dir)
            for step in (100, 200, 300):
                appeared[step] = time.time()
                copy_checkpoint(trained.model_dir, model_dir, step)
                deadline = time.time() + 60
                while step not in [line["step"] for line in _logged(config)]:
                    if time.time() > deadline:
                        raise AssertionError(f"step {step} was not evaluated within 60 s")
                    time.sleep(0.05)
            mark_done(model_dir, 300)
        except Exception as error:  # reported by the main thread
            failures.append(error)

    thread = threading.Thread(target=trainer)
    thread.start()
    try:
        stream = evaluate_checkpoints(config)
    finally:
        thread.join()
    assert not failures
    assert stream.new_steps == (100, 200, 300)
    assert stream.final.step == 300 and stream.done.final_step == 300
    lines = _logged(config)
    assert [line["step"] for line in lines] == [100, 200, 300]
    for line in lines:  # evaluated after its checkpoint appeared, before the next one did
        assert line["time"] >= appeared[line["step"]]
        if line["step"] + 100 in appeared:
            assert line["time"] <= appeared[line["step"] + 100]
        assert line["checkpoint"] == os.path.join(model_dir, f"model.ckpt-{line['step']}")
        assert set(line["metrics"]) >= {"auc", "loss", "accuracy", "global_step"}
        assert line["metrics"]["global_step"] == line["step"]
    # The Estimator's streaming metrics of the final checkpoint are the trainer's.
    assert lines[-1]["metrics"]["auc"] == pytest.approx(trained.metrics["auc"], abs=1e-6)
    # TensorBoard: one eval point per checkpoint.
    auc_points = tensorboard_steps(os.path.join(model_dir, "eval"), "auc")
    assert {step: len(values) for step, values in auc_points.items()} == \
        {100: 1, 200: 1, 300: 1}
    assert auc_points[300][0] == pytest.approx(lines[-1]["metrics"]["auc"], abs=1e-6)


def test_a_timeout_names_what_was_evaluated_and_a_restart_resumes_after_it(
        trained, taxi_data, tmp_path):
    model_dir = model_dir_with(trained, str(tmp_path / "model_dir"), [100, 200])
    config = make_config(taxi_data, tmp_path, model_dir, timeout_seconds=1.5)
    with pytest.raises(TimeoutError, match=r"training is not marked done.*Evaluated steps: "
                                           r"\[100, 200\].*metrics\.jsonl"):
        evaluate_checkpoints(config)
    assert [line["step"] for line in _logged(config)] == [100, 200]

    # The trainer goes on and finishes; the restarted evaluator evaluates only what is new.
    copy_checkpoint(trained.model_dir, model_dir, 300)
    mark_done(model_dir, 300)
    stream = evaluate_checkpoints(config)
    assert stream.new_steps == (300,)
    assert [e.step for e in stream.evaluations] == [100, 200, 300]
    assert [line["step"] for line in _logged(config)] == [100, 200, 300]

    # Restarted after everything was evaluated: nothing to do, at once.
    start = time.time()
    again = evaluate_checkpoints(config)
    assert again.new_steps == () and again.final.step == 300
    assert time.time() - start < 5
    assert {s: len(v) for s, v in tensorboard_steps(os.path.join(model_dir, "eval"),
                                                      "auc").items()} == {100: 1, 200: 1, 300: 1}


def test_after_training_every_checkpoint_is_evaluated_in_step_order(trained, taxi_data,
                                                                   tmp_path):
    """kfp.local runs the steps one after another: all checkpoints are there at once."""
    model_dir = model_dir_with(trained, str(tmp_path / "model_dir"), [0, 100, 200, 300],
                               done=300)
    stream = evaluate_checkpoints(make_config(taxi_data, tmp_path, model_dir))
    assert stream.new_steps == (0, 100, 200, 300)
    assert stream.evaluations[0].metrics["auc"] < stream.evaluations[-1].metrics["auc"]


def test_a_checkpoint_without_the_trainers_recipe_is_refused(trained, taxi_data, tmp_path):
    model_dir = str(tmp_path / "model_dir")
    os.makedirs(model_dir)
    copy_checkpoint(trained.model_dir, model_dir, 100)
    with pytest.raises(FileNotFoundError, match="model_recipe.json"):
        evaluate_checkpoints(make_config(taxi_data, tmp_path, model_dir))
