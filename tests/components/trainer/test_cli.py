"""Tests for components.trainer.cli: the flags, their inverse, and a run from the flags."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
import tensorflow as tf

import estimator_lib as el
from components.artifacts.model import TRAINER_RESULT_FILE as RESULT_FILE
from components.trainer import cli
from components.trainer.config import STRATEGIES, TrainerConfig
from components.trainer.executor import strategy_kind
from tests.components.taxi_pipeline_data import TRAINER_MODULE

BASE = dict(examples_uri="gs://b/run/examples", transform_graph_uri="gs://b/run/graph",
            model_uri="gs://b/run/model")


@pytest.mark.parametrize("changes", [
    {"estimator": "DNNClassifier"},
    {"estimator": "DNNLinearCombinedClassifier", "model_dir": "gs://b/run/ckpt",
     "params": {"dnn_hidden_units": [64, 32], "dnn_learning_rate": 0.05, "batch_norm": True},
     "label_key": "big_tipper", "train_steps": 5000, "eval_steps": 20, "batch_size": 64,
     "eval_batch_size": 512, "train_split": "t", "eval_split": "e",
     "save_checkpoints_steps": 500, "keep_checkpoint_max": 3, "steps_per_loop": 50, "seed": 7,
     "warm_start_from": "gs://b/old/model", "eval_throttle_secs": 60,
     "strategy": "multi_worker_mirrored", "startup_timeout_secs": 12.5},
    {"module_file": TRAINER_MODULE, "params": {"hidden_units": [8]}, "strategy": "default",
     "startup_timeout_secs": 30},
])
def test_the_flags_of_a_config_give_back_the_config(changes):
    config = TrainerConfig(**BASE, **changes)
    args = cli.trainer_args(config)
    assert cli.parse_config(args) == config
    assert all(arg != "None" for arg in args)


def test_every_config_field_has_a_flag_and_only_required_ones_are_required():
    parser = cli.build_parser()
    flags = {a.dest: a for a in parser._actions if a.option_strings}  # noqa: SLF001
    for field in dataclasses.fields(TrainerConfig):
        assert f"--{field.name.replace('_', '-')}" in flags[field.name].option_strings
    assert {d for d, a in flags.items() if a.required} == {
        "examples_uri", "transform_graph_uri", "model_uri"}
    # Only what was given: TrainerConfig's defaults apply to the rest.
    config = cli.parse_config(["--examples-uri", "e", "--transform-graph-uri", "g",
                               "--model-uri", "m", "--estimator", "LinearClassifier"])
    assert config == TrainerConfig(examples_uri="e", transform_graph_uri="g", model_uri="m",
                                   estimator="LinearClassifier")


def test_bad_flags_are_usage_errors_naming_the_problem(capsys):
    required = ["--examples-uri", "e", "--transform-graph-uri", "g", "--model-uri", "m"]
    for extra, message in (
            (["--estimator", "DNNClassifer"], "`estimator` 'DNNClassifer' is not a canned estimator"),
            (["--estimator", "DNNClassifier", "--params", "[1]"], "must be a JSON object"),
            (["--estimator", "DNNClassifier", "--params", "{x"], "not JSON"),
            (["--estimator", "DNNClassifier", "--strategy", "mirored"], "invalid choice"),
            (["--estimator", "DNNClassifier", "--train-steps", "0"], "`train_steps` must be >= 1"),
            ([], "`estimator`: give a canned estimator's name, or a Python file")):
        with pytest.raises(SystemExit):
            cli.parse_config(required + extra)
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.parse_config(["--estimator", "DNNClassifier"])
    assert "--examples-uri" in capsys.readouterr().err


def test_strategies_are_auto_and_make_strategys_kinds():
    assert STRATEGIES == ("auto", *el.distribute.STRATEGY_KINDS)
    with pytest.raises(ValueError, match="`strategy` 'mirored' is unknown"):
        TrainerConfig(**BASE, estimator="DNNClassifier", strategy="mirored")
    with pytest.raises(ValueError, match="`startup_timeout_secs` must be a positive"):
        TrainerConfig(**BASE, estimator="DNNClassifier", startup_timeout_secs=0)


def _cluster(cluster, task_type="worker", index=0):
    return el.ClusterInfo.from_tf_config({"cluster": cluster,
                                          "task": {"type": task_type, "index": index}})


def test_auto_strategy_follows_tf_config():
    assert strategy_kind("auto", el.ClusterInfo()) == "default"
    assert strategy_kind("auto", _cluster({"worker": ["a:1"]})) == "default"
    assert strategy_kind("auto", _cluster({"chief": ["a:1"]}, "evaluator")) == "default"
    workers = {"chief": ["a:1"], "worker": ["b:1", "c:1"]}
    assert strategy_kind("auto", _cluster(workers, "chief")) == "multi_worker_mirrored"
    assert strategy_kind("auto", _cluster(workers, "evaluator")) == "multi_worker_mirrored"
    with_ps = {**workers, "ps": ["d:1"]}
    for task in ("chief", "worker", "ps"):
        assert strategy_kind("auto", _cluster(with_ps, task)) == "parameter_server"
    assert strategy_kind("mirrored", _cluster(workers, "chief")) == "mirrored"


def test_auto_strategy_mirrors_over_the_gpus_of_one_pod(monkeypatch):
    """A pod with several GPUs (no TF_CONFIG) gets MirroredStrategy. No GPU here: the device
    list is doubled."""
    import tensorflow as tf

    gpus = [tf.config.PhysicalDevice(f"/physical_device:GPU:{i}", "GPU") for i in range(2)]
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: gpus if kind == "GPU" else [])
    assert strategy_kind("auto", el.ClusterInfo()) == "mirrored"
    assert strategy_kind("auto", _cluster({"chief": ["a:1"]}, "evaluator")) == "default"
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: gpus[:1])
    assert strategy_kind("auto", el.ClusterInfo()) == "default"


def test_the_entry_point_trains_in_one_process_without_tf_config(taxi_data, tmp_path, capsys,
                                                                 monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    model_uri = str(tmp_path / "model")
    cli.main(["--examples-uri", taxi_data.transformed_examples_uri,
              "--transform-graph-uri", taxi_data.transform_graph_uri,
              "--model-uri", model_uri, "--estimator", "DNNClassifier",
              "--params", '{"dnn_hidden_units": [8]}', "--train-steps", "6",
              "--steps-per-loop", "3", "--batch-size", "32", "--eval-steps", "2",
              "--log-level", "WARNING"])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["cluster_task"] == "local" and printed["final_step"] == 6
    with open(os.path.join(model_uri, RESULT_FILE)) as f:
        assert json.load(f) == printed
    assert tf.train.latest_checkpoint(printed["model_dir"]).endswith("ckpt-6")
    assert os.path.isdir(printed["serving_model_dir"]) and "auc" in printed["metrics"]


@pytest.mark.parametrize("hint, value", [
    (bool, False), (bool, True), (int, 3), ("int | None", 7), (float, 2.5), ("float | None", 1),
    (str, "gs://b/x"), ("str | None", "e"), ("tuple[str, ...]", ("a", "b")),
    ("Mapping[str, Any]", {"hidden_units": [8, 4]}),
])
def test_a_setting_of_any_settings_type_gets_a_flag_without_a_change_here(hint, value):
    # A new TrainerSettings field of any type check_settings knows is read from its flag and
    # written back by trainer_args: adding a setting touches only the settings class (and
    # the code using it), not this CLI.
    from collections.abc import Mapping  # noqa: F401 (the hints below name it)
    from typing import Any  # noqa: F401

    resolved = eval(hint) if isinstance(hint, str) else hint  # noqa: S307 (test literals)
    parse = cli._parser("new_setting", resolved)  # noqa: SLF001
    assert parse(cli._text(value)) == value  # noqa: SLF001


def test_a_type_no_setting_may_have_is_refused_at_import_naming_the_field():
    with pytest.raises(TypeError, match="cannot read TrainerConfig field `when` of type"):
        cli._parser("when", complex)  # noqa: SLF001
