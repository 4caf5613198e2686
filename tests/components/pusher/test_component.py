"""The KFP component: it compiles into a pipeline, and checks its arguments at build time."""

import pytest
import yaml
from kfp import compiler, dsl
from kfp.dsl import Artifact, Dataset, Model, Output

from components.pusher import InfraValidation
from components.pusher.component import pusher


@dsl.component(base_image="python:3.11")
def fake_upstream(model: Output[Model], blessing: Output[Artifact], examples: Output[Dataset]):
    """Stands in for the trainer, evaluator and ingest outputs."""


def _compile(tmp_path, *, with_blessing=True, with_examples=True, **kwargs) -> dict:
    @dsl.pipeline(name="pusher-test")
    def pipeline(serving_base: str = "/srv/models"):
        upstream = fake_upstream()
        arguments = {"serving_base_uri": serving_base, "model_name": "taxi", **kwargs}
        if with_blessing:
            arguments["blessing"] = upstream.outputs["blessing"]
        if with_examples:
            arguments["examples"] = upstream.outputs["examples"]
        pusher(model=upstream.outputs["model"], **arguments)

    path = str(tmp_path / "pipeline.yaml")
    compiler.Compiler().compile(pipeline, path)
    with open(path) as f:
        return yaml.safe_load(f)


def test_compiles_with_typed_inputs_and_outputs(tmp_path):
    ir = _compile(tmp_path, keep_versions=3,
                  infra_validation=InfraValidation(split="train", num_examples=8,
                                                   timeout_seconds=60))
    component = ir["components"]["comp-pusher-op"]
    inputs = component["inputDefinitions"]["artifacts"]
    assert inputs["model"]["artifactType"]["schemaTitle"] == "system.Model"
    assert inputs["blessing"]["artifactType"]["schemaTitle"] == "system.Artifact"
    assert inputs["blessing"]["isOptional"] and inputs["examples"]["isOptional"]
    assert inputs["examples"]["artifactType"]["schemaTitle"] == "system.Dataset"
    outputs = component["outputDefinitions"]["artifacts"]
    assert outputs["pushed_model"]["artifactType"]["schemaTitle"] == "system.Artifact"
    assert outputs["metrics"]["artifactType"]["schemaTitle"] == "system.Metrics"
    task = ir["root"]["dag"]["tasks"]["pusher-op"]
    parameters = task["inputs"]["parameters"]
    assert parameters["serving_base_uri"]["componentInputParameter"] == "serving_base"
    assert parameters["model_name"]["runtimeValue"]["constant"] == "taxi"
    assert parameters["keep_versions"]["runtimeValue"]["constant"] == 3
    assert parameters["validation_split"]["runtimeValue"]["constant"] == "train"
    assert parameters["validation_examples"]["runtimeValue"]["constant"] == 8
    assert parameters["infra_validation"]["runtimeValue"]["constant"] is True
    executor = ir["deploymentSpec"]["executors"]["exec-pusher-op"]["container"]
    assert "from components.pusher.executor import InfraValidation, PusherConfig, run" in \
        executor["command"][-1]
    assert "pip install" not in " ".join(executor["command"])  # the image holds the project


def test_no_blessing_and_no_infra_validation(tmp_path):
    ir = _compile(tmp_path, with_blessing=False, with_examples=False, require_blessing=False,
                  infra_validation=None)
    task = ir["root"]["dag"]["tasks"]["pusher-op"]
    assert set(task["inputs"]["artifacts"]) == {"model"}
    assert task["inputs"]["parameters"]["infra_validation"]["runtimeValue"]["constant"] is False


@pytest.mark.parametrize("kwargs, error, match", [
    ({"model_name": "../taxi"}, ValueError, "is not a valid model name"),
    ({"with_blessing": False}, ValueError, "`blessing_uri` is None but `require_blessing`"),
    ({"with_examples": False}, ValueError, "`examples_uri` is None, but the infra validation"),
    ({"keep_versions": 0}, ValueError, "`keep_versions`"),
])
def test_build_time_checks(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        _compile(tmp_path, **kwargs)
