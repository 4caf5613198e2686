"""The KFP component: it compiles into a pipeline, and checks its arguments at build time."""

import os

import pytest
import yaml
from kfp import compiler, dsl
from kfp.dsl import Artifact, Dataset, Output

from components.transform.component import transform
from components.transform.config import TransformSettings
from components.transform.spec import SpecError

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "chicago_taxi")
SPEC_FILE = os.path.join(EXAMPLES, "transform_spec.yaml")
MODULE_FILE = os.path.join(EXAMPLES, "preprocessing.py")


@dsl.component(base_image="python:3.11")
def fake_ingest(examples: Output[Dataset], schema: Output[Artifact]):
    """Stands in for the ingest step's outputs."""


def _compile(tmp_path, **kwargs) -> dict:
    @dsl.pipeline(name="transform-test")
    def pipeline():
        ingest = fake_ingest()
        transform(examples=ingest.outputs["examples"], schema=ingest.outputs["schema"],
                  settings=TransformSettings(**kwargs))

    path = str(tmp_path / "pipeline.yaml")
    compiler.Compiler().compile(pipeline, path)
    with open(path) as f:
        return yaml.safe_load(f)


def test_compiles_with_a_spec(tmp_path):
    ir = _compile(tmp_path, spec_file=SPEC_FILE,
                  beam_pipeline_args=["--direct_running_mode=multi_processing"])
    component = ir["components"]["comp-transform-op"]
    inputs = component["inputDefinitions"]["artifacts"]
    outputs = component["outputDefinitions"]["artifacts"]
    assert inputs["examples"]["artifactType"]["schemaTitle"] == "system.Dataset"
    assert inputs["schema"]["artifactType"]["schemaTitle"] == "system.Artifact"
    assert outputs["transformed_examples"]["artifactType"]["schemaTitle"] == "system.Dataset"
    assert outputs["transform_graph"]["artifactType"]["schemaTitle"] == "system.Artifact"
    assert outputs["metrics"]["artifactType"]["schemaTitle"] == "system.Metrics"
    task = ir["root"]["dag"]["tasks"]["transform-op"]
    parameters = task["inputs"]["parameters"]
    with open(SPEC_FILE) as f:
        assert parameters["spec_yaml"]["runtimeValue"]["constant"] == f.read()
    settings = parameters["settings"]["runtimeValue"]["constant"]
    assert settings["beam_pipeline_args"] == ["--direct_running_mode=multi_processing"]
    assert "spec_file" not in settings  # the spec travels as its text
    executor = ir["deploymentSpec"]["executors"]["exec-transform-op"]["container"]
    assert "from components.transform.executor import run" in executor["command"][-1]


def test_compiles_with_a_module(tmp_path):
    ir = _compile(tmp_path, module_file=MODULE_FILE, transform_splits=["eval"])
    parameters = ir["root"]["dag"]["tasks"]["transform-op"]["inputs"]["parameters"]
    assert "def preprocessing_fn(inputs)" in parameters["module_source"]["runtimeValue"]["constant"]
    assert parameters["settings"]["runtimeValue"]["constant"]["transform_splits"] == ["eval"]


def test_build_time_checks(tmp_path):
    with pytest.raises(ValueError, match="`spec_file`: give exactly one of a feature spec"):
        _compile(tmp_path)
    with pytest.raises(ValueError, match="`spec_file`: give exactly one of a feature spec"):
        _compile(tmp_path, spec_file=SPEC_FILE, module_file=MODULE_FILE)
    bad_spec = tmp_path / "bad.yaml"
    bad_spec.write_text("features:\n  - {name: fare, transform: zscore}\n")
    with pytest.raises(SpecError, match="unknown transform 'zscore'"):
        _compile(tmp_path, spec_file=str(bad_spec))
    with pytest.raises(FileNotFoundError, match="`module_file` .* is not a file"):
        _compile(tmp_path, module_file=str(tmp_path / "missing.py"))
    no_fn = tmp_path / "module.py"
    no_fn.write_text("def preprocess(inputs):\n    return inputs\n")
    with pytest.raises(ValueError, match="defines no top-level `preprocessing_fn`"):
        _compile(tmp_path, module_file=str(no_fn))
    with pytest.raises(ValueError, match="`analyze_splits` is empty"):
        _compile(tmp_path, spec_file=SPEC_FILE, analyze_splits=[])
