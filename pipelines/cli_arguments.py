"""The command-line arguments every `estpipe` command that runs a pipeline shares.

`estpipe run`, `compile`, `submit` and `schedule` take the same config argument and the same
run-time overrides (the pipeline's parameters); they are declared here once. `compile` and
`submit` also take `--root` and `--allow-local` (`add_cluster_overrides`): what they build is
the config with the overrides applied (`with_overrides`).

Example:
    >>> parser = argparse.ArgumentParser()
    >>> add_config(parser); add_overrides(parser)
    >>> run_arguments(parser.parse_args(["--train-steps", "500"]))
    {'train_steps': 500}
"""

from __future__ import annotations

import argparse
import dataclasses
import os

__all__ = ["DEFAULT_CONFIG", "add_cluster_overrides", "add_config", "add_overrides", "load",
           "run_arguments", "with_overrides"]

DEFAULT_CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "examples", "chicago_taxi", "pipeline.yaml")


def add_config(parser: argparse.ArgumentParser) -> None:
    """The positional `config` argument (default: the bundled Chicago taxi pipeline)."""
    parser.add_argument("config", nargs="?", default=DEFAULT_CONFIG,
                        help="pipeline config YAML (default: the Chicago taxi pipeline)")


def add_overrides(parser: argparse.ArgumentParser) -> None:
    """The flags that override the pipeline's run-time parameters for one run."""
    parser.add_argument("--input-pattern", help="override data.input_pattern for this run")
    parser.add_argument("--train-steps", type=int, help="override training.train_steps")
    parser.add_argument("--serving-base", help="override serving.base_dir")
    parser.add_argument("--model-name", type=_model_name, help="override serving.model_name")


def _model_name(text: str) -> str:
    from model_names import validate_model_name

    try:
        return validate_model_name(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_cluster_overrides(parser: argparse.ArgumentParser) -> None:
    """The overrides of a pipeline built for a cluster: `--root`, those of `add_overrides`,
    and `--allow-local` (paths of this machine, for tests)."""
    parser.add_argument("--root", help="pipeline root on the cluster's object store, e.g. "
                                       "gs://bucket/runs (default: the config's)")
    add_overrides(parser)
    parser.add_argument("--allow-local", action="store_true",
                        help="accept a pipeline root, serving base or input pattern on this "
                             "machine (a cluster cannot reach them; for tests)")


def with_overrides(config, args: argparse.Namespace):
    """`config` with the override flags of `args` applied (relative local paths made
    absolute): the pipeline `compile` and `submit` build, its parameters' defaults included."""

    def where(path: str) -> str:
        return path if "://" in path else os.path.abspath(path)

    changes = {}
    if getattr(args, "root", None):
        changes["root"] = where(args.root)
    if args.input_pattern:
        changes["data"] = dataclasses.replace(config.data, input_pattern=where(args.input_pattern))
    serving = {k: v for k, v in (("base_dir", args.serving_base and where(args.serving_base)),
                                 ("model_name", args.model_name)) if v}
    if serving:
        changes["serving"] = dataclasses.replace(config.serving, **serving)
    if args.train_steps is not None:
        changes["trainer"] = dataclasses.replace(config.trainer, train_steps=args.train_steps)
    return dataclasses.replace(config, **changes)


def run_arguments(args: argparse.Namespace) -> dict:
    """The pipeline parameters the override flags set (those not given are left out)."""
    overrides = {"input_pattern": args.input_pattern, "train_steps": args.train_steps,
                 "serving_base_uri": args.serving_base, "model_name": args.model_name}
    return {k: v for k, v in overrides.items() if v is not None}


def load(path: str):
    """The checked pipeline config at `path` (see `pipelines.config.load_config`)."""
    from pipelines.config import load_config

    return load_config(path)
