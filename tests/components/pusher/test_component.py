"""The KFP component: it compiles into a pipeline, and checks its arguments at build time."""

import pytest
import yaml
from kfp import compiler, dsl
from kfp.dsl import Artifact, Dataset, Model, Output

from components.pusher import PusherSettings
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
    settings = PusherSettings(keep_versions=3, infra_validation_split="train",
                              infra_validation_examples=8, infra_validation_timeout_seconds=60)
    ir = _compile(tmp_path, settings=settings)
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
    # The settings travel as one struct parameter, and come back as the same settings.
    assert set(parameters) == {"settings", "serving_base_uri", "model_name"}
    embedded = parameters["settings"]["runtimeValue"]["constant"]
    assert embedded == settings.to_json()
    assert PusherSettings.from_json(embedded) == settings
    assert component["inputDefinitions"]["parameters"]["settings"]["parameterType"] == "STRUCT"
    executor = ir["deploymentSpec"]["executors"]["exec-pusher-op"]["container"]
    assert "from components.pusher.executor import PusherConfig, PusherSettings, run" in \
        executor["command"][-1]
    assert "pip install" not in " ".join(executor["command"])  # the image holds the project


def test_no_blessing_and_no_infra_validation(tmp_path):
    ir = _compile(tmp_path, with_blessing=False, with_examples=False,
                  settings=PusherSettings(require_blessing=False, infra_validation=False))
    task = ir["root"]["dag"]["tasks"]["pusher-op"]
    assert set(task["inputs"]["artifacts"]) == {"model"}
    settings = task["inputs"]["parameters"]["settings"]["runtimeValue"]["constant"]
    assert settings["infra_validation"] is False and settings["require_blessing"] is False


@pytest.mark.parametrize("kwargs, error, match", [
    ({"model_name": "../taxi"}, ValueError, "`model_name`: Invalid model name '../taxi'"),
    ({"with_blessing": False}, ValueError, "`blessing_uri` is None but `require_blessing`"),
    ({"with_examples": False}, ValueError, "`examples_uri` is None, but the infra validation"),
    ({"settings": {"keep_versions": 3}}, TypeError, "`settings` must be PusherSettings"),
])
def test_build_time_checks(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        _compile(tmp_path, **kwargs)
