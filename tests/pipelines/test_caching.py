"""A local run's step cache: a step is reused only when nothing that determines it changed.

kfp.local keys a step on its component, command, arguments and environment variables
(`kfp.local.cache.LocalCache.compute_key`). These tests compute that key, with kfp.local's
own function, for each step of the compiled pipeline, then change one setting at a time and
check which steps' keys change: the step the setting belongs to, and every step downstream
(its input artifacts are new when it runs again, which kfp.local sees as new arguments).
"""

import dataclasses
import os

import pytest
import yaml
from kfp import compiler
from kfp.local.cache import LocalCache

from components.ingest.config import IngestSettings
from pipelines.caching import CODE_VERSION_ENV, DATA_FINGERPRINT_ENV, cache_environment
from pipelines.config import load_config
from pipelines.pipeline import build_pipeline

TAXI_CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "chicago_taxi",
                           "pipeline.yaml")
ENVIRONMENT = {CODE_VERSION_ENV: "code-1", DATA_FINGERPRINT_ENV: "data-1"}


def _step_keys(config, tmp_path, environment=ENVIRONMENT) -> dict[str, str]:
    """kfp.local's cache key of each step, from the compiled spec and the parameters' values."""
    path = str(tmp_path / f"p{len(os.listdir(tmp_path))}.yaml")
    pipeline = build_pipeline(config, concurrent_evaluation=False,
                              cache_environment=environment)
    compiler.Compiler().compile(pipeline, path)
    with open(path) as f:
        spec = yaml.safe_load(f)
    defaults = {name: p.get("defaultValue")
                for name, p in spec["root"]["inputDefinitions"]["parameters"].items()}
    cache = LocalCache(str(tmp_path / "cache"))
    tasks, keys = spec["root"]["dag"]["tasks"], {}
    for name in _in_order(tasks):
        task = tasks[name]
        executor = spec["components"][task["componentRef"]["name"]]["executorLabel"]
        container = spec["deploymentSpec"]["executors"][executor]["container"]
        arguments = {}
        for argument, value in task["inputs"].get("parameters", {}).items():
            if "componentInputParameter" in value:
                arguments[argument] = defaults[value["componentInputParameter"]]
            else:
                arguments[argument] = value
        # An input artifact stands for the key of the step that made it: a step that runs
        # again writes new artifacts.
        for argument, value in task["inputs"].get("artifacts", {}).items():
            producer = value["taskOutputArtifact"]["producerTask"]
            arguments[argument] = keys.get(producer, producer)
        keys[name] = cache.compute_key(
            component_name=name, image=container["image"],
            full_command=container.get("command", []) + container.get("args", []),
            arguments=arguments,
            env_vars={e["name"]: e["value"] for e in container.get("env", [])})
    return keys


def _in_order(tasks) -> list[str]:
    """The task names, each after the tasks it depends on."""
    ordered: list[str] = []
    while len(ordered) < len(tasks):
        ordered += [name for name, task in sorted(tasks.items()) if name not in ordered
                    and set(task.get("dependentTasks", [])) <= set(ordered)]
    return ordered


@pytest.fixture(scope="module")
def taxi():
    return load_config(TAXI_CONFIG)


@pytest.fixture(scope="module")
def baseline(taxi, tmp_path_factory):
    return _step_keys(taxi, tmp_path_factory.mktemp("baseline"))


def _changed(before, after):
    return {step for step in before if before[step] != after[step]}


DOWNSTREAM_OF_INGEST = {"ingest-component", "transform-op", "trainer-op", "evaluator-op",
                        "pusher-op", "record-run"}
DOWNSTREAM_OF_TRANSFORM = DOWNSTREAM_OF_INGEST - {"ingest-component"}


INGEST_CHANGES = {
    "label_column": "fare", "splits": {"train": 70.0, "eval": 30.0},
    "split_key": "trip_start_timestamp", "max_bad_row_fraction": 0.2,
    "column_types": {"fare": "FLOAT"}, "input_format": "tfrecord",
    "beam_pipeline_args": ("--direct_num_workers=2",), "missing_values": ("", "?"),
    "min_numeric_fraction": 0.95, "csv_delimiter": ";", "csv_quotechar": "'",
    "column_names": ("a", "b"), "csv_max_record_lines": 10, "csv_max_record_bytes": 4096,
    "drift_threshold": 0.2, "max_domain_size": 10, "fail_on_anomalies": True,
    "batch_size": 100,
}


def test_every_ingest_setting_is_covered_here():
    assert set(INGEST_CHANGES) == set(IngestSettings.names())


@pytest.mark.parametrize("name", sorted(INGEST_CHANGES))
def test_each_ingest_setting_reruns_ingest_and_everything_after_it(taxi, baseline, name,
                                                                    tmp_path):
    settings = dataclasses.replace(taxi.data.settings, **{name: INGEST_CHANGES[name]})
    config = dataclasses.replace(taxi, data=dataclasses.replace(taxi.data, settings=settings))
    assert _changed(baseline, _step_keys(config, tmp_path)) >= DOWNSTREAM_OF_INGEST


@pytest.mark.parametrize("change", [{"input_pattern": "/data/other/*.csv"}, {"span": 3}],
                         ids=lambda change: next(iter(change)))
def test_the_input_reruns_ingest_and_everything_after_it(taxi, baseline, change, tmp_path):
    config = dataclasses.replace(taxi, data=dataclasses.replace(taxi.data, **change))
    assert _changed(baseline, _step_keys(config, tmp_path)) >= DOWNSTREAM_OF_INGEST


def test_each_transform_setting_reruns_transform_and_not_ingest(taxi, baseline, tmp_path):
    spec = tmp_path / "spec.yaml"
    with open(taxi.transform.spec_file) as f:
        text = f.read()
    spec.write_text(text.replace("num_buckets: 10", "num_buckets: 8"))
    assert text != spec.read_text()
    for transform in (dataclasses.replace(taxi.transform, spec_file=str(spec)),
                      dataclasses.replace(taxi.transform,
                                          beam_pipeline_args=("--direct_num_workers=2",))):
        changed = _changed(baseline, _step_keys(
            dataclasses.replace(taxi, transform=transform), tmp_path))
        assert changed >= DOWNSTREAM_OF_TRANSFORM
        assert "ingest-component" not in changed


def test_a_model_setting_reruns_the_trainer_but_not_the_data_steps(taxi, baseline, tmp_path):
    config = dataclasses.replace(taxi, trainer=dataclasses.replace(
        taxi.trainer, params={"dnn_hidden_units": [32, 16]}))
    changed = _changed(baseline, _step_keys(config, tmp_path))
    assert {"trainer-op", "evaluator-op", "pusher-op"} <= changed
    assert not changed & {"ingest-component", "transform-op"}


def test_new_data_or_new_code_reruns_every_step_and_nothing_else_does(taxi, baseline, tmp_path):
    assert _changed(baseline, _step_keys(taxi, tmp_path)) == set()
    for name in ENVIRONMENT:
        changed = _changed(baseline, _step_keys(taxi, tmp_path, ENVIRONMENT | {name: "2"}))
        assert changed == set(baseline)


def test_the_local_environment_fingerprints_the_data_and_the_code(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    first = cache_environment(str(data))
    assert set(first) == {CODE_VERSION_ENV, DATA_FINGERPRINT_ENV}
    data.write_text("a,b\n1,2\n3,4\n")
    assert cache_environment(str(data))[DATA_FINGERPRINT_ENV] != first[DATA_FINGERPRINT_ENV]
    assert cache_environment(str(data))[CODE_VERSION_ENV] == first[CODE_VERSION_ENV]
    assert cache_environment(str(tmp_path / "nothing-*.csv")) is None
    assert cache_environment("gs://bucket/data/*.csv") is None
