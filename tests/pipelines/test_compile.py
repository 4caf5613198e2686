"""The compiled Kubeflow IR YAML: loaded back, every step, wire, resource and image checked."""

import dataclasses
import os

import pytest
import yaml

from components.common.resources import Resources
from components.evaluator.config import EvaluatorSettings
from components.pusher.config import PusherSettings
from components.trainer.config import TrainerSettings
from pipelines.compile import compile_pipeline, submit_pipeline
from pipelines.config import load_config

TAXI_CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "chicago_taxi",
                           "pipeline.yaml")
IMAGE = "registry.example.com/ml/estimator-pipelines:0.1.0-gpu"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    config = load_config(TAXI_CONFIG)
    gpu = dataclasses.replace(config.trainer, strategy="mirrored", steps_per_loop=50)
    config = dataclasses.replace(config, trainer=gpu, resources=dict(
        config.resources, trainer=Resources(cpu="8", memory="32G",
                                            accelerator_type="NVIDIA_TESLA_T4",
                                            accelerator_count=2)))
    path = str(tmp_path_factory.mktemp("compiled") / "taxi.yaml")
    assert compile_pipeline(config, path, image=IMAGE) == path
    with open(path) as f:
        return yaml.safe_load(f), config


def _tasks(spec):
    return spec["root"]["dag"]["tasks"]


def test_every_step_is_there_and_runs_in_the_given_image(compiled):
    spec, config = compiled
    assert spec["pipelineInfo"]["name"] == "chicago-taxi"
    assert set(_tasks(spec)) == {"ingest-component", "transform-op", "plan-model-dir",
                                 "trainer-op", "evaluator-op", "pusher-op", "record-run"}
    executors = spec["deploymentSpec"]["executors"]
    assert len(executors) == 7
    assert {e["container"]["image"] for e in executors.values()} == {IMAGE}
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert parameters["train_steps"]["defaultValue"] == 2000
    assert parameters["model_name"]["defaultValue"] == "chicago_taxi"
    assert parameters["input_pattern"]["defaultValue"] == config.data.input_pattern
    assert spec["defaultPipelineRoot"] == config.root


def test_no_step_installs_anything_when_its_container_starts(compiled):
    # A cluster without internet runs each step with what its image holds: kfp's default
    # command for a Python component begins with `pip install kfp==...`.
    spec, _ = compiled
    executors = spec["deploymentSpec"]["executors"]
    assert executors
    for name, executor in executors.items():
        command = " ".join(executor["container"].get("command", []) +
                           executor["container"].get("args", []))
        assert "pip install" not in command and "pip3 install" not in command, name
        assert "ensurepip" not in command, name


def test_every_step_asks_for_cpu_and_memory(compiled):
    # On a shared cluster a step without requests is scheduled anywhere and evicted first.
    spec, config = compiled
    executors = spec["deploymentSpec"]["executors"]
    for name, executor in executors.items():
        resources = executor["container"].get("resources", {})
        assert resources.get("cpuRequest") and resources.get("memoryRequest"), name
    ingest = executors["exec-ingest-component"]["container"]["resources"]
    assert ingest["cpuRequest"] == float(config.resources["ingest"].cpu)


def test_the_evaluator_runs_beside_the_trainer_on_the_same_planned_model_dir(compiled):
    spec, _ = compiled
    tasks = _tasks(spec)
    for name in ("trainer-op", "evaluator-op"):
        assert "plan-model-dir" in tasks[name]["dependentTasks"]
        model_dir = tasks[name]["inputs"]["parameters"]["model_dir"]
        assert model_dir["taskOutputParameter"] == {"producerTask": "plan-model-dir",
                                                    "outputParameterKey": "Output"}
    assert "trainer-op" not in tasks["evaluator-op"]["dependentTasks"]
    assert set(tasks["pusher-op"]["dependentTasks"]) >= {"trainer-op", "evaluator-op"}
    pusher_inputs = tasks["pusher-op"]["inputs"]["artifacts"]
    assert pusher_inputs["blessing"]["taskOutputArtifact"] == {
        "producerTask": "evaluator-op", "outputArtifactKey": "blessing"}
    assert pusher_inputs["model"]["taskOutputArtifact"]["producerTask"] == "trainer-op"
    plan_args = tasks["plan-model-dir"]["inputs"]["parameters"]
    assert plan_args["run_id"]["runtimeValue"]["constant"] == "{{$.pipeline_job_uuid}}"
    # New data can arrive under the same pattern: a cluster never serves ingest from cache.
    assert not tasks["ingest-component"]["cachingOptions"].get("enableCache", False)
    assert not tasks["pusher-op"]["cachingOptions"].get("enableCache", False)


def test_resources_and_the_accelerator_land_on_the_trainer(compiled):
    spec, _ = compiled
    resources = spec["deploymentSpec"]["executors"]["exec-trainer-op"]["container"]["resources"]
    assert resources["cpuRequest"] == 8 and resources["cpuLimit"] == 8
    assert resources["memoryRequest"] == 32 and resources["memoryLimit"] == 32
    assert resources["accelerator"]["resourceType"] == "NVIDIA_TESLA_T4"
    assert resources["accelerator"]["resourceCount"] == "2"


def test_the_steps_carry_their_config_in_the_spec(compiled):
    spec, config = compiled
    tasks = _tasks(spec)
    constant = lambda task, name: tasks[task]["inputs"]["parameters"][name]["runtimeValue"]["constant"]  # noqa: E731
    with open(config.transform.spec_file) as f:
        assert constant("transform-op", "spec_yaml") == f.read()
    trainer = constant("trainer-op", "settings")
    assert trainer["estimator"] == "DNNLinearCombinedClassifier"
    assert trainer["params"] == {"dnn_hidden_units": [64, 32]}
    assert trainer["strategy"] == "mirrored"  # the node's 2 GPUs
    assert trainer["steps_per_loop"] == 50
    assert trainer["save_checkpoints_steps"] == 500
    assert "module_file" not in trainer  # a module travels as its source
    # What the step's container does with it: the same settings back.
    assert TrainerSettings.from_json(dict(trainer, train_steps=2000)) == config.trainer
    evaluator = constant("evaluator-op", "settings")
    assert evaluator["thresholds"] == {"auc": {"lower_bound": 0.7, "max_decrease": 0.01}}
    assert evaluator["slices"] == ["trip_start_hour", "payment_type"]
    assert EvaluatorSettings.from_json(evaluator) == config.evaluator
    assert constant("ingest-component", "settings")["label_column"] == "tips"
    pusher = constant("pusher-op", "settings")
    assert pusher["keep_versions"] == 5 and pusher["infra_validation"] is True
    assert PusherSettings.from_json(pusher) == config.serving.settings
    outputs = spec["components"]["comp-evaluator-op"]["outputDefinitions"]["artifacts"]
    assert outputs["metrics"]["artifactType"]["schemaTitle"] == "system.Metrics"
    assert outputs["classification_metrics"]["artifactType"]["schemaTitle"] == \
        "system.ClassificationMetrics"
    # What the Kubeflow UI renders: the report, the statistics page, the run summary.
    assert outputs["report"]["artifactType"]["schemaTitle"] == "system.HTML"
    components = spec["components"]
    ingest_outputs = components["comp-ingest-component"]["outputDefinitions"]["artifacts"]
    assert ingest_outputs["statistics_html"]["artifactType"]["schemaTitle"] == "system.HTML"
    assert ingest_outputs["metrics"]["artifactType"]["schemaTitle"] == "system.Metrics"
    record_outputs = components["comp-record-run"]["outputDefinitions"]["artifacts"]
    assert record_outputs == {"summary": {"artifactType": {"schemaTitle": "system.Markdown",
                                                           "schemaVersion": "0.0.1"}}}


def test_a_bad_image_reference_and_an_unreachable_endpoint_are_clear_errors(tmp_path):
    config = load_config(TAXI_CONFIG)
    with pytest.raises(ValueError, match="is not a container image reference"):
        compile_pipeline(config, str(tmp_path / "x.yaml"), image="Not An Image!")
    assert not os.path.exists(tmp_path / "x.yaml")
    # A closed loopback port: the client fails fast, and the error names the endpoint.
    with pytest.raises(RuntimeError, match="http://127.0.0.1:9"):
        submit_pipeline(config, host="http://127.0.0.1:9")


def test_every_run_is_recorded_and_warm_start_resolves_the_latest_blessed_model(tmp_path):
    config = load_config(TAXI_CONFIG)
    config = dataclasses.replace(config, warm_start=True)
    path = compile_pipeline(config, str(tmp_path / "warm.yaml"))
    with open(path) as f:
        tasks = _tasks(yaml.safe_load(f))
    assert tasks["trainer-op"]["inputs"]["parameters"]["warm_start_from"][
        "taskOutputParameter"] == {"producerTask": "resolve-base-model",
                                   "outputParameterKey": "Output"}
    records = f"{config.root}/records"
    assert tasks["resolve-base-model"]["inputs"]["parameters"]["pipeline_root"]["runtimeValue"][
        "constant"] == config.root
    record = tasks["record-run"]
    assert set(record["dependentTasks"]) >= {"pusher-op", "evaluator-op", "trainer-op"}
    assert record["inputs"]["parameters"]["records"]["runtimeValue"]["constant"] == records
    assert record["inputs"]["parameters"]["run_id"]["runtimeValue"]["constant"] == \
        "{{$.pipeline_job_name}}"


def test_a_span_pipeline_on_a_cluster_runs_only_when_a_new_span_arrived(tmp_path):
    config = load_config(TAXI_CONFIG)
    config = dataclasses.replace(config, data=dataclasses.replace(
        config.data, input_pattern=str(tmp_path / "span-{SPAN}" / "*.csv")))
    path = compile_pipeline(config, str(tmp_path / "spans.yaml"))
    with open(path) as f:
        spec = yaml.safe_load(f)
    tasks = _tasks(spec)
    assert set(tasks) == {"check-new-span", "condition-1"}
    condition = tasks["condition-1"]
    assert condition["triggerPolicy"]["condition"] == \
        "inputs.parameter_values['pipelinechannel--check-new-span-Output'] == 'new'"
    inner = spec["components"][condition["componentRef"]["name"]]["dag"]["tasks"]
    assert {"ingest-component", "trainer-op", "evaluator-op", "pusher-op", "record-run"} <= \
        set(inner)


def test_the_new_span_check_reads_the_records(tmp_path):
    from pipelines.record_steps import check_new_span

    check = check_new_span.python_func
    pattern = str(tmp_path / "data" / "span-{SPAN}" / "*.csv")
    root = str(tmp_path / "runs")
    (tmp_path / "data" / "span-1").mkdir(parents=True)
    (tmp_path / "data" / "span-1" / "a.csv").write_text("x\n1\n")
    assert check(input_pattern=pattern, span=-1, pipeline_root=root) == "new"
    runs = tmp_path / "runs" / "records" / "runs"
    runs.mkdir(parents=True)
    (runs / "r1.json").write_text('{"run_id": "r1", "span": 1, "finished_at": "x"}')
    assert check(input_pattern=pattern, span=-1, pipeline_root=root) == "none"
    assert check(input_pattern=pattern, span=1, pipeline_root=root) == "new"  # a given span
    (tmp_path / "data" / "span-2").mkdir()
    (tmp_path / "data" / "span-2" / "a.csv").write_text("x\n1\n")
    assert check(input_pattern=pattern, span=-1, pipeline_root=root) == "new"


def test_the_trainer_leaves_evaluation_to_the_evaluator_step(compiled):
    spec, _ = compiled
    trainer = _tasks(spec)["trainer-op"]["inputs"]["parameters"]
    assert trainer["evaluate"]["runtimeValue"]["constant"] is False
    assert "model_dir" in _tasks(spec)["evaluator-op"]["inputs"]["parameters"]  # beside it


def test_an_error_while_the_pipeline_is_built_reaches_the_caller(tmp_path):
    # The definition runs on a thread of its own (pipelines.pipeline.build_pipeline).
    module = tmp_path / "no_model_fn.py"
    module.write_text("def input_fn():\n    pass\n")
    config = load_config(TAXI_CONFIG)
    config = dataclasses.replace(config, trainer=dataclasses.replace(
        config.trainer, estimator=None, module_file=str(module)))
    with pytest.raises(ValueError, match="model_fn"):
        compile_pipeline(config, str(tmp_path / "p.yaml"), image=IMAGE)
