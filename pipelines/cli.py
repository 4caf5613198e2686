"""`estpipe`: the project's command line.

    estpipe run [--model-dir DIR] [--steps N]    the main job on the embedded default data

Until the Kubeflow pipeline lands, `run` trains the Estimator on the Chicago taxi data,
evaluates it, exports a SavedModel and queries it.
"""

from __future__ import annotations

import argparse
import logging
import sys

from components.pusher.cli import add_rollback_command
from serving.cli import add_serve_command


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stderr)


def _run(args) -> int:
    import estimator_lib  # noqa: F401  (first: quiets TensorFlow's start-up)
    from examples.chicago_taxi import estimator_demo

    result = estimator_demo.run(model_dir=args.model_dir, steps=args.steps)
    metrics = result["metrics"]
    print("Chicago taxi, big-tipper classifier (el.Estimator), evaluation on the 20% split:")
    for key in sorted(metrics):
        print(f"  {key:>12}: {float(metrics[key]):.4f}" if key != "global_step"
              else f"  {key:>12}: {int(metrics[key])}")
    print(f"SavedModel: {result['export_dir']}")
    print(f"Classify on one eval trip -> scores [no, yes] = "
          f"{[round(s, 4) for s in result['sample_prediction']]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `estpipe`."""
    parser = argparse.ArgumentParser(prog="estpipe", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the main job end to end on the embedded data")
    run.add_argument("--model-dir", default=None, help="model directory (default: a temp dir)")
    run.add_argument("--steps", type=int, default=2000, help="training steps (default 2000)")
    run.set_defaults(handler=_run)
    add_rollback_command(commands)
    add_serve_command(commands)
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    if getattr(args, "steps", 1) <= 0:
        parser.error(f"--steps must be positive, got {args.steps}")
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
