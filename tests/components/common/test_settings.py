"""The steps' settings: one class declares each setting; the YAML, the component and the CLI
derive from it."""

import dataclasses

import pytest

from components.common.resources import Resources
from components.common.settings import check_settings, settings_of
from components.evaluator.config import EvaluatorConfig, EvaluatorSettings
from components.trainer import cli
from components.trainer.config import TrainerConfig, TrainerSettings


def test_json_round_trip_with_kfp_floats():
    settings = TrainerSettings(estimator="DNNClassifier", params={"dnn_hidden_units": [8, 4]},
                               train_steps=300, log_every_steps=50)
    data = settings.to_json()
    # KFP hands dict parameters over as protobuf Structs: every number a double.
    kfp = dict(data, train_steps=300.0, params={"dnn_hidden_units": [8.0, 4.0]},
               log_every_steps=50.0)
    assert TrainerSettings.from_json(kfp) == settings
    evaluator = EvaluatorSettings(thresholds={"auc": {"lower_bound": 0.7}}, slices=("a",))
    assert EvaluatorSettings.from_json(evaluator.to_json()) == evaluator
    with pytest.raises(ValueError, match=r"unknown setting; did you mean 'train_steps'"):
        TrainerSettings.from_json({"train_stpes": 3})


def test_every_problem_of_a_section_is_reported_with_its_place_and_a_suggestion():
    from components.model.recipe import CANNED_PARAMS

    settings, problems = check_settings(TrainerSettings, {
        "model": {"estimator": "DNNClassifier", "params": {"hiden_units": [4]}},
        "training": {"train_steps": 0, "batch_size": "big", "stratgy": "mirrored",
                     "keep_checkpoint_max": -1, "seed": 1.5}})
    assert settings is None
    # Types and names first; then each value the class refuses, not only the first.
    assert problems == [
        "training.batch_size: must be an integer; got 'big'",
        "training.stratgy: unknown setting; did you mean 'strategy'? training takes "
        + str(sorted(TrainerSettings.names())),
        "training.seed: must be an integer; got 1.5",
        "training.train_steps: must be >= 1; received 0.",
        "training.keep_checkpoint_max: must be >= 1; received -1.",
        "model.params: Unknown hyperparameters 'hiden_units' (did you mean 'hidden_units'?) "
        "for DNNClassifier; it takes "
        f"{sorted(set(CANNED_PARAMS) | {'dropout', 'hidden_units', 'learning_rate', 'optimizer'})}.",
    ]


def test_a_renamed_key_is_reported_by_the_name_the_user_wrote():
    _, problems = check_settings(TrainerSettings, {"model": {"module": 3}},
                                 rename={"module": "module_file"})
    assert problems[0] == "model.module: must be a non-empty string; got 3"
    assert problems[1].startswith("model.estimator: give a canned estimator's name, or a "
                                  "Python file with model_fn as the module")
    _, problems = check_settings(TrainerSettings, {"model": {"modul": "m.py"}},
                                 rename={"module": "module_file"})
    assert problems[0].startswith("model.modul: unknown setting; did you mean 'module'?")


def test_the_executor_config_is_the_settings_plus_the_artifacts():
    settings = EvaluatorSettings(slices=("payment_type",), eval_steps=3)
    config = EvaluatorConfig(**settings.to_json(), model_dir="m", examples_uri="e",
                             transformed_examples_uri="t", transform_graph_uri="g",
                             evaluation_uri="v", blessing_uri="b")
    assert settings_of(EvaluatorSettings, config) == settings
    assert set(EvaluatorSettings.names()) < {f.name for f in dataclasses.fields(config)}


def test_a_new_trainer_setting_reaches_yaml_component_and_cli_from_its_class_alone():
    # `log_every_steps` is declared in TrainerSettings and used in the executor, nowhere else.
    settings, problems = check_settings(TrainerSettings, {
        "model": {"estimator": "LinearClassifier"}, "training": {"log_every_steps": 25}})
    assert problems == [] and settings.log_every_steps == 25
    assert TrainerSettings.from_json(settings.to_json()).log_every_steps == 25
    config = cli.parse_config(["--examples-uri", "e", "--transform-graph-uri", "g",
                               "--model-uri", "m", "--estimator", "LinearClassifier",
                               "--log-every-steps", "25"])
    assert isinstance(config, TrainerConfig) and config.log_every_steps == 25
    assert cli.parse_config(cli.trainer_args(config)) == config


def test_resources_are_checked_settings_too():
    assert check_settings(Resources, {"training.resources": {"cpu": "500m", "memory": "2Gi"}}
                          )[0] == Resources(cpu="500m", memory="2Gi")
    _, problems = check_settings(Resources, {"training.resources": {"cpu": "two",
                                                                    "accelerator_count": 2}})
    assert problems == [
        "training.resources.cpu: 'two' is not a Kubernetes quantity (e.g. '4', '500m', '16G').",
        "training.resources.accelerator_count: is 2 but no `accelerator_type` says which "
        "(e.g. 'NVIDIA_TESLA_T4').",
    ]


def test_canned_hyperparameters_take_the_estimators_own_argument_names():
    settings = TrainerSettings(estimator="DNNClassifier",
                               params={"hidden_units": [8, 4], "dropout": 0.1})
    assert settings.recipe("g").params == {"dnn_hidden_units": [8, 4], "dnn_dropout": 0.1}
    linear = TrainerSettings(estimator="LinearRegressor", params={"learning_rate": 0.1})
    assert linear.recipe("g").params == {"linear_learning_rate": 0.1}
    with pytest.raises(ValueError, match=r"`hidden_units` and `dnn_hidden_units` name the same"):
        TrainerSettings(estimator="DNNClassifier",
                        params={"hidden_units": [8], "dnn_hidden_units": [8]})
    with pytest.raises(ValueError, match=r"'hiddn_units' \(did you mean 'hidden_units'\?\)"):
        TrainerSettings(estimator="DNNRegressor", params={"hiddn_units": [8]})
