"""The taxi pipeline end to end with kfp.local, as `estpipe run` runs it, on a CI-sized sample.

Real steps, in the `estpipe` process as `estpipe run` runs them by default: Beam ingest,
tf.Transform, training, the evaluator's blessing, the pusher's fresh-process validation and
publish (test_local_paths.py checks that each step in its own process gives the same). A second run with unchanged data
reuses every cached step, and the pusher sees the model is already served.
"""

import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from pipelines import cli
from pipelines.config import load_config
from pipelines.local_run import run_local
from pipelines.summary import read_outcome
from serving import ModelConfig, ModelServer, ServerOptions, taxi_client, tf_example

TRAIN_STEPS = 300  # conftest.sample_config's


@pytest.mark.slow
def test_estpipe_run_trains_blesses_and_pushes_then_reuses_unchanged_steps(sample_config,
                                                                           capsys):
    path, root = sample_config
    assert cli.main(["run", path]) == 0
    report = capsys.readouterr().out
    assert "Evaluator: BLESSED" in report
    report_line = next(line for line in report.splitlines() if line.startswith("  report: "))
    assert open(report_line.split(": ", 1)[1]).read().startswith("<!DOCTYPE html>")
    assert "the run took" in report and "x its training time" in report
    serving = root / "serving" / "chicago_taxi"
    assert f"Pushed version 1 to {serving / '1'}" in report

    # The pushed model answers TF Serving's Classify contract on raw tf.Examples.
    raw_eval = glob.glob(str(root / "runs" / "*" / "ingest-component" / "examples" / "Split-eval"
                             / "*.tfrecord.gz"))
    assert raw_eval
    examples = [r.numpy() for r in tf.data.TFRecordDataset(raw_eval[:1], compression_type="GZIP")
                .take(4)]
    loaded = tf.saved_model.load(str(serving / "1"))
    scores = loaded.signatures["classification"](inputs=tf.constant(examples))["scores"]
    assert scores.shape == (4, 2)

    # The local model server serves the pushed version to TF Serving's gRPC and REST clients;
    # the taxi client types the raw features as the ingest step did (its schema).
    schema = glob.glob(str(root / "runs" / "*" / "ingest-component" / "schema" / "schema.pbtxt"))
    trips = taxi_client.taxi_examples(4, str(root / "taxi_sample.csv"), schema=schema[0])
    direct = loaded.signatures["classification"](inputs=tf.constant(
        [tf_example.make_example(t).SerializeToString() for t in trips]))["scores"].numpy()
    options = ServerOptions(port=0, rest_port=0, file_system_poll_wait_seconds=0)
    with ModelServer([ModelConfig("chicago_taxi", str(serving))], options=options) as server:
        for served in (taxi_client.classify_grpc(server.grpc_address, "chicago_taxi", trips),
                       taxi_client.classify_rest(server.rest_url, "chicago_taxi", trips)):
            scores = [[score for _, score in classes] for classes in served]
            np.testing.assert_allclose(scores, direct, rtol=1e-5)

    # Checkpoints every 100 steps: the evaluator evaluated each one once, in order.
    config = load_config(path)
    result = run_local(config, enable_caching=True)  # the same data: every step is cached
    statuses = {step.name: step.status for step in result.steps}
    assert statuses == {"ingest": "CACHED", "transform": "CACHED", "trainer": "CACHED",
                        "evaluator": "CACHED", "pusher": "SUCCESS", "record-run": "SUCCESS"}
    outcome = read_outcome(result)
    assert outcome["push"]["outcome"] == "already_pushed" and not outcome["push"]["pushed"]
    assert outcome["trainer"]["final_step"] == TRAIN_STEPS
    assert outcome["blessing"]["blessed"] is True
    log = os.path.join(outcome["evaluation_uri"], "metrics.jsonl")
    steps = [json.loads(line)["step"] for line in open(log)]
    assert steps == [0, 100, 200, 300]  # the first checkpoint is saved before step 1
    assert sorted(os.listdir(serving)) == ["1", "_pushes.jsonl"]
