"""How a command-line error reaches the user: one line, `<prog> <command>: <cause>`, no traceback.

Exit statuses, the same for every command:

- 2: the command could not start: a bad argument, config, input or path (`ValueError`,
  `OSError`, `LookupError`, and argparse's own usage errors);
- 1: it started and failed: a pipeline step failed, an endpoint refused (`RuntimeError`), or
  an error nobody anticipated (its type is named; `-v` shows its traceback);
- 130: interrupted (Ctrl-C).

Example:
    >>> parser = CommandParser(prog="estpipe")
    >>> commands = parser.add_subparsers(dest="command", required=True)
    >>> commands.add_parser("compile")                  # also a CommandParser
    >>> def compile_():
    ...     raise ValueError("`image` 'Bad Image' is not a container image reference.")
    >>> run_command("estpipe compile", compile_)
    estpipe compile: `image` 'Bad Image' is not a container image reference.
    2
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

__all__ = ["USAGE_ERROR", "CommandParser", "run_command"]

USAGE_ERROR = 2
_FAILED = 1
_INTERRUPTED = 130


class CommandParser(argparse.ArgumentParser):
    """An `ArgumentParser` whose usage errors are one line, `<prog>: <cause>`, with status 2.

    argparse prints the whole usage block before the cause; `--help` still shows it.
    Subparsers made by `add_subparsers().add_parser` are CommandParsers too.
    """

    def error(self, message: str) -> NoReturn:
        """See base class."""
        self.exit(USAGE_ERROR, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def run_command(prog: str, handler: Callable[[], int], *, verbose: bool = False) -> int:
    """Runs a command's handler; turns the errors it raises into one line on stderr.

    Args:
        prog: What starts the line, e.g. "estpipe compile".
        handler: The command; returns its exit status.
        verbose: Re-raise an unanticipated error, with its traceback (`-v`).

    Returns:
        The handler's exit status, or the status of its error (see the module docstring).
    """
    try:
        return handler()
    except KeyboardInterrupt:
        _say(prog, "interrupted")
        return _INTERRUPTED
    except (ValueError, OSError, LookupError) as error:
        _say(prog, _cause(error))
        return USAGE_ERROR
    except RuntimeError as error:
        _say(prog, _cause(error))
        return _FAILED
    except Exception as error:  # a bug: still one line, the traceback on request
        if verbose:
            raise
        _say(prog, f"unexpected {type(error).__name__}: {_cause(error)} "
                   "(run with -v for the traceback)")
        return _FAILED


def _cause(error: BaseException) -> str:
    # KeyError's str() is the key's repr; every other error's message is its str().
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return text or type(error).__name__


def _say(prog: str, cause: str) -> None:
    sys.stdout.flush()
    print(f"{prog}: {cause}", file=sys.stderr, flush=True)
