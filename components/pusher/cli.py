"""The pusher's command: `estpipe rollback MODEL --serving-base DIR [--to VERSION]`.

Example:
    >>> parser = argparse.ArgumentParser(prog="estpipe")
    >>> commands = parser.add_subparsers(dest="command", required=True)
    >>> add_rollback_command(commands)
    >>> args = parser.parse_args(["rollback", "chicago_taxi", "--serving-base", "/srv/models"])
    >>> args.handler(args)
    0
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_rollback_command"]


def add_rollback_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Registers `rollback` on an argparse subparsers object; its handler returns an exit code.

    Args:
        subparsers: What `ArgumentParser.add_subparsers()` returned.

    Returns:
        The `rollback` parser.
    """
    parser = subparsers.add_parser(
        "rollback", help="serve an earlier version of a pushed model again",
        description="Republishes an earlier version of MODEL as its newest version, so TF "
                    "Serving serves it again; nothing is deleted.")
    parser.add_argument("model", metavar="MODEL", help="the model name (TF Serving's)")
    parser.add_argument("--serving-base", required=True, metavar="DIR",
                        help="the serving root: MODEL's versions are under DIR/MODEL/")
    parser.add_argument("--to", type=int, default=None, metavar="VERSION", dest="to_version",
                        help="the version to serve again (default: the one before the latest)")
    parser.set_defaults(handler=_rollback)
    return parser


def _rollback(args: argparse.Namespace) -> int:
    from components.pusher.rollback import rollback

    try:
        result = rollback(args.serving_base, args.model, to_version=args.to_version)
    except (FileNotFoundError, ValueError, TypeError) as error:
        print(f"estpipe rollback: {error}", file=sys.stderr)
        return 2
    print(f"Rolled back {args.model}: version {result.version} now serves the content of "
          f"version {result.source_version} (the latest was {result.rolled_back_from}).")
    print(f"Published at {result.destination}")
    return 0
