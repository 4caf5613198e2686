"""The component run by kfp.local (SubprocessRunner), as KFP would run it."""

import json
import os
import shutil

import pytest
from kfp import dsl, local
from kfp.dsl import Artifact, Dataset, Model, Output

from components.pusher.component import pusher
from tests.components.pusher.conftest import make_blessing, make_model_artifact


@dsl.component(base_image="python:3.11")
def publish_inputs(source: str, model: Output[Model], blessing: Output[Artifact],
                   examples: Output[Dataset]):
    """Stands in for the trainer, evaluator and ingest steps: prepared files as outputs."""
    import shutil

    for name, artifact in (("model", model), ("blessing", blessing), ("examples", examples)):
        shutil.copytree(f"{source}/{name}", artifact.path, dirs_exist_ok=True)


@pytest.mark.slow  # about 20 s: a Python process with TensorFlow per step, then the check's
def test_kfp_local_runs_the_component(exports, examples_uri, tmp_path):
    source = tmp_path / "inputs"
    make_model_artifact(source, exports["good"])
    make_blessing(source, True, metrics={"auc": 0.8})
    shutil.copytree(examples_uri, source / "examples")
    serving = str(tmp_path / "serving")

    @dsl.pipeline(name="pusher-local")
    def pipeline() -> Artifact:
        upstream = publish_inputs(source=str(source))
        task = pusher(model=upstream.outputs["model"], blessing=upstream.outputs["blessing"],
                      examples=upstream.outputs["examples"], serving_base_uri=serving,
                      model_name="taxi")
        return task.outputs["pushed_model"]

    local.init(runner=local.SubprocessRunner(use_venv=False),
               pipeline_root=str(tmp_path / "root"))
    pushed = pipeline().output
    assert pushed.metadata["pushed"] is True and pushed.metadata["version"] == 1
    assert pushed.metadata["outcome"] == "pushed"
    assert pushed.metadata["push_destination"] == os.path.join(serving, "taxi", "1")
    with open(os.path.join(pushed.path, "push_record.json")) as f:
        record = json.load(f)
    assert record["pushed"] and record["metrics"] == {"auc": 0.8}
    assert record["infra_validation"]["passed"]
    assert os.path.exists(os.path.join(serving, "taxi", "1", "saved_model.pb"))
