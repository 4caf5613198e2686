"""Tests for estimator_lib.run_config.RunConfig and TF_CONFIG parsing (distribute.ClusterInfo)."""

from __future__ import annotations

import dataclasses
import json

import pytest
import tensorflow as tf

import estimator_lib as el
from estimator_lib.distribute import ClusterInfo, num_replicas

from .conftest import checkpoint_steps, make_input_fn

pytestmark = pytest.mark.usefixtures("no_tf_config")


# --------------------------------------------------------------------------------------
# Defaults, replace, immutability
# --------------------------------------------------------------------------------------


def test_defaults():
    config = el.RunConfig()
    assert config.model_dir is None
    assert config.tf_random_seed is None
    assert config.save_summary_steps == 100
    assert config.save_checkpoints_steps is None
    assert config.save_checkpoints_secs == 600
    assert config.keep_checkpoint_max == 5
    assert config.log_step_count_steps == 100
    assert config.steps_per_loop == 100
    assert config.train_distribute is None and config.eval_distribute is None
    # Locally: no cluster, this task is the chief.
    assert config.task_type is None and config.task_id == 0
    assert config.is_chief
    assert config.num_worker_replicas == 1
    assert config.num_ps_replicas == 0
    assert config.cluster_spec.as_dict() == {}


def test_save_checkpoints_steps_turns_off_the_seconds_default():
    config = el.RunConfig(save_checkpoints_steps=50)
    assert config.save_checkpoints_steps == 50
    assert config.save_checkpoints_secs is None
    assert el.RunConfig(save_checkpoints_secs=30).save_checkpoints_secs == 30
    neither = el.RunConfig(save_checkpoints_secs=None)
    assert neither.save_checkpoints_secs is None and neither.save_checkpoints_steps is None


def test_both_checkpoint_triggers_is_an_error():
    with pytest.raises(ValueError, match=r"at most one of `save_checkpoints_steps` \(10\) and "
                                         r"`save_checkpoints_secs` \(60\)"):
        el.RunConfig(save_checkpoints_steps=10, save_checkpoints_secs=60)


def test_replace_returns_a_validated_copy(tmp_path):
    config = el.RunConfig(model_dir=tmp_path, tf_random_seed=3)
    assert config.model_dir == str(tmp_path)  # PathLike -> str.
    changed = config.replace(steps_per_loop=7, keep_checkpoint_max=None)
    assert changed is not config
    assert (changed.steps_per_loop, changed.keep_checkpoint_max) == (7, None)
    assert (changed.model_dir, changed.tf_random_seed) == (str(tmp_path), 3)
    assert (config.steps_per_loop, config.keep_checkpoint_max) == (100, 5)

    # Setting the step trigger drops the seconds default...
    by_steps = config.replace(save_checkpoints_steps=20)
    assert (by_steps.save_checkpoints_steps, by_steps.save_checkpoints_secs) == (20, None)
    # ...but an explicit seconds value next to it is still an error.
    with pytest.raises(ValueError, match="at most one"):
        config.replace(save_checkpoints_steps=20, save_checkpoints_secs=5)
    with pytest.raises(ValueError, match="at most one"):
        by_steps.replace(save_checkpoints_secs=5)
    back_to_secs = by_steps.replace(save_checkpoints_steps=None, save_checkpoints_secs=5)
    assert (back_to_secs.save_checkpoints_steps, back_to_secs.save_checkpoints_secs) == (None, 5)
    with pytest.raises(ValueError, match="steps_per_loop"):
        config.replace(steps_per_loop=0)
    with pytest.raises(TypeError):
        config.replace(no_such_field=1)


def test_frozen():
    config = el.RunConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.steps_per_loop = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.model_dir = "/tmp/x"
    assert config.steps_per_loop == 100


def test_equality_ignores_the_cluster(monkeypatch):
    local = el.RunConfig(steps_per_loop=3)
    monkeypatch.setenv("TF_CONFIG", json.dumps(
        {"cluster": {"chief": ["a:1"], "worker": ["b:1"]}, "task": {"type": "worker", "index": 0}}))
    assert el.RunConfig(steps_per_loop=3) == local
    assert el.RunConfig(steps_per_loop=4) != local


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"save_summary_steps": 0}, ValueError, r"`save_summary_steps` \(0\) must be a positive"),
        ({"save_checkpoints_steps": -5}, ValueError, r"`save_checkpoints_steps` \(-5\)"),
        ({"save_checkpoints_secs": 0}, ValueError, r"`save_checkpoints_secs` \(0\)"),
        ({"save_checkpoints_secs": "600"}, ValueError, "save_checkpoints_secs"),
        ({"log_step_count_steps": -1}, ValueError, r"`log_step_count_steps` \(-1\)"),
        ({"steps_per_loop": 0}, ValueError, r"`steps_per_loop` \(0\) must be a positive integer"),
        ({"steps_per_loop": 2.5}, ValueError, "steps_per_loop"),
        ({"steps_per_loop": None}, ValueError, "steps_per_loop"),
        ({"keep_checkpoint_max": -1}, ValueError, r"`keep_checkpoint_max` \(-1\) must be >= 0"),
        ({"train_distribute": "mirrored"}, TypeError, "`train_distribute` must be a tf.distribute"),
        ({"eval_distribute": object()}, TypeError, "`eval_distribute` must be a tf.distribute"),
    ],
)
def test_validation_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        el.RunConfig(**kwargs)


def test_optional_counts_may_be_none_and_a_strategy_is_accepted():
    strategy = tf.distribute.get_strategy()
    config = el.RunConfig(save_summary_steps=None, log_step_count_steps=None,
                          keep_checkpoint_max=0, train_distribute=strategy)
    assert config.save_summary_steps is None and config.log_step_count_steps is None
    assert config.keep_checkpoint_max == 0
    assert config.train_distribute is strategy
    assert num_replicas(strategy) == 1 and num_replicas(None) == 1


def test_estimator_binds_its_model_dir_into_the_config(tmp_path):
    from .conftest import linear_model_fn

    config = el.RunConfig(steps_per_loop=7)
    estimator = el.Estimator(linear_model_fn, model_dir=tmp_path / "m", config=config)
    assert estimator.config.model_dir == str(tmp_path / "m")
    assert estimator.config.steps_per_loop == 7
    assert config.model_dir is None  # The caller's config is not changed.
    from_config = el.Estimator(linear_model_fn, config=el.RunConfig(model_dir=tmp_path / "c"))
    assert from_config.model_dir == str(tmp_path / "c")
    with pytest.raises(ValueError, match="differs from `config.model_dir`"):
        el.Estimator(linear_model_fn, model_dir=tmp_path / "a",
                     config=el.RunConfig(model_dir=tmp_path / "b"))
    with pytest.raises(TypeError, match="el.RunConfig"):
        el.Estimator(linear_model_fn, config={"model_dir": str(tmp_path)})


# --------------------------------------------------------------------------------------
# TF_CONFIG: good clusters
# --------------------------------------------------------------------------------------

CLUSTER = {"chief": ["chief:2222"], "worker": ["w0:2222", "w1:2222", "w2:2222"],
           "ps": ["ps0:2222", "ps1:2222"]}


def _set_tf_config(monkeypatch, task, cluster=CLUSTER):
    value = {"cluster": cluster}
    if task is not None:
        value["task"] = task
    monkeypatch.setenv("TF_CONFIG", json.dumps(value))


@pytest.mark.parametrize(
    "task, is_chief",
    [
        ({"type": "chief", "index": 0}, True),
        ({"type": "worker", "index": 0}, False),
        ({"type": "worker", "index": 2}, False),
        ({"type": "ps", "index": 1}, False),
        ({"type": "evaluator", "index": 0}, False),
    ],
)
def test_tf_config_tasks(monkeypatch, task, is_chief):
    _set_tf_config(monkeypatch, task)
    config = el.RunConfig()
    assert config.task_type == task["type"]
    assert config.task_id == task["index"]
    assert config.is_chief is is_chief
    assert config.num_worker_replicas == 4  # chief + 3 workers
    assert config.num_ps_replicas == 2
    assert config.cluster_spec.as_dict() == CLUSTER
    assert config.cluster.is_distributed
    info = ClusterInfo.from_tf_config()
    assert (info.task_type, info.task_id, info.is_chief) == (task["type"], task["index"], is_chief)


def test_tf_config_without_a_chief_makes_worker_0_the_chief(monkeypatch):
    cluster = {"worker": ["w0:1", "w1:1"]}
    _set_tf_config(monkeypatch, {"type": "worker", "index": 0}, cluster)
    first = el.RunConfig()
    assert first.is_chief and first.num_worker_replicas == 2 and first.num_ps_replicas == 0
    _set_tf_config(monkeypatch, {"type": "worker", "index": 1}, cluster)
    assert not el.RunConfig().is_chief


def test_tf_config_master_is_a_chief_and_index_defaults_to_zero(monkeypatch):
    _set_tf_config(monkeypatch, {"type": "master"}, {"master": ["m:1"], "worker": ["w:1"]})
    config = el.RunConfig()
    assert (config.task_type, config.task_id, config.is_chief) == ("master", 0, True)
    assert config.num_worker_replicas == 2


def test_tf_config_is_read_once_at_construction(monkeypatch):
    _set_tf_config(monkeypatch, {"type": "worker", "index": 1})
    config = el.RunConfig()
    monkeypatch.delenv("TF_CONFIG")
    assert el.RunConfig().task_type is None
    assert config.task_type == "worker"
    # replace() keeps the cluster the config was built with.
    assert config.replace(steps_per_loop=3).task_type == "worker"
    assert config.replace(steps_per_loop=3).task_id == 1


@pytest.mark.parametrize("value", ["", "   ", "{}"])
def test_empty_tf_config_is_local(monkeypatch, value):
    monkeypatch.setenv("TF_CONFIG", value)
    info = ClusterInfo.from_tf_config()
    assert info == ClusterInfo()
    assert info.is_chief and not info.is_distributed and info.num_worker_replicas == 1


def test_cluster_info_accepts_a_dict_and_an_explicit_cluster_in_run_config():
    info = ClusterInfo.from_tf_config({"cluster": {"chief": ["c:1"], "worker": ["w:1"]},
                                       "task": {"type": "worker", "index": 0}})
    assert (info.task_type, info.is_chief, info.num_worker_replicas) == ("worker", False, 2)
    assert el.RunConfig(cluster=info).task_type == "worker"


# --------------------------------------------------------------------------------------
# TF_CONFIG: every bad case
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tf_config, match",
    [
        ('{"cluster": {"chief": ["c:1"]', "TF_CONFIG is not valid JSON"),
        ("not json at all", "TF_CONFIG is not valid JSON"),
        ('["chief"]', "TF_CONFIG must be a JSON object"),
        (json.dumps({"cluster": {"boss": ["b:1"]}, "task": {"type": "boss", "index": 0}}),
         "cluster has unknown job 'boss'"),
        (json.dumps({"cluster": CLUSTER, "task": {"type": "trainer", "index": 0}}),
         "task type 'trainer' is unknown"),
        (json.dumps({"cluster": CLUSTER, "task": {"type": "worker", "index": 3}}),
         "task index 3 is out of range: the cluster has 3 'worker' task"),
        (json.dumps({"cluster": CLUSTER, "task": {"type": "ps", "index": 2}}),
         "task index 2 is out of range"),
        (json.dumps({"cluster": CLUSTER, "task": {"type": "worker", "index": -1}}),
         "task index must be a non-negative int"),
        (json.dumps({"cluster": CLUSTER, "task": {"type": "worker", "index": "0"}}),
         "task index must be a non-negative int"),
        (json.dumps({"cluster": {**CLUSTER, "evaluator": ["e:1"]},
                     "task": {"type": "evaluator", "index": 0}}),
         "lists 'evaluator' in the cluster"),
        (json.dumps({"cluster": CLUSTER, "task": {"type": "evaluator", "index": 1}}),
         "one evaluator task; its index must be 0"),
        (json.dumps({"cluster": CLUSTER}), "has a cluster but no `task`"),
        (json.dumps({"cluster": {"worker": ["w:1"], "ps": ["p:1"]},
                     "task": {"type": "worker", "index": 0}}),
         "parameter servers needs a 'chief'"),
        (json.dumps({"cluster": {"worker": ["w:1"]}, "task": {"type": "chief", "index": 0}}),
         "task type 'chief' has no entry in the cluster"),
        (json.dumps({"cluster": {"chief": ["c:1", "c:2"]}, "task": {"type": "chief"}}),
         "at most one chief"),
        (json.dumps({"cluster": {"worker": "w:1"}, "task": {"type": "worker"}}),
         r"cluster\['worker'\] must be a list of 'host:port' strings"),
        (json.dumps({"cluster": {"worker": ["w:1", 2]}, "task": {"type": "worker"}}),
         "must be a list of 'host:port' strings"),
    ],
    ids=["truncated-json", "not-json", "not-object", "unknown-job", "unknown-task-type",
         "worker-index-out-of-range", "ps-index-out-of-range", "negative-index",
         "string-index", "evaluator-in-cluster", "evaluator-index", "cluster-without-task",
         "ps-without-chief", "task-type-not-in-cluster", "two-chiefs",
         "addresses-not-a-list", "address-not-a-string"],
)
def test_bad_tf_config(monkeypatch, tf_config, match):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ValueError, match=match):
        ClusterInfo.from_tf_config()
    with pytest.raises(ValueError, match=match):
        el.RunConfig()


# --------------------------------------------------------------------------------------
# is_chief decides who writes checkpoints
# --------------------------------------------------------------------------------------


def test_only_the_chief_saves_checkpoints(monkeypatch, make_estimator, tmp_path):
    _set_tf_config(monkeypatch, {"type": "worker", "index": 1},
                   {"chief": ["c:1"], "worker": ["w0:1", "w1:1"]})
    worker = make_estimator(model_dir=tmp_path / "worker", save_checkpoints_steps=2)
    assert not worker.config.is_chief
    worker.train(make_input_fn(), steps=5)
    assert checkpoint_steps(worker.model_dir) == []

    _set_tf_config(monkeypatch, {"type": "chief", "index": 0},
                   {"chief": ["c:1"], "worker": ["w0:1", "w1:1"]})
    chief = make_estimator(model_dir=tmp_path / "chief", save_checkpoints_steps=2)
    chief.train(make_input_fn(), steps=5)
    assert checkpoint_steps(chief.model_dir) == [0, 2, 4, 5]
