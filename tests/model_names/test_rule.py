"""The one model-name rule: the names the pusher, the pipeline config and the server accept."""

import pytest

from model_names import is_valid_model_name, model_name_problem, validate_model_name


@pytest.mark.parametrize("name", ["taxi", "chicago_taxi", "Taxi-2.v1", "7", "m.1", "A9",
                                  "x" * 128])
def test_good_names(name):
    assert validate_model_name(name) == name
    assert is_valid_model_name(name) and model_name_problem(name) is None


@pytest.mark.parametrize("name", ["", ".", "..", "../etc", "a/b", "a\\b", "/abs", "-x", "_x",
                                  ".hidden", "_history", "a b", "tax..i", "ta:xi", "x" * 129,
                                  "naïve", "émile"])
def test_bad_names_say_what_a_name_may_hold(name):
    with pytest.raises(ValueError, match=r"Invalid model name .*: use 1 to 128 letters, "
                                         r"digits, '_', '-' or '.', starting with a letter"):
        validate_model_name(name)
    assert not is_valid_model_name(name)


def test_a_name_must_be_a_string():
    with pytest.raises(TypeError, match="A model name must be a string; received int 3"):
        validate_model_name(3)
    assert not is_valid_model_name(None)
