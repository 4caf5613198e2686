"""What a user at the terminal sees: TensorFlow's start-up kept quiet, errors in one line.

Command-line entry points (`estpipe`, `python -m components.trainer`, the step processes)
call `quiet_tensorflow()` first, before anything imports TensorFlow. Importing the project's
packages has no such side effect: a library user's process prints what TensorFlow prints
unless they call it too. `CommandParser` and `run_command` give every command's errors one
line, `estpipe <command>: <cause>`, and the same exit statuses.

Example:
    >>> from console import quiet_tensorflow
    >>> quiet_tensorflow()
    >>> import estimator_lib as el       # TensorFlow is already imported, quietly
"""

from console.command_errors import USAGE_ERROR, CommandParser, run_command
from console.quiet import quiet_tensorflow

__all__ = ["USAGE_ERROR", "CommandParser", "quiet_tensorflow", "run_command"]
