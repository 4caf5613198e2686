"""Tests for components.trainer.tfjob: the TFJob manifest and its checks."""

from __future__ import annotations

import pytest
import yaml

from components.trainer.tfjob import ReplicaResources, TFJobConfig, manifest_yaml, tfjob_manifest

COMMAND = ["python", "-m", "components.trainer"]


def config(**changes):
    values = {"name": "taxi-trainer", "image": "gcr.io/p/trainer:1", "command": COMMAND,
              "replicas": {"chief": 1, "worker": 2, "ps": 1, "evaluator": 1}}
    values.update(changes)
    return TFJobConfig.from_dict(values)


def test_parameter_server_job_manifest():
    manifest = tfjob_manifest(config(
        resources={"worker": ReplicaResources(gpus=2, memory="16Gi",
                                              node_selector={"pool": "gpu"}),
                   "ps": {"cpu": "4"}},
        env={"MODEL": "taxi"}, namespace="kubeflow"))
    assert manifest["apiVersion"] == "kubeflow.org/v1" and manifest["kind"] == "TFJob"
    assert manifest["metadata"] == {"name": "taxi-trainer", "namespace": "kubeflow"}
    specs = manifest["spec"]["tfReplicaSpecs"]
    assert {k: v["replicas"] for k, v in specs.items()} == {
        "Chief": 1, "Worker": 2, "PS": 1, "Evaluator": 1}
    assert all(v["restartPolicy"] == "OnFailure" for v in specs.values())
    worker = specs["Worker"]["template"]["spec"]
    container = worker["containers"][0]
    assert container["name"] == "tensorflow"  # The name the operator looks for.
    assert container["image"] == "gcr.io/p/trainer:1" and container["command"] == COMMAND
    assert container["env"] == [{"name": "MODEL", "value": "taxi"}]
    assert container["resources"] == {"limits": {"memory": "16Gi", "nvidia.com/gpu": 2},
                                      "requests": {"memory": "16Gi"}}
    assert worker["nodeSelector"] == {"pool": "gpu"}
    assert specs["PS"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "4"}
    assert "resources" not in specs["Chief"]["template"]["spec"]["containers"][0]
    assert yaml.safe_load(manifest_yaml(config())) == tfjob_manifest(config())


def test_worker_only_job():
    manifest = tfjob_manifest(config(replicas={"worker": 4, "chief": 0},
                                     resources={"worker": {"gpus": 1}}))
    specs = manifest["spec"]["tfReplicaSpecs"]
    assert list(specs) == ["Worker"]  # Replica types with 0 replicas are left out.
    limits = specs["Worker"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits == {"nvidia.com/gpu": 1}


V5E = {"tpus": 8, "tpu_accelerator": "tpu-v5-lite-podslice", "tpu_topology": "2x4"}


def test_tpu_job_manifest():
    manifest = tfjob_manifest(config(
        replicas={"chief": 1, "evaluator": 1},
        resources={"chief": {**V5E, "node_selector": {"pool": "tpu"}}},
        env={"MODEL": "taxi"}))
    specs = manifest["spec"]["tfReplicaSpecs"]
    chief = specs["Chief"]["template"]["spec"]
    assert chief["containers"][0]["resources"] == {"limits": {"google.com/tpu": 8}}
    assert chief["nodeSelector"] == {"pool": "tpu",
                                     "cloud.google.com/gke-tpu-accelerator": "tpu-v5-lite-podslice",
                                     "cloud.google.com/gke-tpu-topology": "2x4"}
    # make_strategy("tpu") on the chief finds the node's chips through TPU_NAME.
    assert chief["containers"][0]["env"] == [{"name": "MODEL", "value": "taxi"},
                                             {"name": "TPU_NAME", "value": "local"}]
    evaluator = specs["Evaluator"]["template"]["spec"]
    assert "nodeSelector" not in evaluator and "resources" not in evaluator["containers"][0]
    assert evaluator["containers"][0]["env"] == [{"name": "MODEL", "value": "taxi"}]
    v4 = tfjob_manifest(config(replicas={"worker": 1}, resources={"worker": ReplicaResources(
        tpus=4, tpu_accelerator="tpu-v4-podslice", tpu_topology="2x2x1")}))
    worker = v4["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]
    assert worker["nodeSelector"]["cloud.google.com/gke-tpu-topology"] == "2x2x1"
    assert worker["containers"][0]["resources"]["limits"] == {"google.com/tpu": 4}


@pytest.mark.parametrize("changes, error, match", [
    ({"resources": {"chief": {"tpus": 8}}}, ValueError,
     r"`ReplicaResources.tpus` \(8\) needs `tpu_accelerator` .* and `tpu_topology`"),
    ({"resources": {"chief": {"tpu_topology": "2x4"}}}, ValueError,
     "sets `tpu_topology` but asks for no TPU chips"),
    ({"resources": {"chief": {**V5E, "tpu_accelerator": "v5e"}}}, ValueError,
     r"`ReplicaResources.tpu_accelerator` \('v5e'\) is not a GKE TPU type; expected one of"),
    ({"resources": {"chief": {**V5E, "tpu_topology": "2x2x2"}}}, ValueError,
     r"`ReplicaResources.tpu_topology` \('2x2x2'\) must be 2 chip counts joined by 'x'"),
    ({"resources": {"chief": {**V5E, "tpu_topology": "8"}}}, ValueError, "must be 2 chip counts"),
    ({"resources": {"chief": {**V5E, "tpus": 16, "tpu_topology": "4x4"}}}, ValueError,
     r"'4x4' has 16 chips, more than one tpu-v5-lite-podslice host holds \(8\)"),
    ({"resources": {"chief": {**V5E, "tpus": 4}}}, ValueError,
     r"`ReplicaResources.tpus` \(4\) must equal the 8 chips of topology '2x4'"),
    ({"resources": {"chief": {**V5E, "gpus": 1}}}, ValueError, "both gpus"),
    ({"resources": {"chief": {**V5E, "node_selector": {
        "cloud.google.com/gke-tpu-topology": "1x1"}}}}, ValueError,
     r"node_selector\['cloud.google.com/gke-tpu-topology'\]` \('1x1'\) contradicts"),
    ({"replicas": {"chief": 1, "worker": 2, "ps": 1}, "resources": {"chief": V5E}}, ValueError,
     "TPUStrategy does not use ps replicas"),
    ({"replicas": {"chief": 1, "evaluator": 1}, "resources": {"evaluator": V5E}}, ValueError,
     "the evaluator evaluates on its CPU"),
    ({"replicas": {"worker": 2}, "resources": {"worker": V5E}}, ValueError,
     r"one chief or one worker; `replicas` has \{'worker': 2\}"),
])
def test_bad_tpu_configs_are_clear_errors(changes, error, match):
    with pytest.raises(error, match=match):
        config(**changes)


@pytest.mark.parametrize("changes, error, match", [
    ({"name": "Taxi_Trainer"}, ValueError, r"`TFJobConfig.name` \('Taxi_Trainer'\) must be a DNS-1123"),
    ({"image": ""}, ValueError, r"`TFJobConfig.image` \(''\) must be a non-empty string"),
    ({"command": "python train.py"}, TypeError, r"`TFJobConfig.command` must be a non-empty list"),
    ({"replicas": {"master": 1}}, ValueError, r"unknown replica types \['master'\]"),
    ({"replicas": {"chief": 2}}, ValueError, r"`TFJobConfig.replicas\['chief'\]` is 2; a TFJob has at most one"),
    ({"replicas": {"evaluator": 1}}, ValueError, "needs a chief or at least one worker"),
    ({"replicas": {"worker": 2, "ps": 1}}, ValueError, "ps replicas but no chief"),
    ({"replicas": {"chief": 1, "ps": 1}}, ValueError, "ps replicas but no worker"),
    ({"replicas": {"worker": -1}}, ValueError, r"`TFJobConfig.replicas\['worker'\]` \(-1\)"),
    ({"resources": {"worker": {"gpus": 1, "tpus": 4}}}, ValueError, "both gpus .* and tpus"),
    ({"resources": {"worker": {"gpus": -1}}}, ValueError, r"`ReplicaResources.gpus` \(-1\)"),
    ({"resources": {"worker": {"memory": "lots"}}}, ValueError, "Kubernetes quantity"),
    ({"resources": {"worker": {"gpu": 1}}}, TypeError, r"resources\['worker'\]`: .*'gpu'"),
    ({"resources": {"tpu": {}}}, ValueError, "unknown replica type 'tpu'"),
    ({"replicas": {"worker": 1}, "resources": {"ps": {}}}, ValueError,
     r"`TFJobConfig.resources\['ps'\]` is set but the job has no ps replicas"),
    ({"resources": {"worker": {"node_selector": {"pool": 1}}}}, TypeError, "node_selector"),
    ({"env": {"TF_CONFIG": "{}"}}, ValueError, "the operator sets it"),
    ({"restart_policy": "Sometimes"}, ValueError, r"restart_policy` \('Sometimes'\) must be one of"),
    ({"gpus": 1}, ValueError, r"Unknown TFJob config keys \['gpus'\]"),
])
def test_bad_configs_are_clear_errors(changes, error, match):
    with pytest.raises(error, match=match):
        config(**changes)


def test_manifest_takes_a_dict_and_rejects_other_types():
    assert tfjob_manifest({"name": "t", "image": "i", "command": ["x"]})["spec"][
        "tfReplicaSpecs"]["Chief"]["replicas"] == 1
    with pytest.raises(TypeError, match="A TFJob config must be a dict; received list"):
        tfjob_manifest(["t"])


# -- the trainer's TFJob -----------------------------------------------------------------------
def _trainer(**changes):
    from components.trainer.config import TrainerConfig

    values = dict(examples_uri="gs://b/run/examples", transform_graph_uri="gs://b/run/graph",
                  model_uri="gs://b/run/model", estimator="DNNClassifier",
                  params={"dnn_hidden_units": [16, 8]}, train_steps=5000, batch_size=64)
    return TrainerConfig(**{**values, **changes})


@pytest.mark.parametrize("replicas", [
    {"worker": 2, "evaluator": 1},
    {"chief": 1, "worker": 2, "ps": 1, "evaluator": 1},
    {"chief": 1},
])
def test_every_trainer_replica_runs_the_trainer_with_the_configs_flags(replicas):
    from components.trainer.cli import parse_config
    from components.trainer.tfjob import trainer_job

    trainer = _trainer(model_dir="gs://b/run/ckpt", startup_timeout_secs=120)
    manifest = tfjob_manifest(trainer_job(trainer, name="taxi-trainer", image="trainer:1",
                                          replicas=replicas))
    specs = manifest["spec"]["tfReplicaSpecs"]
    assert sorted(specs) == sorted({"chief": "Chief", "worker": "Worker", "ps": "PS",
                                    "evaluator": "Evaluator"}[k] for k in replicas)
    for spec in specs.values():
        command = spec["template"]["spec"]["containers"][0]["command"]
        assert command[:3] == ["python", "-m", "components.trainer"]
        # The entry point's own parser reads back exactly the trainer's config.
        assert parse_config(command[3:]) == trainer


def test_the_trainer_strategy_must_fit_the_replicas():
    from components.trainer.tfjob import trainer_job

    def job(strategy, replicas, resources=None):
        return trainer_job(_trainer(strategy=strategy), name="t", image="i", replicas=replicas,
                           resources=resources)

    job("multi_worker_mirrored", {"worker": 2})
    job("parameter_server", {"chief": 1, "worker": 1, "ps": 1})
    job("mirrored", {"chief": 1, "evaluator": 1}, {"chief": {"gpus": 4}})
    job("tpu", {"chief": 1}, {"chief": V5E})
    with pytest.raises(ValueError, match="ps replicas serve a ParameterServerStrategy only"):
        job("multi_worker_mirrored", {"chief": 1, "worker": 1, "ps": 1})
    with pytest.raises(ValueError, match="add ps replicas"):
        job("parameter_server", {"worker": 2})
    with pytest.raises(ValueError, match="'mirrored' trains on one machine"):
        job("mirrored", {"chief": 1, "worker": 1})
    with pytest.raises(ValueError, match="ask for TPUs: set strategy 'tpu'"):
        job("auto", {"chief": 1}, {"chief": V5E})
    with pytest.raises(ValueError, match="with no TPU resources"):
        job("tpu", {"chief": 1})
    with pytest.raises(TypeError, match="must be a TrainerConfig"):
        trainer_job({"examples_uri": "e"}, name="t", image="i")
