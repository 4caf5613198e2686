"""The pipeline config: the bundled taxi config loads; every problem is named with its place."""

import os

import pytest
import yaml

from pipelines.config import DEFAULT_RESOURCES, ConfigError, load_config, parse_config

TAXI_CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "chicago_taxi",
                           "pipeline.yaml")


def _raw():
    with open(TAXI_CONFIG) as f:
        return yaml.safe_load(f)


def _parse(raw):
    return parse_config(raw, base_dir=os.path.dirname(os.path.abspath(TAXI_CONFIG)),
                        origin="test.yaml")


def test_the_bundled_taxi_config_loads_with_paths_resolved_against_its_folder():
    config = load_config(TAXI_CONFIG)
    example_dir = os.path.dirname(os.path.abspath(TAXI_CONFIG))
    assert config.name == "chicago-taxi"
    assert config.data.input_pattern == os.path.join(example_dir, "data", "data.csv")
    assert os.path.isfile(config.data.input_pattern)
    assert config.transform.spec_file == os.path.join(example_dir, "transform_spec.yaml")
    assert config.trainer.estimator == "DNNLinearCombinedClassifier"
    assert config.trainer.train_steps == 2000 and config.resources["trainer"].cpu == "2"
    assert config.trainer.strategy == "auto" and config.trainer.steps_per_loop == 100
    assert config.trainer.save_checkpoints_steps == 500
    assert {k: t.to_json() for k, t in config.evaluator.thresholds.items()} == {
        "auc": {"lower_bound": 0.7, "max_decrease": 0.01}}
    assert config.resources["evaluator"] == DEFAULT_RESOURCES["evaluator"]
    assert config.serving.model_name == "chicago_taxi"
    assert config.root.endswith(os.path.join("runs", "chicago-taxi"))


@pytest.mark.parametrize("module_key, spec_key", [("module", "spec"),
                                                    ("module_file", "spec_file")])
def test_module_and_spec_paths_resolve_against_the_config_under_either_name(module_key,
                                                                             spec_key):
    raw = _raw()
    raw["model"] = {module_key: "trainer_module.py"}
    raw["transform"] = {spec_key: "transform_spec.py"}
    config = _parse(raw)
    example_dir = os.path.dirname(os.path.abspath(TAXI_CONFIG))
    assert config.trainer.module_file == os.path.join(example_dir, "trainer_module.py")
    assert config.transform.spec_file == os.path.join(example_dir, "transform_spec.py")


def test_every_problem_is_reported_at_once_with_its_place():
    raw = _raw()
    raw["pipeline"]["name"] = "Chicago Taxi"
    raw["data"]["splits"] = {"train": 80}
    raw["transform"]["module"] = "preprocessing.py"   # beside `spec`
    raw["model"]["params"]["hiden_units"] = [4]
    raw["training"]["train_steps"] = 0
    raw["training"]["strategy"] = "horovod"
    raw["training"]["resources"] = {"cpu": "two", "accelerator_count": 1}
    raw["evaluation"]["thresholds"]["auc"]["lower"] = 0.7
    raw["serving"]["model_name"] = "../escape"
    raw["extra"] = {}
    with pytest.raises(ConfigError) as caught:
        _parse(raw)
    problems = "\n".join(caught.value.problems)
    for expected in ("pipeline.name: 'Chicago Taxi' is not a valid name",
                     "data.splits: needs a 'train' and an 'eval' split",
                     "transform.spec: give exactly one of a feature spec",
                     "model.params: Unknown hyperparameters 'hiden_units' (did you mean "
                     "'dnn_hidden_units'?)",
                     "training.train_steps: must be >= 1; received 0",
                     "training.strategy: 'horovod' is unknown; choose one of ('auto', "
                     "'default', 'mirrored', 'multi_worker_mirrored', 'parameter_server', "
                     "'tpu')",
                     "training.resources.cpu: 'two' is not a Kubernetes quantity",
                     "training.resources.accelerator_count: is 1 but no `accelerator_type`",
                     "evaluation.thresholds: Unknown keys ['lower'] in `thresholds.auc`",
                     "serving.model_name: Invalid model name '../escape': use 1 to 128 letters",
                     "extra: unknown section"):
        assert expected in problems
    assert len(caught.value.problems) == 11
    assert str(caught.value).startswith("test.yaml: 11 problem(s)")


def test_missing_sections_and_files_are_named(tmp_path):
    raw = _raw()
    del raw["serving"]
    raw["transform"] = {"spec": "no_such_spec.yaml"}
    with pytest.raises(ConfigError) as caught:
        _parse(raw)
    problems = "\n".join(caught.value.problems)
    assert "serving: missing section" in problems
    assert "transform.spec: 'no_such_spec.yaml' does not exist" in problems
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_config(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("pipeline: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(bad))


def test_every_ingest_option_a_user_needs_to_read_their_file_is_reachable_from_the_yaml():
    raw = _raw()
    raw["data"].update(missing_values=["", "NA", "?"], min_numeric_fraction=0.95,
                       csv_delimiter=";", csv_quotechar="'", column_names=["a", "b", "tips"],
                       csv_max_record_lines=10, format="csv", resources={"cpu": "1"})
    config = _parse(raw)
    settings = config.data.settings
    assert settings.missing_values == ("", "NA", "?")
    assert settings.min_numeric_fraction == 0.95
    assert (settings.csv_delimiter, settings.csv_quotechar) == (";", "'")
    assert settings.column_names == ("a", "b", "tips")
    assert settings.csv_max_record_lines == 10
    assert config.resources["ingest"].cpu == "1"
    raw["data"].update(missing_value=["NA"], csv_delimiter=";;", min_numeric_fraction=2)
    with pytest.raises(ConfigError) as caught:
        _parse(raw)
    assert caught.value.problems == [
        "data.missing_value: unknown setting; did you mean 'missing_values'? data takes "
        + str(sorted({"format" if n == "input_format" else n
                      for n in config.data.settings.names()})),
        "data.csv_delimiter: must be one character (not a newline), got ';;'.",
        "data.min_numeric_fraction: (2) must be a number in (0.5, 1]: the share of a column's "
        "present cells that must be numbers for the column to be numeric (1.0: every one).",
    ]


def test_a_bad_transform_spec_is_reported_with_the_config_problems(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("label: kind\nfeatures:\n"
                    "  - {name: kind, transform: vocabulary}\n"
                    "  - {name: ratio, transform: expression, expression: 'logg(a)'}\n"
                    "  - {name: b, transform: bucketise}\n")
    raw = _raw()
    raw["transform"]["spec"] = str(spec)
    raw["training"]["train_steps"] = 0
    with pytest.raises(ConfigError) as caught:
        _parse(raw)
    problems = caught.value.problems
    assert "training.train_steps: must be >= 1; received 0." in problems
    spec_problems = [p for p in problems if p.startswith("transform.spec: spec.yaml: ")]
    assert len(spec_problems) == 2
    assert "unknown function 'logg' (did you mean 'log'?)" in spec_problems[0]
    assert "'bucketise'" in spec_problems[1] and "bucketize" in spec_problems[1]


def test_the_serving_section_is_where_the_pusher_publishes_and_its_settings():
    from components.pusher.config import PusherSettings

    config = _parse(_raw())
    assert config.serving.model_name == "chicago_taxi"
    assert config.serving.base_dir.endswith(os.path.join("runs", "serving"))
    assert config.serving.settings == PusherSettings(keep_versions=5)
    raw = _raw()
    raw["serving"].update(keep_versions=2, require_blessing=False, infra_validation=False,
                          infra_validation_split="train", infra_validation_examples=4,
                          infra_validation_timeout_seconds=30, resources={"cpu": "2"})
    config = _parse(raw)
    assert config.serving.settings == PusherSettings(
        keep_versions=2, require_blessing=False, infra_validation=False,
        infra_validation_split="train", infra_validation_examples=4,
        infra_validation_timeout_seconds=30)
    assert config.resources["pusher"].cpu == "2"
    del raw["serving"]["keep_versions"]
    assert _parse(raw).serving.settings.keep_versions == 5  # PusherSettings' default


def test_serving_problems_are_named_with_their_place():
    raw = _raw()
    raw["serving"].update(keep_version=3, infra_validation_examples=0, model_name="tax..i")
    del raw["serving"]["base_dir"]
    with pytest.raises(ConfigError) as caught:
        _parse(raw)
    problems = caught.value.problems
    assert problems[0].startswith("serving.model_name: Invalid model name 'tax..i'")
    assert problems[1:] == [
        "serving.base_dir: missing",
        "serving.keep_version: unknown setting; did you mean 'keep_versions'? serving takes "
        "['infra_validation', 'infra_validation_examples', 'infra_validation_split', "
        "'infra_validation_timeout_seconds', 'keep_versions', 'require_blessing']",
        "serving.infra_validation_examples: must be >= 1; received 0.",
    ]
