"""A local run's two paths give the same pipeline: every step in the `estpipe` process (the
default) and every step in its own process (kfp.local's SubprocessRunner, as KFP runs it).

The taxi pipeline runs both ways on the same sample with the same seed: the same splits,
the same transform vocabularies, the same metrics to 4 digits, the same verdict and the same
pushed signatures.
"""

import dataclasses
import glob
import os

import pytest
import tensorflow as tf

from components import artifacts
from components.artifacts.evaluation import metrics_log_path
from components.evaluator.metrics_log import MetricsLog
from pipelines.config import load_config
from pipelines.local_run import run_local
from pipelines.summary import read_outcome

pytestmark = pytest.mark.slow


def _signatures(saved_model_dir: str) -> dict:
    loaded = tf.saved_model.load(saved_model_dir)
    return {name: (sorted((k, s.dtype.name, s.shape.as_list())
                          for k, s in function.structured_input_signature[1].items()),
                   sorted((k, s.dtype.name, s.shape.as_list())
                          for k, s in function.structured_outputs.items()))
            for name, function in loaded.signatures.items()}


def _run(config, root, *, isolate_steps: bool):
    config = dataclasses.replace(config, serving=dataclasses.replace(
        config.serving, base_dir=str(root / "serving")))
    result = run_local(config, pipeline_root=str(root / "runs"), enable_caching=False,
                       isolate_steps=isolate_steps)
    outcome = read_outcome(result)
    examples = glob.glob(str(root / "runs" / "*" / "ingest-component" / "examples"))
    vocabularies = glob.glob(str(root / "runs" / "*" / "transform-op" / "transform_graph"
                                 / "transform_fn" / "assets" / "*"))
    return {
        "steps": [(s.name, s.status) for s in result.steps],
        "phases": {s.name: s.phases for s in result.steps},
        "splits": dict(artifacts.read_ingest_result(examples[0]).splits),
        "vocabularies": {os.path.basename(p): open(p, "rb").read() for p in vocabularies},
        # The Estimator's metrics of the final checkpoint: the evaluator step's (the trainer
        # leaves evaluation to it).
        "checkpoint_metrics": {k: round(v, 4) for k, v in MetricsLog(
            metrics_log_path(outcome["evaluation_uri"])).read()[-1].metrics.items()},
        "final_step": outcome["trainer"]["final_step"],
        "blessing": (outcome["blessing"]["blessed"],
                     {k: round(v, 4) for k, v in outcome["blessing"]["metrics"].items()}),
        "signatures": _signatures(outcome["push"]["destination"]),
    }


def test_in_process_and_isolated_steps_give_the_same_pipeline(sample_config, tmp_path):
    path, _ = sample_config
    config = load_config(path)
    here = _run(config, tmp_path / "here", isolate_steps=False)
    isolated = _run(config, tmp_path / "isolated", isolate_steps=True)

    assert here["steps"] == isolated["steps"] == [
        (name, "SUCCESS") for name in ("ingest", "transform", "trainer", "evaluator", "pusher",
                                       "record-run")]
    assert here["splits"] == isolated["splits"] and sum(here["splits"].values()) == 3000
    assert here["vocabularies"] == isolated["vocabularies"] and here["vocabularies"]
    assert here["final_step"] == isolated["final_step"] == 300
    assert here["checkpoint_metrics"] == isolated["checkpoint_metrics"]
    assert here["checkpoint_metrics"]["global_step"] == 300 and "auc" in here["checkpoint_metrics"]
    assert here["blessing"] == isolated["blessing"]
    assert here["signatures"] == isolated["signatures"]
    assert {"serving_default", "predict", "classification"} <= set(here["signatures"])
    # Each step says where its time went, on both paths; in this process the start-up
    # (a fresh Python importing TensorFlow, in the other) is all but gone.
    for phases in (here["phases"], isolated["phases"]):
        assert "training" in phases["trainer"] and "validation" in phases["pusher"]
    assert here["phases"]["trainer"]["start-up"] < isolated["phases"]["trainer"]["start-up"]
