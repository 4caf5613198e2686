"""The model-name rule: what TF Serving accepts as a model name and what is safe as one
folder name on every file system.

A letter or digit first (no ".", "..", hidden or "_"-prefixed names, so a name never
collides with the pusher's `_pushes.jsonl` or `_staging-*`), then letters, digits, "_", "-"
and "."; 128 characters at most; no "/" or "\\" and no "..", so a name never leaves
`<serving_base>/`.

Example:
    >>> model_name_problem("chicago_taxi") is None
    True
    >>> validate_model_name("../etc")
    Traceback (most recent call last):
    ValueError: Invalid model name '../etc': use 1 to 128 letters, digits, ...
"""

from __future__ import annotations

import re

__all__ = ["is_valid_model_name", "model_name_problem", "validate_model_name"]

_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def model_name_problem(name: object) -> str | None:
    """What is wrong with `name` as a model name, in one sentence, or None if it is valid.

    Example:
        >>> model_name_problem("a/b")
        "Invalid model name 'a/b': use 1 to 128 letters, digits, ..."
    """
    if not isinstance(name, str):
        return f"A model name must be a string; received {type(name).__name__} {name!r}."
    if not _MODEL_NAME.fullmatch(name) or ".." in name:
        return (f"Invalid model name {name!r}: use 1 to 128 letters, digits, '_', '-' or "
                "'.', starting with a letter or digit, without '..' (e.g. 'chicago_taxi'). It "
                "names the folder `<serving_base>/<model_name>/` and the model TF Serving "
                "clients ask for.")
    return None


def validate_model_name(name: object) -> str:
    """Returns `name` if it is a valid model name (see the module's rule).

    Raises:
        TypeError: If `name` is not a string.
        ValueError: If it breaks the rule, saying what a name may hold.

    Example:
        >>> validate_model_name("chicago_taxi")
        'chicago_taxi'
    """
    problem = model_name_problem(name)
    if problem is not None:
        raise (TypeError if not isinstance(name, str) else ValueError)(problem)
    return name  # type: ignore[return-value]


def is_valid_model_name(name: object) -> bool:
    """Whether `name` is a valid model name.

    Example:
        >>> is_valid_model_name("taxi"), is_valid_model_name("..")
        (True, False)
    """
    return model_name_problem(name) is None
