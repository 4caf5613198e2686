"""One frozen settings class per step, and everything derived from it.

A step's settings class (`TrainerSettings`, `EvaluatorSettings`, ...) declares each setting
once: its name, type, default and check (in `__post_init__`). From it come:

- the pipeline YAML section (`check_settings`: every problem at once, each with its place,
  unknown keys with the closest known name);
- the KFP component's one `settings` parameter (`to_json` when the pipeline is built,
  `from_json` in the step's container);
- the step's executor config, which adds the artifact URIs to the settings (a subclass);
- command-line flags where a step has a CLI (`components/trainer/cli.py`).

So adding a setting touches the settings class and the code that uses it.

Example:
    >>> @dataclasses.dataclass(frozen=True, kw_only=True)
    ... class ToySettings(Settings):
    ...     steps: int = 10
    >>> ToySettings.from_json({"steps": 20.0}).steps      # KFP hands numbers over as floats
    20
    >>> check_settings(ToySettings, {"toy": {"stpes": 3}})[1]
    ["toy.stpes: unknown setting; did you mean 'steps'? toy takes ['steps']"]
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Self, TypeVar

from components.common.kfp_values import whole_numbers

__all__ = ["FrozenDict", "Settings", "check_settings", "settings_of"]

_S = TypeVar("_S", bound="Settings")
_FIELD_IN_MESSAGE = re.compile(r"^`(\w+)`")


class FrozenDict(dict):
    """A read-only dict, for mapping-valued settings of a frozen settings class (it copies and
    pickles, unlike `types.MappingProxyType`).

    Example:
        >>> FrozenDict({"train": 80.0})["eval"] = 20.0
        Traceback (most recent call last):
        TypeError: FrozenDict is read-only
    """

    def _refuse(self, *args, **kwargs):
        raise TypeError("FrozenDict is read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __reduce__(self):
        return FrozenDict, (dict(self),)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Base of the steps' settings classes: frozen, keyword-only, checked at construction.

    Subclasses declare their settings as fields with defaults and check them in
    `__post_init__`, raising TypeError or ValueError with a message that starts with the
    field's name in backticks (`` `train_steps` must be ... ``), so that the pipeline config
    can say where the problem is.
    """

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The settings' names, in declaration order."""
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def types(cls) -> dict[str, Any]:
        """The settings' types, by name (annotations resolved: `int | None`, not a string).

        Example:
            >>> TrainerSettings.types()["eval_steps"]
            int | None
        """
        return _hints(cls)

    def to_json(self) -> dict[str, Any]:
        """The settings as JSON data (what the KFP component's `settings` parameter holds).

        A setting that is None where None is its default is left out: KFP's struct
        parameters cannot hold null, and `from_json` gives the default back.
        """
        defaults = {field.name: field.default for field in dataclasses.fields(self)}
        return {name: _jsonable(getattr(self, name)) for name in type(self).names()
                if not (getattr(self, name) is None and defaults[name] is None)}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Self:
        """The settings `to_json` gave (numbers made whole where the field is an int).

        Raises:
            ValueError: For an unknown setting, naming the closest known one.
            TypeError, ValueError: From the class's own checks.
        """
        unknown = [key for key in value if key not in cls.names()]
        if unknown:
            raise ValueError(_unknown_message(cls, unknown[0], f"{cls.__name__}"))
        hints = _hints(cls)
        value = whole_numbers(dict(value))
        return cls(**{key: _coerce(hints[key], item) for key, item in value.items()})


def settings_of(cls: type[_S], config: Any) -> _S:
    """The `cls` settings held by `config` (an executor config that extends `cls`).

    Example:
        >>> settings_of(TrainerSettings, trainer_config).train_steps
        2000
    """
    return cls(**{name: getattr(config, name) for name in cls.names()})


def check_settings(cls: type[_S], sections: Mapping[str, Any],
                   rename: Mapping[str, str] | None = None) -> tuple[_S | None, list[str]]:
    """Builds `cls` from config sections, collecting every problem instead of raising.

    Args:
        cls: The step's settings class.
        sections: `{place: mapping}`: the config sections that hold this step's settings,
            e.g. `{"model": {...}, "training": {...}}`; a None mapping is an empty one.
            Problems read "training.train_steps: ...".
        rename: Config keys that are another setting's name in `cls`
            (`{"module": "module_file"}`); the problems use the config's key.

    Returns:
        (the settings, []) or (None, problems).

    Example:
        >>> check_settings(TrainerSettings, {"training": {"train_steps": -1}})
        (None, ['training.train_steps: must be >= 1; received -1.'])
    """
    rename = dict(rename or {})
    back = {setting: key for key, setting in rename.items()}
    hints = _hints(cls)
    problems, values, place = [], {}, {}
    for where, value in sections.items():
        if value is None:
            continue
        if not isinstance(value, Mapping):
            problems.append(f"{where}: must be a mapping of settings; got {value!r}")
            continue
        for key, item in value.items():
            name = rename.get(key, key)
            if name not in hints:
                problems.append(_unknown_message(cls, str(key), where, back=back))
            elif (problem := _type_problem(hints[name], item)) is not None:
                problems.append(f"{where}.{key}: {problem}; got {item!r}")
            else:
                values[name], place[name] = _coerce(hints[name], item), f"{where}.{key}"
    # A class checks one field at a time: after a problem with a given setting, the check
    # runs again without it (at its default), so every setting's problem is reported.
    while True:
        try:
            settings = cls(**values)
            break
        except (TypeError, ValueError) as error:
            message = str(error)
            match = _FIELD_IN_MESSAGE.match(message)
            name = match.group(1) if match else None
            if name in values:
                problems.append(f"{place[name]}: {_detail(message, match)}")
                del values[name]
                continue
            if name in hints:
                where = f"{next(iter(sections))}.{back.get(name, name)}"
                problems.append(f"{where}: {_detail(message, match)}")
            else:
                problems.append(f"{' / '.join(sections)}: {message}")
            return None, problems
    return (None, problems) if problems else (settings, [])


def _detail(message: str, match: re.Match) -> str:
    """The message without its leading field name (the place says it)."""
    return message[match.end():].lstrip(" :")


def _unknown_message(cls: type, key: str, where: str,
                     back: Mapping[str, str] | None = None) -> str:
    known = [(back or {}).get(name, name) for name in cls.names()]
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{where}.{key}: unknown setting; {hint}{where} takes {sorted(known)}"


def _hints(cls: type) -> dict[str, Any]:
    module = __import__(cls.__module__, fromlist=["_"])
    return typing.get_type_hints(cls, globalns=vars(module))


def _allows_none(hint: Any) -> bool:
    return type(None) in typing.get_args(hint)


def _base(hint: Any) -> Any:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, type(int | None)) and len(args) == 1:
        return args[0]
    return hint


def _type_problem(hint: Any, value: Any) -> str | None:
    """What is wrong with `value`'s type for a field annotated `hint`, or None."""
    if value is None:
        return None if _allows_none(hint) else "must be set (not null)"
    base = _base(hint)
    origin = typing.get_origin(base) or base
    if base is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if base is int:
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        return None if whole and not isinstance(value, bool) else "must be an integer"
    if base is float:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return None if number else "must be a number"
    if base is str:
        return None if isinstance(value, str) and value else "must be a non-empty string"
    if origin in (tuple, list, Sequence):
        ok = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
        return None if ok else "must be a list of strings"
    if origin in (dict, Mapping):
        return None if isinstance(value, Mapping) else "must be a mapping"
    return None


def _coerce(hint: Any, value: Any) -> Any:
    """`value` in the field's own type: whole floats to int, lists to tuples."""
    base = _base(hint)
    origin = typing.get_origin(base) or base
    if base is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if origin is tuple and isinstance(value, list):
        return tuple(value)
    return value


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
