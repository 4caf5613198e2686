"""The trainer from the command line: `python -m components.trainer --examples-uri ...`.

This is what every replica of a TFJob runs (see `components.trainer.tfjob.trainer_job`):
the operator sets TF_CONFIG in each pod, and `executor.run` gives each its role. The flags
are `TrainerConfig`'s fields, one each, derived from the dataclass so the two cannot drift
apart: `--examples-uri`, `--transform-graph-uri`, `--model-uri`, `--estimator` or
`--module-file`, `--params` (a JSON object), `--train-steps`, `--strategy`, ...
`trainer_args(config)` is the inverse of `parse_config`: the flags that rebuild `config`.

The task prints its `TrainerResult` as one JSON line on stdout when it ends
(`cluster_task` says which TF_CONFIG task it was).

Example:
    $ python -m components.trainer --examples-uri /runs/1/transform/examples \\
        --transform-graph-uri /runs/1/transform/graph --model-uri /runs/1/model \\
        --estimator DNNClassifier --params '{"dnn_hidden_units": [64, 32]}' --train-steps 2000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from components.trainer.config import STRATEGIES, TrainerConfig

__all__ = ["build_parser", "main", "parse_config", "trainer_args"]

_FIELDS = {field.name: field for field in dataclasses.fields(TrainerConfig)}


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON ({error}): {text!r}") from None


def _json_object(text: str) -> dict[str, Any]:
    value = _json(text)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object; received {text!r}")
    return value


def _json_strings(text: str) -> tuple[str, ...]:
    value = _json(text)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise argparse.ArgumentTypeError(f"must be a JSON list of strings; received {text!r}")
    return tuple(value)


def _number(text: str) -> float:
    value = float(text)
    return int(value) if value.is_integer() else value


def _boolean(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"must be true or false; received {text!r}")
    return text.lower() == "true"


def _parser(name: str, hint: Any) -> Callable[[str], Any]:
    """How a flag's text becomes the field's value, from the field's type: any type a
    settings class may declare (see `components.common.settings.check_settings`), so a new
    setting needs no change here."""
    options = [t for t in typing.get_args(hint) if t is not type(None)]
    base = options[0] if type(None) in typing.get_args(hint) and len(options) == 1 else hint
    origin = typing.get_origin(base) or base
    parsers = {bool: _boolean, int: int, float: _number, str: str}
    if base in parsers:
        return parsers[base]
    if origin in (tuple, list, Sequence):
        return _json_strings
    if origin in (dict, Mapping):
        return _json_object
    raise TypeError(f"components.trainer.cli cannot read TrainerConfig field `{name}` of type "
                    f"{hint}; give it a type a settings class may declare (bool, int, float, "
                    "str, a list of strings, a mapping, or one of these or None).")


_PARSERS = {name: _parser(name, hint) for name, hint in TrainerConfig.types().items()}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _has_default(field: dataclasses.Field) -> bool:
    return (field.default is not dataclasses.MISSING
            or field.default_factory is not dataclasses.MISSING)


def _default(field: dataclasses.Field) -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def build_parser() -> argparse.ArgumentParser:
    """The parser of the trainer's flags: one per `TrainerConfig` field.

    Example:
        >>> build_parser().parse_args(["--examples-uri", "e", "--transform-graph-uri", "g",
        ...                            "--model-uri", "m", "--estimator", "DNNClassifier"])
    """
    parser = argparse.ArgumentParser(
        prog="python -m components.trainer",
        description="Trains an estimator_lib Estimator on transformed examples and exports it "
                    "(components.trainer.executor.run); on a cluster, this TF_CONFIG task's "
                    "part. The flags are TrainerConfig's fields.")
    for name, field in _FIELDS.items():
        kwargs: dict[str, Any] = {"dest": name, "type": _PARSERS[name]}
        if name == "strategy":
            kwargs["choices"] = STRATEGIES
        if _has_default(field):
            kwargs["default"] = argparse.SUPPRESS  # TrainerConfig's own default applies
            kwargs["help"] = f"default: {_default(field)!r}"
        else:
            kwargs["required"] = True
        parser.add_argument(_flag(name), **kwargs)
    parser.add_argument("--log-level", default="INFO", dest="log_level",
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="Python logging level (default: INFO).")
    return parser


def parse_config(argv: Sequence[str] | None = None) -> TrainerConfig:
    """The `TrainerConfig` the flags `argv` give (default: `sys.argv[1:]`).

    Raises:
        SystemExit: For unknown flags, bad values or a config `TrainerConfig` refuses
            (argparse's usage message, with TrainerConfig's reason).
    """
    parser = build_parser()
    return _config(parser, parser.parse_args(argv))


def _config(parser: argparse.ArgumentParser, args: argparse.Namespace) -> TrainerConfig:
    values = {k: v for k, v in vars(args).items() if k in _FIELDS}
    try:
        return TrainerConfig(**values)
    except (TypeError, ValueError) as error:
        parser.error(str(error))
        raise  # parser.error exits; this is for type checkers


def trainer_args(config: TrainerConfig) -> list[str]:
    """The flags that give back `config` (`parse_config(trainer_args(c)) == c`).

    Fields left at their default are left out, so the config's defaults apply.

    Example:
        >>> trainer_args(TrainerConfig(examples_uri="e", transform_graph_uri="g",
        ...                            model_uri="m", estimator="DNNClassifier"))
        ['--examples-uri', 'e', '--transform-graph-uri', 'g', '--model-uri', 'm', '--estimator', 'DNNClassifier']
    """
    if not isinstance(config, TrainerConfig):
        raise TypeError(f"`config` must be a TrainerConfig; received {type(config).__name__}.")
    args = []
    for name, field in _FIELDS.items():
        value = getattr(config, name)
        if _has_default(field) and value == _default(field):
            continue
        if value is None:  # a default-None field set to None is left out above
            raise ValueError(f"`{name}` is None, which no flag can say.")
        args += [_flag(name), _text(value)]
    return args


def _text(value: Any) -> str:
    """A field's value as its flag's text (what `_PARSERS` reads back)."""
    if isinstance(value, Mapping):
        return json.dumps(dict(value), sort_keys=True)
    if isinstance(value, list | tuple):
        return json.dumps(list(value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def main(argv: Sequence[str] | None = None) -> None:
    """Parses the flags, runs the trainer and prints its `TrainerResult` as one JSON line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = _config(parser, args)

    from console import quiet_tensorflow

    quiet_tensorflow()
    from components.trainer import executor  # TensorFlow: after the flags are checked

    print(json.dumps(executor.run(config).to_json()), flush=True)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
