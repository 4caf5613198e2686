"""The component run end to end by kfp.local (SubprocessRunner), as KFP would run it."""

import json
import os

import pytest
from kfp import dsl, local
from kfp.dsl import Artifact, Dataset, Output

from components.transform.component import transform
from components.transform.config import TransformSettings

SPEC_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples",
                         "chicago_taxi", "transform_spec.yaml")


@dsl.component(base_image="python:3.11")
def copy_ingest_outputs(source: str, examples: Output[Dataset], schema: Output[Artifact]):
    """Stands in for the ingest step: publishes prepared files as its two outputs."""
    import shutil

    shutil.copytree(f"{source}/examples", examples.path, dirs_exist_ok=True)
    shutil.copytree(f"{source}/schema", schema.path, dirs_exist_ok=True)


@pytest.mark.slow
def test_kfp_local_runs_the_component(taxi_inputs, tmp_path):
    source = os.path.dirname(taxi_inputs.examples_uri)

    @dsl.pipeline(name="transform-local")
    def pipeline() -> dsl.Artifact:
        ingest = copy_ingest_outputs(source=source)
        task = transform(examples=ingest.outputs["examples"], schema=ingest.outputs["schema"],
                         settings=TransformSettings(spec_file=SPEC_FILE))
        return task.outputs["transform_graph"]

    local.init(runner=local.SubprocessRunner(use_venv=False),
               pipeline_root=str(tmp_path / "root"))
    graph = pipeline().output
    with open(os.path.join(graph.path, "feature_columns.json")) as f:
        described = json.load(f)
    assert described["label_key"] == "big_tipper"
    assert graph.metadata["label_key"] == "big_tipper"
    examples_root = os.path.join(os.path.dirname(graph.path), "transformed_examples")
    with open(os.path.join(examples_root, "transform_result.json")) as f:
        result = json.load(f)
    assert result["splits"]["train"]["rows"] == len(taxi_inputs.train)
    assert result["splits"]["eval"]["rows"] == len(taxi_inputs.eval)
