"""The KFP component: it compiles into a pipeline, and checks its arguments at build time."""

import pytest
import yaml
from kfp import compiler, dsl
from kfp.dsl import Artifact, Dataset, Model, Output

from components.common.resources import Resources
from components.evaluator.component import evaluator
from components.evaluator.config import EvaluatorSettings


@dsl.component(base_image="python:3.11")
def fake_upstream(examples: Output[Dataset], transformed_examples: Output[Dataset],
                  transform_graph: Output[Artifact], model: Output[Model]):
    """Stands in for the ingest, transform and trainer outputs."""


def _compile(tmp_path, *, with_model=False, **kwargs) -> dict:
    @dsl.pipeline(name="evaluator-test")
    def pipeline(model_dir: str = "gs://bucket/run/model_dir",
                 serving_base: str = "gs://bucket/serving"):
        upstream = fake_upstream()
        arguments = dict(examples=upstream.outputs["examples"],
                         transformed_examples=upstream.outputs["transformed_examples"],
                         transform_graph=upstream.outputs["transform_graph"])
        if with_model:
            arguments["model"] = upstream.outputs["model"]
        else:
            arguments["model_dir"] = model_dir
        if kwargs.pop("serving_from_parameter", False):
            kwargs["serving_base_uri"] = serving_base
        chosen = {k: kwargs.pop(k) for k in list(kwargs) if k in EvaluatorSettings.names()}
        evaluator(**arguments, settings=EvaluatorSettings(**chosen), **kwargs)

    path = str(tmp_path / "pipeline.yaml")
    compiler.Compiler().compile(pipeline, path)
    with open(path) as f:
        return yaml.safe_load(f)


def test_compiles_with_typed_inputs_outputs_and_parameters(tmp_path):
    ir = _compile(tmp_path, thresholds={"auc": {"lower_bound": 0.7, "max_decrease": 0.01}},
                  slices=["payment_type"], serving_from_parameter=True, model_name="taxi",
                  timeout_seconds=600, resources=Resources(cpu="2", memory="8G"))
    component = ir["components"]["comp-evaluator-op"]
    inputs = component["inputDefinitions"]["artifacts"]
    assert {name: a["artifactType"]["schemaTitle"] for name, a in inputs.items()} == {
        "examples": "system.Dataset", "transformed_examples": "system.Dataset",
        "transform_graph": "system.Artifact", "model": "system.Model"}
    assert inputs["model"]["isOptional"]
    outputs = component["outputDefinitions"]["artifacts"]
    assert {name: a["artifactType"]["schemaTitle"] for name, a in outputs.items()} == {
        "evaluation": "system.Artifact", "blessing": "system.Artifact",
        "metrics": "system.Metrics", "classification_metrics": "system.ClassificationMetrics",
        "report": "system.HTML"}
    task = ir["root"]["dag"]["tasks"]["evaluator-op"]
    parameters = task["inputs"]["parameters"]
    assert parameters["model_dir"]["componentInputParameter"] == "model_dir"
    assert parameters["serving_base_uri"]["componentInputParameter"] == "serving_base"
    settings = parameters["settings"]["runtimeValue"]["constant"]
    assert settings["thresholds"] == {"auc": {"lower_bound": 0.7, "max_decrease": 0.01}}
    assert settings["slices"] == ["payment_type"]
    assert settings["timeout_seconds"] == 600.0
    assert EvaluatorSettings.from_json(settings).timeout_seconds == 600
    assert "model" not in task["inputs"].get("artifacts", {})  # runs beside the trainer
    container = ir["deploymentSpec"]["executors"]["exec-evaluator-op"]["container"]
    assert container["resources"]["cpuRequest"] == 2
    assert "pip install" not in " ".join(container["command"])  # the image holds the project


def test_the_trainers_model_output_instead_of_a_model_dir(tmp_path):
    ir = _compile(tmp_path, with_model=True)
    task = ir["root"]["dag"]["tasks"]["evaluator-op"]
    assert task["inputs"]["artifacts"]["model"]["taskOutputArtifact"]["outputArtifactKey"] == \
        "model"
    assert task["inputs"]["parameters"]["model_dir"]["runtimeValue"]["constant"] == ""


@pytest.mark.parametrize("kwargs, error, match", [
    ({"with_model": True, "model_dir": "/m"}, ValueError, "exactly one of `model_dir`"),
    ({"thresholds": {"auc": {"lower": 0.7}}}, ValueError, r"Unknown keys \['lower'\]"),
    ({"thresholds": {"accuracyy": {"lower_bound": 0.7}}}, ValueError, "Unknown metric"),
    ({"model_name": "taxi"}, ValueError, "Give both `serving_base_uri` and `model_name`"),
    ({"slices": "payment_type"}, TypeError, "`slices` must be a list"),
    ({"timeout_seconds": -1}, ValueError, "`timeout_seconds`"),
])
def test_build_time_checks(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        _compile(tmp_path, **kwargs)
