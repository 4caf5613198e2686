"""PusherConfig and InfraValidation refuse bad values at construction, with clear messages."""

import pytest

from components.pusher import InfraValidation, PusherConfig, validate_model_name

VALID = {"model_uri": "/p/model", "serving_base_uri": "/srv/models", "model_name": "taxi",
         "pushed_model_uri": "/p/pushed", "blessing_uri": "/p/blessing",
         "examples_uri": "/p/examples"}


def test_defaults():
    config = PusherConfig(**VALID)
    assert config.keep_versions == 5 and config.require_blessing
    assert config.infra_validation == InfraValidation(split="eval", num_examples=16)
    assert config.replace(keep_versions=2).keep_versions == 2


@pytest.mark.parametrize("name", ["taxi", "chicago_taxi", "Taxi-2.v1", "7"])
def test_good_model_names(name):
    assert validate_model_name(name) == name


@pytest.mark.parametrize("name", ["", "a/b", "../escape", "..", ".", ".hidden", "_history",
                                  "a b", "a\\b", "tax..i", "x" * 129, "naïve"])
def test_bad_model_names(name):
    with pytest.raises(ValueError, match="is not a valid model name"):
        PusherConfig(**{**VALID, "model_name": name})


def test_model_name_must_be_a_string():
    with pytest.raises(TypeError, match="`model_name` must be a string"):
        validate_model_name(3)


def test_blessing_required_unless_switched_off():
    with pytest.raises(ValueError, match="`blessing_uri` is None but `require_blessing` is True"):
        PusherConfig(**{**VALID, "blessing_uri": None})
    config = PusherConfig(**{**VALID, "blessing_uri": None}, require_blessing=False)
    assert config.blessing_uri is None


def test_examples_required_for_the_infra_validation():
    with pytest.raises(ValueError, match="`examples_uri` is None, but the infra validation"):
        PusherConfig(**{**VALID, "examples_uri": None})
    assert PusherConfig(**{**VALID, "examples_uri": None},
                        infra_validation=None).infra_validation is None


@pytest.mark.parametrize("changes, error, match", [
    ({"keep_versions": 0}, ValueError, "`keep_versions` .* must be a positive integer"),
    ({"keep_versions": True}, ValueError, "`keep_versions`"),
    ({"model_uri": ""}, TypeError, "`model_uri` must be a path or URI"),
    ({"serving_base_uri": None}, TypeError, "`serving_base_uri` must be"),
    ({"require_blessing": "yes"}, TypeError, "`require_blessing` must be a bool"),
    ({"infra_validation": {"split": "eval"}}, TypeError, "`infra_validation` must be"),
    ({"serving_base_uri": "/p/model/"}, ValueError, "must differ from `model_uri`"),
])
def test_bad_values(changes, error, match):
    with pytest.raises(error, match=match):
        PusherConfig(**{**VALID, **changes})


@pytest.mark.parametrize("changes, match", [
    ({"split": ""}, "`split`"), ({"split": "a/b"}, "`split`"),
    ({"num_examples": 0}, "`num_examples` .* positive integer"),
    ({"num_examples": 2.5}, "`num_examples`"),
    ({"timeout_seconds": 0}, "`timeout_seconds` .* positive number"),
    ({"timeout_seconds": "60"}, "`timeout_seconds`"),
])
def test_bad_infra_validation_options(changes, match):
    with pytest.raises(ValueError, match=match):
        InfraValidation(**changes)
