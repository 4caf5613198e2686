"""The component run by kfp.local (SubprocessRunner), as KFP would run it."""

import json
import os
import shutil

import pytest
from kfp import dsl, local
from kfp.dsl import Artifact, Dataset, Model, Output

from components.evaluator.component import evaluator
from components.evaluator.config import EvaluatorSettings
from components.evaluator.report import IMAGE_PREFIX


@dsl.component(base_image="python:3.11")
def publish_inputs(source: str, examples: Output[Dataset], transformed_examples: Output[Dataset],
                   transform_graph: Output[Artifact], model: Output[Model]):
    """Stands in for the ingest, transform and trainer steps: prepared files as outputs."""
    import shutil

    for name, artifact in (("examples", examples), ("transformed_examples", transformed_examples),
                           ("transform_graph", transform_graph), ("model", model)):
        shutil.copytree(f"{source}/{name}", artifact.path, dirs_exist_ok=True)


@pytest.mark.slow  # about a minute: TensorFlow in a fresh process, four evaluations, an export
def test_kfp_local_runs_the_component(trained, taxi_data, tmp_path):
    source = tmp_path / "inputs"
    shutil.copytree(taxi_data.raw_examples_uri, source / "examples")
    shutil.copytree(taxi_data.transformed_examples_uri, source / "transformed_examples")
    shutil.copytree(taxi_data.transform_graph_uri, source / "transform_graph")
    shutil.copytree(trained.model_uri, source / "model")  # model_dir/ inside, no metadata
    serving = tmp_path / "serving"
    shutil.copytree(trained.serving_model_dir, serving / "taxi" / "1")

    @dsl.pipeline(name="evaluator-local")
    def pipeline() -> Artifact:
        upstream = publish_inputs(source=str(source))
        task = evaluator(examples=upstream.outputs["examples"],
                         transformed_examples=upstream.outputs["transformed_examples"],
                         transform_graph=upstream.outputs["transform_graph"],
                         model=upstream.outputs["model"],
                         settings=EvaluatorSettings(
                             thresholds={"auc": {"lower_bound": 0.7, "max_decrease": 0.01}},
                             slices=("payment_type",), poll_seconds=0.5, timeout_seconds=60),
                         serving_base_uri=str(serving), model_name="taxi")
        return task.outputs["blessing"]

    local.init(runner=local.SubprocessRunner(use_venv=False),
               pipeline_root=str(tmp_path / "root"))
    blessing_artifact = pipeline().output
    # What the verdict was judged against, for the record step (a cached verdict's check).
    metadata = blessing_artifact.metadata
    assert metadata["blessed"] is True and metadata["baseline_source"] == "served"
    assert metadata["baseline_version"] == 1 and metadata["evaluated_at"].endswith("+00:00")
    task_root = os.path.dirname(blessing_artifact.path)
    with open(os.path.join(task_root, "report")) as f:
        page = f.read()
    assert "BLESSED" in page and page.count(IMAGE_PREFIX) >= 4  # steps, ROC, ...
    with open(os.path.join(task_root, "blessing", "blessing.json")) as f:
        blessing = json.load(f)
    assert blessing["blessed"] is True and blessing["metrics"]["auc"] > 0.7
    with open(os.path.join(task_root, "evaluation", "evaluation.json")) as f:
        evaluation = json.load(f)
    assert evaluation["final_step"] == 300 and evaluation["baseline"]["version"] == 1
    assert [e["step"] for e in evaluation["evaluations"]] == [0, 100, 200, 300]
    assert evaluation["analysis"]["slices"]["payment_type"]
