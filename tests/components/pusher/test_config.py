"""PusherSettings and PusherConfig refuse bad values at construction, naming the field."""

import dataclasses

import pytest

from components.common.settings import check_settings
from components.pusher import PusherConfig, PusherSettings

VALID = {"model_uri": "/p/model", "serving_base_uri": "/srv/models", "model_name": "taxi",
         "pushed_model_uri": "/p/pushed", "blessing_uri": "/p/blessing",
         "examples_uri": "/p/examples"}


def test_defaults():
    settings = PusherSettings()
    assert settings.to_json() == {
        "keep_versions": 5, "require_blessing": True, "infra_validation": True,
        "infra_validation_split": "eval", "infra_validation_examples": 16,
        "infra_validation_timeout_seconds": 300.0}
    config = PusherConfig(**VALID)
    assert config.keep_versions == 5 and config.require_blessing and config.infra_validation
    assert config.replace(keep_versions=2).keep_versions == 2


def test_settings_are_frozen_keyword_only_and_survive_kfp():
    with pytest.raises(TypeError):
        PusherSettings(3)  # keyword-only
    with pytest.raises(dataclasses.FrozenInstanceError):
        PusherSettings().keep_versions = 3
    settings = PusherSettings(keep_versions=3, infra_validation_examples=8,
                              infra_validation_timeout_seconds=60)
    # KFP hands a struct parameter's numbers over as floats.
    passed = {k: float(v) if type(v) is int else v for k, v in settings.to_json().items()}
    assert PusherSettings.from_json(passed) == settings


@pytest.mark.parametrize("changes, error, match", [
    ({"keep_versions": 0}, ValueError, r"^`keep_versions` must be >= 1; received 0\.$"),
    ({"keep_versions": True}, TypeError, "`keep_versions` must be an integer"),
    ({"keep_versions": 2.5}, TypeError, "`keep_versions` must be an integer"),
    ({"require_blessing": "yes"}, TypeError, "`require_blessing` must be true or false"),
    ({"infra_validation": None}, TypeError, "`infra_validation` must be true or false"),
    ({"infra_validation_split": ""}, ValueError, "`infra_validation_split` .* split name"),
    ({"infra_validation_split": "a/b"}, ValueError, "`infra_validation_split`"),
    ({"infra_validation_examples": 0}, ValueError, "`infra_validation_examples` must be >= 1"),
    ({"infra_validation_timeout_seconds": 0}, ValueError,
     r"`infra_validation_timeout_seconds` \(0\) must be a positive number of seconds"),
    ({"infra_validation_timeout_seconds": "60"}, ValueError,
     "`infra_validation_timeout_seconds`"),
])
def test_bad_settings_name_the_field(changes, error, match):
    with pytest.raises(error, match=match):
        PusherSettings(**changes)
    with pytest.raises(error, match=match):  # the config checks its settings too
        PusherConfig(**VALID, **changes)


def test_bad_model_names_are_refused_by_the_one_rule():
    for name in ("../escape", "tax..i", "_history", ""):
        with pytest.raises(ValueError, match=r"^`model_name`: Invalid model name"):
            PusherConfig(**{**VALID, "model_name": name})
    with pytest.raises(TypeError, match="`model_name`: A model name must be a string"):
        PusherConfig(**{**VALID, "model_name": 3})


def test_blessing_required_unless_switched_off():
    with pytest.raises(ValueError, match="`blessing_uri` is None but `require_blessing` is True"):
        PusherConfig(**{**VALID, "blessing_uri": None})
    config = PusherConfig(**{**VALID, "blessing_uri": None}, require_blessing=False)
    assert config.blessing_uri is None


def test_examples_required_for_the_infra_validation():
    with pytest.raises(ValueError, match="`examples_uri` is None, but the infra validation"):
        PusherConfig(**{**VALID, "examples_uri": None})
    assert PusherConfig(**{**VALID, "examples_uri": None},
                        infra_validation=False).examples_uri is None


@pytest.mark.parametrize("changes, error, match", [
    ({"model_uri": ""}, TypeError, "`model_uri` must be a path or URI"),
    ({"serving_base_uri": None}, TypeError, "`serving_base_uri` must be"),
    ({"serving_base_uri": "/p/model/"}, ValueError, "must differ from `model_uri`"),
])
def test_bad_uris(changes, error, match):
    with pytest.raises(error, match=match):
        PusherConfig(**{**VALID, **changes})


def test_the_yaml_section_reports_every_problem_with_its_place():
    settings, problems = check_settings(PusherSettings, {"serving": {
        "keep_versions": 3, "infra_validation_examples": 32}})
    assert problems == [] and settings == PusherSettings(keep_versions=3,
                                                         infra_validation_examples=32)
    settings, problems = check_settings(PusherSettings, {"serving": {
        "keep_version": 3, "keep_versions": 0, "infra_validation": "no",
        "infra_validation_timeout_seconds": -1}})
    assert settings is None
    assert problems == [
        "serving.keep_version: unknown setting; did you mean 'keep_versions'? serving takes "
        + str(sorted(PusherSettings.names())),
        "serving.infra_validation: must be true or false; got 'no'",
        "serving.keep_versions: must be >= 1; received 0.",
        "serving.infra_validation_timeout_seconds: (-1) must be a positive number of seconds.",
    ]
