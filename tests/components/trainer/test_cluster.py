"""The trainer as a TFJob runs it: one `python -m components.trainer` per task (slow).

Each task runs the command of the trainer's TFJob manifest (`tfjob.trainer_job`) with
TF_CONFIG set, as the Training Operator would, on loopback ports; the cluster helpers are
those of tests/estimator_lib/test_distributed_cluster.py. The model is the dense trainer
module (testdata/dense_module.py): a MultiWorkerMirroredStrategy cluster cannot all-reduce
the sparse gradients of embeddings yet.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
import tensorflow as tf

import estimator_lib as el
from components.artifacts.model import TRAINER_RESULT_FILE as RESULT_FILE
from components.trainer.config import TrainerConfig
from components.trainer.tfjob import tfjob_manifest, trainer_job
from tests.estimator_lib.test_distributed_cluster import Cluster, checkpoints_are_whole

pytestmark = pytest.mark.slow

DENSE_MODULE = os.path.join(os.path.dirname(__file__), "testdata", "dense_module.py")
STEPS = 40
SAVE_STEPS = 20


class TrainerCluster(Cluster):
    """A loopback cluster whose tasks run the trainer's TFJob command."""

    def __init__(self, directory, jobs, command):
        super().__init__(directory, jobs)
        self.trainer_command = [sys.executable, *command[1:]]  # The image's python: ours.

    def command(self, *extra: str) -> list[str]:
        return [*self.trainer_command, *extra]


def test_two_worker_tfjob_trains_to_max_steps_and_only_the_chief_writes_outputs(taxi_data,
                                                                                 tmp_path):
    model_uri, other_uri = str(tmp_path / "model"), str(tmp_path / "worker1_model")
    config = TrainerConfig(
        examples_uri=taxi_data.transformed_examples_uri,
        transform_graph_uri=taxi_data.transform_graph_uri, model_uri=model_uri,
        model_dir=str(tmp_path / "model_dir"), module_file=DENSE_MODULE,
        params={"hidden_units": [8]}, train_steps=STEPS, save_checkpoints_steps=SAVE_STEPS,
        steps_per_loop=10, batch_size=32, eval_steps=4, startup_timeout_secs=60)
    manifest = tfjob_manifest(trainer_job(config, name="taxi", image="trainer:1",
                                          replicas={"worker": 2}))
    command = manifest["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][
        0]["command"]
    cluster = TrainerCluster(str(tmp_path), {"worker": 2}, command)
    try:
        cluster.start("worker:0")  # The chief: worker 0 of a chief-less cluster.
        # Worker 1 gets its own model artifact, so anything it wrote there would show; both
        # share the model_dir, as every replica of the TFJob does.
        cluster.start("worker:1", "--model-uri", other_uri)
        results = cluster.wait_all(timeout=300)
    finally:
        cluster.close()
    chief, worker = results["worker:0"], results["worker:1"]
    for task in ("worker:0", "worker:1"):
        assert "strategy multi_worker_mirrored: " in open(
            cluster.processes[task].log + ".err").read()
    assert chief["cluster_task"] == "worker:0" and chief["final_step"] == STEPS
    with open(os.path.join(model_uri, RESULT_FILE)) as f:
        assert json.load(f) == chief
    assert chief["metrics"]["global_step"] == STEPS and 0 < chief["metrics"]["auc"] <= 1
    assert tf.saved_model.load(chief["serving_model_dir"]).signatures["classification"]
    assert sorted(os.listdir(model_uri)) == ["serving_model", RESULT_FILE]  # no model_dir/
    assert checkpoints_are_whole(config.model_dir, SAVE_STEPS, STEPS)[-1] == STEPS
    assert el.training_status.read_training_done(config.model_dir)["global_step"] == STEPS
    # The worker trained (in sync with the chief) and wrote no trainer output.
    assert worker["cluster_task"] == "worker:1"
    assert worker["serving_model_dir"] is None
    assert worker["metrics"] == {}
    assert not os.path.exists(other_uri)
