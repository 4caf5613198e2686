"""The command-line arguments every `estpipe` command that runs a pipeline shares.

`estpipe run`, `submit` and `schedule` take the same config argument and the same run-time
overrides (the pipeline's parameters); they are declared here once.

Example:
    >>> parser = argparse.ArgumentParser()
    >>> add_config(parser); add_overrides(parser)
    >>> run_arguments(parser.parse_args(["--train-steps", "500"]))
    {'train_steps': 500}
"""

from __future__ import annotations

import argparse
import os

__all__ = ["DEFAULT_CONFIG", "add_config", "add_overrides", "load", "run_arguments"]

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
    parser.add_argument("--model-name", help="override serving.model_name")


def run_arguments(args: argparse.Namespace) -> dict:
    """The pipeline parameters the override flags set (those not given are left out)."""
    overrides = {"input_pattern": args.input_pattern, "train_steps": args.train_steps,
                 "serving_base_uri": args.serving_base, "model_name": args.model_name}
    return {k: v for k, v in overrides.items() if v is not None}


def load(path: str):
    """The checked pipeline config at `path` (see `pipelines.config.load_config`)."""
    from pipelines.config import load_config

    return load_config(path)
