"""The cluster layout: the evaluator watching the model_dir of a trainer that is running."""

import os
import subprocess
import sys

import pytest

from components.evaluator.checkpoints import list_checkpoints, read_training_done
from components.evaluator.executor import run
from estimator_lib import training_status
from tests.components.evaluator.conftest import make_config

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..")
TRAIN = """
import sys
from components.trainer.executor import TrainerConfig, run
run(TrainerConfig(examples_uri=sys.argv[1], transform_graph_uri=sys.argv[2],
                  model_uri=sys.argv[3], estimator="DNNLinearCombinedClassifier",
                  params={"dnn_hidden_units": [16, 8]}, train_steps=1000, batch_size=128,
                  save_checkpoints_steps=200, steps_per_loop=50))
"""


@pytest.mark.slow  # about a minute: a real training in a second process
def test_metrics_stream_while_the_trainer_runs_in_another_process(taxi_data, tmp_path):
    model_uri = str(tmp_path / "model")
    model_dir = os.path.join(model_uri, "model_dir")
    trainer = subprocess.Popen(
        [sys.executable, "-c", TRAIN, taxi_data.transformed_examples_uri,
         taxi_data.transform_graph_uri, model_uri], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        result = run(make_config(taxi_data, tmp_path, model_dir, poll_seconds=0.2,
                                 timeout_seconds=180,
                                 thresholds={"auc": {"lower_bound": 0.7}}))
    finally:
        _, errors = trainer.communicate(timeout=300)
    assert trainer.returncode == 0, errors[-3000:]
    written = [c.step for c in list_checkpoints(model_dir)]
    assert written == [0, 200, 400, 600, 800, 1000]
    assert [e.step for e in result.evaluations] == written  # each exactly once
    assert result.final_step == 1000 == read_training_done(model_dir).final_step
    done_at = training_status.read_training_done(model_dir)["time"]
    assert min(e.time for e in result.evaluations) < done_at  # streamed during training
    assert result.blessed and result.metrics["auc"] > 0.85
