"""Tests for estimator_lib.train_and_evaluate: specs, the local loop and the task roles.

The multi-process clusters are in test_distributed_cluster.py (slow).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest
import tensorflow as tf

import estimator_lib as el
from estimator_lib.distribute import ClusterInfo, Role, task_role

from . import toy
from .conftest import checkpoint_steps

pytestmark = pytest.mark.usefixtures("no_tf_config")


def receiver_fn():
    return el.export.build_parsing_serving_input_receiver_fn(toy.FEATURE_SPEC)()


def make_estimator(model_dir, **config):
    config.setdefault("log_step_count_steps", None)
    config.setdefault("steps_per_loop", 10)
    return el.Estimator(toy.model_fn, model_dir=os.fspath(model_dir),
                        config=el.RunConfig(**config), params={"learning_rate": 0.5})


# -- specs ----------------------------------------------------------------------------------------
def test_specs_defaults_and_immutability():
    train = el.TrainSpec(toy.train_input_fn)
    assert (train.max_steps, train.hooks) == (None, ())
    evaluation = el.EvalSpec(toy.eval_input_fn)
    assert (evaluation.steps, evaluation.name, evaluation.hooks, evaluation.exporters) == (
        100, None, (), ())
    assert (evaluation.start_delay_secs, evaluation.throttle_secs) == (120, 600)
    with pytest.raises(AttributeError):
        train.max_steps = 3
    exporter = el.LatestExporter("latest", receiver_fn)
    assert el.EvalSpec(toy.eval_input_fn, exporters=exporter).exporters == (exporter,)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"input_fn": 3}, TypeError, r"`TrainSpec.input_fn` must be callable; received 3"),
    ({"max_steps": 0}, ValueError, r"`TrainSpec.max_steps` \(0\) must be a positive integer"),
    ({"max_steps": 2.5}, ValueError, r"`TrainSpec.max_steps` \(2.5\)"),
    ({"max_steps": True}, ValueError, r"`TrainSpec.max_steps` \(True\)"),
    ({"hooks": [object()]}, TypeError, r"`TrainSpec.hooks` must hold el.Hook instances"),
])
def test_train_spec_rejects(kwargs, error, match):
    kwargs = {"input_fn": toy.train_input_fn, **kwargs}
    with pytest.raises(error, match=match):
        el.TrainSpec(**kwargs)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"input_fn": None}, TypeError, r"`EvalSpec.input_fn` must be callable"),
    ({"steps": 0}, ValueError, r"`EvalSpec.steps` \(0\) must be a positive integer or None"),
    ({"name": 3}, TypeError, r"`EvalSpec.name` must be a string"),
    ({"throttle_secs": -1}, ValueError, r"`EvalSpec.throttle_secs` \(-1\) must be a number >= 0"),
    ({"start_delay_secs": "1"}, ValueError, r"`EvalSpec.start_delay_secs` \('1'\)"),
    ({"hooks": ["x"]}, TypeError, r"`EvalSpec.hooks` must hold el.Hook"),
    ({"exporters": ["x"]}, TypeError, r"`EvalSpec.exporters` must hold el.exporters.Exporter"),
    ({"exporters": [el.LatestExporter("a", receiver_fn), el.FinalExporter("a", receiver_fn)]},
     ValueError, r"names must be unique .*\['a'\] repeat"),
])
def test_eval_spec_rejects(kwargs, error, match):
    kwargs = {"input_fn": toy.eval_input_fn, **kwargs}
    with pytest.raises(error, match=match):
        el.EvalSpec(**kwargs)


def test_exporters_validate_at_construction():
    with pytest.raises(ValueError, match=r"Exporter `name` \('a/b'\)"):
        el.LatestExporter("a/b", receiver_fn)
    with pytest.raises(TypeError, match="`serving_input_receiver_fn` must be callable"):
        el.BestExporter("best")
    with pytest.raises(ValueError, match=r"`exports_to_keep` \(0\)"):
        el.LatestExporter("latest", receiver_fn, exports_to_keep=0)
    with pytest.raises(TypeError, match="`compare_fn` must be callable"):
        el.BestExporter("best", receiver_fn, compare_fn="loss")


def test_train_and_evaluate_checks_argument_types(tmp_path):
    estimator = make_estimator(tmp_path)
    train, evaluation = el.TrainSpec(toy.train_input_fn), el.EvalSpec(toy.eval_input_fn)
    with pytest.raises(TypeError, match="`estimator` must be an el.Estimator"):
        el.train_and_evaluate("estimator", train, evaluation)
    with pytest.raises(TypeError, match="`train_spec` must be an el.TrainSpec"):
        el.train_and_evaluate(estimator, evaluation, evaluation)
    with pytest.raises(TypeError, match="`eval_spec` must be an el.EvalSpec or None"):
        el.train_and_evaluate(estimator, train, train)


# -- the local loop -------------------------------------------------------------------------------
def test_local_evaluates_each_checkpoint_and_exports(tmp_path):
    estimator = make_estimator(tmp_path / "model", save_checkpoints_steps=20)
    evaluated = []

    class RecordStep(el.Hook):
        def after_create(self, run_context):
            evaluated.append(run_context.global_step)

    best_compared = []

    def accuracy_higher(best_eval_result, current_eval_result):
        best_compared.append(int(current_eval_result["global_step"]))
        return current_eval_result["accuracy"] > best_eval_result["accuracy"]

    exporters = [el.LatestExporter("latest", receiver_fn, exports_to_keep=2),
                 el.BestExporter("best", receiver_fn, compare_fn=accuracy_higher),
                 el.FinalExporter("final", receiver_fn)]
    metrics, exports = el.train_and_evaluate(
        estimator, el.TrainSpec(toy.train_input_fn, max_steps=60),
        el.EvalSpec(toy.eval_input_fn, steps=None, hooks=[RecordStep()], exporters=exporters,
                    throttle_secs=0))
    assert evaluated == [20, 40, 60]  # Every checkpoint after the first step, the final once.
    assert metrics["global_step"] == 60 and metrics["accuracy"] > 0.9
    assert best_compared == [40, 60]  # The first evaluation is the best so far by definition.
    export_dir = tmp_path / "model" / "export"
    assert len(os.listdir(export_dir / "latest")) == 2  # exports_to_keep
    assert len(os.listdir(export_dir / "final")) == 1
    final_export = os.path.join(export_dir, "final", os.listdir(export_dir / "final")[0])
    assert final_export in exports
    assert any(path.startswith(os.fspath(export_dir / "latest")) for path in exports)
    done = el.training_status.read_training_done(estimator.model_dir)
    assert done["global_step"] == 60 and done["checkpoint"].endswith("model.ckpt-60")
    assert el.training_done(estimator.model_dir)
    assert os.path.exists(os.path.join(estimator.model_dir, el.TRAINING_DONE_FILENAME))
    # The exported model serves.
    loaded = tf.saved_model.load(final_export)
    out = loaded.signatures["serving_default"](examples=tf.constant(toy.serialized_examples(3)))
    assert out["probabilities"].shape == (3, 1)


def test_local_throttle_skips_evaluations_but_not_the_final_one(tmp_path):
    estimator = make_estimator(tmp_path / "model", save_checkpoints_steps=10)
    steps = []

    class RecordStep(el.Hook):
        def after_create(self, run_context):
            steps.append(run_context.global_step)

    metrics, exports = el.train_and_evaluate(
        estimator, el.TrainSpec(toy.train_input_fn, max_steps=50),
        el.EvalSpec(toy.eval_input_fn, steps=2, hooks=[RecordStep()], throttle_secs=3600))
    assert steps == [10, 50]  # The first save after training started, then the final one.
    assert exports == [] and metrics["global_step"] == 50


def test_local_resumes_and_returns_at_once_when_already_trained(tmp_path):
    estimator = make_estimator(tmp_path / "model", save_checkpoints_steps=20)
    el.train_and_evaluate(estimator, el.TrainSpec(toy.train_input_fn, max_steps=20),
                          el.EvalSpec(toy.eval_input_fn, throttle_secs=0))
    metrics, _ = el.train_and_evaluate(estimator, el.TrainSpec(toy.train_input_fn, max_steps=40),
                                       el.EvalSpec(toy.eval_input_fn, throttle_secs=0))
    assert metrics["global_step"] == 40
    again, _ = el.train_and_evaluate(estimator, el.TrainSpec(toy.train_input_fn, max_steps=40),
                                     el.EvalSpec(toy.eval_input_fn, throttle_secs=0))
    assert again["global_step"] == 40
    assert checkpoint_steps(estimator.model_dir)[-1] == 40


def test_local_input_end_is_the_final_evaluation(tmp_path):
    estimator = make_estimator(tmp_path / "model", save_checkpoints_steps=3)
    exporter = el.FinalExporter("final", receiver_fn)
    metrics, exports = el.train_and_evaluate(
        estimator, el.TrainSpec(toy.eval_input_fn),  # 4 batches, then the input ends.
        el.EvalSpec(toy.eval_input_fn, throttle_secs=0, exporters=[exporter]))
    assert metrics["global_step"] == 4
    assert len(exports) == 1 and exports[0].startswith(os.path.join(estimator.model_dir, "export"))


def test_local_without_eval_spec_trains_and_marks_done_for_an_evaluation_worker(tmp_path):
    estimator = make_estimator(tmp_path / "model", save_checkpoints_steps=20)
    evaluated = []
    estimator.evaluate = lambda *a, **k: evaluated.append(k)  # would record any evaluation
    assert el.train_and_evaluate(
        estimator, el.TrainSpec(toy.train_input_fn, max_steps=40), None) == (None, None)
    assert evaluated == [] and checkpoint_steps(estimator.model_dir) == [0, 20, 40]
    done = el.training_status.read_training_done(estimator.model_dir)
    assert done["global_step"] == 40 and done["checkpoint"].endswith("model.ckpt-40")


def test_an_evaluator_task_needs_an_eval_spec(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps({
        "cluster": {"chief": ["127.0.0.1:1"], "worker": ["127.0.0.1:2"]},
        "task": {"type": "evaluator", "index": 0}}))
    estimator = make_estimator(tmp_path / "model")
    with pytest.raises(ValueError, match="An evaluator task needs an EvalSpec"):
        el.train_and_evaluate(estimator, el.TrainSpec(toy.train_input_fn, max_steps=2), None)


# -- the evaluator role ---------------------------------------------------------------------------
def test_evaluator_role_follows_checkpoints_until_the_marker(tmp_path, monkeypatch):
    model_dir = tmp_path / "model"
    trainer = make_estimator(model_dir, save_checkpoints_steps=10)
    trainer.train(toy.train_input_fn, max_steps=10)
    monkeypatch.setenv("TF_CONFIG", json.dumps({
        "cluster": {"chief": ["127.0.0.1:1"], "worker": ["127.0.0.1:2"]},
        "task": {"type": "evaluator", "index": 0}}))
    evaluator = make_estimator(model_dir)
    assert evaluator.config.task_type == "evaluator"
    steps = []

    class RecordStep(el.Hook):
        def after_create(self, run_context):
            steps.append(run_context.global_step)

    result = {}
    eval_spec = el.EvalSpec(toy.eval_input_fn, hooks=[RecordStep()], start_delay_secs=0,
                            throttle_secs=0, exporters=[el.FinalExporter("final", receiver_fn)])

    def run():
        result["metrics"], result["exports"] = el.train_and_evaluate(
            evaluator, el.TrainSpec(toy.train_input_fn), eval_spec)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        wait_for(lambda: steps == [10])
        trainer.train(toy.train_input_fn, max_steps=30)
        wait_for(lambda: steps and steps[-1] == 30)
        el.training_status.mark_training_done(model_dir, 30, trainer.latest_checkpoint())
        thread.join(timeout=60)
    finally:
        el.training_status.mark_training_done(model_dir, 30, None)
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert steps == [10, 30] or steps == [10, 20, 30]
    assert result["metrics"]["global_step"] == 30
    assert len(result["exports"]) == 1  # The final exporter ran on the final checkpoint.


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_checkpoints_until_done_stops_at_max_steps_and_at_the_marker(tmp_path):
    estimator = make_estimator(tmp_path / "model", save_checkpoints_steps=10)
    estimator.train(toy.train_input_fn, max_steps=20)
    seen = list(el.training_status.checkpoints_until_done(estimator.model_dir, max_steps=20,
                                                          poll_secs=0.05))
    assert [el.training_status.checkpoint_step(p) for p in seen] == [20]
    assert list(el.training_status.checkpoints_until_done(
        estimator.model_dir, poll_secs=0.05, timeout_secs=0.2)) == seen  # no marker: timeout
    el.training_status.mark_training_done(estimator.model_dir, 20, seen[0])
    assert list(el.training_status.checkpoints_until_done(estimator.model_dir,
                                                          poll_secs=0.05)) == seen
    el.training_status.clear_training_done(estimator.model_dir)
    assert not el.training_done(estimator.model_dir)
    assert el.training_status.read_training_done(estimator.model_dir) is None


# -- roles ----------------------------------------------------------------------------------------
def cluster(task_type, index=0, ps=False, chief=True):
    jobs = {"worker": ["h:2", "h:3"]}
    if chief:
        jobs["chief"] = ["h:1"]
    if ps:
        jobs["ps"] = ["h:4"]
    return ClusterInfo.from_tf_config({"cluster": jobs, "task": {"type": task_type,
                                                                 "index": index}})


def test_task_roles():
    assert task_role(ClusterInfo(), None) == Role.LOCAL
    assert task_role(cluster("evaluator"), None) == Role.EVALUATOR
    assert task_role(cluster("ps", ps=True), None) == Role.SERVER
    assert task_role(cluster("worker", 1, ps=True), None) == Role.SERVER
    with pytest.raises(ValueError, match=r"'ps' tasks, so the chief \(task chief:0\) needs "
                                         r"RunConfig\(train_distribute=<a ParameterServerStrategy"):
        task_role(cluster("chief", ps=True), None)
    with pytest.raises(ValueError, match="3 training tasks but task worker:1 has no multi-worker"):
        task_role(cluster("worker", 1), None)


def test_make_strategy_outside_a_cluster():
    assert el.distribute.make_strategy("default") is None
    assert el.distribute.make_strategy("parameter_server", cluster=cluster("ps", ps=True)) is None
    assert el.distribute.make_strategy("multi_worker_mirrored",
                                       cluster=cluster("evaluator")) is None
    with pytest.raises(ValueError, match=r"Strategy `kind` 'horovod' is unknown"):
        el.distribute.make_strategy("horovod")
    with pytest.raises(ValueError, match="needs a TF_CONFIG cluster with 'ps' tasks"):
        el.distribute.make_strategy("parameter_server", cluster=cluster("chief"))
    with pytest.raises(ValueError, match="does not use 'ps' tasks"):
        el.distribute.make_strategy("multi_worker_mirrored", cluster=cluster("chief", ps=True))


def test_wait_for_tasks_names_the_missing_ones():
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    dead_port = free.getsockname()[1]
    free.close()
    info = ClusterInfo.from_tf_config({"cluster": {
        "chief": ["127.0.0.1:1"],
        "worker": [f"127.0.0.1:{listening.getsockname()[1]}", f"127.0.0.1:{dead_port}"]},
        "task": {"type": "chief", "index": 0}})
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=rf"within 1 s .*\['worker:1 \(127.0.0.1:{dead_port}\)'\]"):
        el.distribute.wait_for_tasks(info, ("worker",), timeout_secs=1, poll_secs=0.1)
    assert time.monotonic() - started < 10
    listening.close()
