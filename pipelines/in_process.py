"""kfp.local's steps run inside this process: a local run pays start-up once, not per step.

kfp.local's `SubprocessRunner` starts each step as `sh -ec '<write the component's source to
a file>; python3 -m kfp.dsl.executor_main ...'`, a fresh Python that imports TensorFlow,
Beam and tf.Transform again (about 8 s each time on a laptop). Inside `steps_in_process()`
that command runs here instead: the same component source is loaded from the same text and
executed by kfp's own `Executor` with the same executor input, so the step writes the same
artifacts to the same places, and kfp.local's orchestration, caching and output reading are
untouched. Only the process boundary moves. A command of another shape (a container
component) still runs as a subprocess.

What a subprocess would have isolated is kept per step: its environment variables, working
directory, stdout/stderr (both go where kfp.local streams the step's log) and the root
logger's handlers are restored when the step ends; in a notebook the step sees no IPython
kernel (as its own process would not); and its exception becomes the traceback a
subprocess would print and exit status 1.

The compiled pipeline does not change: on a cluster each step is still its own container.
The hook is kfp.local's `subprocess_task_handler.run_local_subprocess` (kfp 2.17, pinned);
tests/pipelines/test_in_process.py fails if a kfp release moves it (the step would run in
another process).

Example:
    >>> with steps_in_process():
    ...     pipeline_fn(**arguments)          # kfp.local.init(runner=SubprocessRunner(...))
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import NamedTuple

__all__ = ["StepCommand", "parse_step_command", "run_step_command", "steps_in_process"]

# The placeholder in kfp's lightweight-component command after which the source follows.
_SOURCE_MARK = '"$program_path/ephemeral_component.py"'


class StepCommand(NamedTuple):
    """A lightweight component's step, read from its command line."""

    source: str
    function_name: str
    executor_input: dict


def parse_step_command(full_command: Sequence[str]) -> StepCommand | None:
    """The step a kfp lightweight-component command runs, or None for any other command.

    Example:
        >>> step = parse_step_command(["sh", "-ec", 'printf "%s" "$0" > '
        ...     '"$program_path/ephemeral_component.py" ... "$@"', "def f(): ...",
        ...     "--executor_input", "{}", "--function_to_execute", "f"])
        >>> step.function_name
        'f'
    """
    for index, part in enumerate(full_command[:-1]):
        if _SOURCE_MARK in part and "kfp.dsl.executor_main" in part:
            source, args = full_command[index + 1], list(full_command[index + 2:])
            break
    else:
        return None
    values = {}
    for flag in ("--executor_input", "--function_to_execute"):
        if flag not in args or args.index(flag) + 1 >= len(args):
            return None
        values[flag] = args[args.index(flag) + 1]
    return StepCommand(source, values["--function_to_execute"],
                       json.loads(values["--executor_input"]))


def run_step_command(step: StepCommand, env_vars: Mapping[str, str] | None = None) -> int:
    """Runs a step in this process as kfp's executor would in a fresh one; its exit status.

    The component's source is loaded as a module of its own (a fresh name each time, as a
    fresh process would) and its function run by `kfp.dsl.executor.Executor`.
    """
    from kfp.dsl import executor as kfp_executor

    with _step_isolation(env_vars or {}), tempfile.TemporaryDirectory(
            prefix="kfp-step-") as folder:
        try:
            path = os.path.join(folder, "ephemeral_component.py")
            with open(path, "w") as f:
                f.write(step.source)
            spec = importlib.util.spec_from_file_location(
                f"_kfp_step_{os.path.basename(folder).replace('-', '_')}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            function = getattr(module, step.function_name)
            kfp_executor.Executor(executor_input=step.executor_input,
                                  function_to_execute=function).execute()
        except BaseException as error:  # noqa: BLE001 - a step's every failure is its status
            if isinstance(error, KeyboardInterrupt):
                raise
            # What a failed subprocess prints: kfp.local's log reader finds the cause in it.
            for line in traceback.format_exc().splitlines():
                print(line)  # one line at a time: kfp.local indents each print
            code = error.code if isinstance(error, SystemExit) else 1
            return code if isinstance(code, int) and code else 1
    return 0


@contextlib.contextmanager
def steps_in_process(after_step: Callable[[str, dict], None] | None = None) -> Iterator[None]:
    """While open, kfp.local's `SubprocessRunner` runs lightweight-component steps in this
    process (`run_step_command`) and any other command as a subprocess, as before.

    Args:
        after_step: Called after each step that ran here and succeeded, with the step's
            function name (e.g. "trainer_op") and its executor input (its output artifacts'
            URIs are under `["outputs"]["artifacts"]`), before kfp.local goes on. It runs
            outside the step's isolation, and what it raises propagates out of the
            pipeline's call.

    Example:
        >>> def after_step(function_name, executor_input):
        ...     print(function_name)
        >>> with steps_in_process(after_step):
        ...     pipeline_fn(**arguments)
    """
    from kfp.local import subprocess_task_handler

    as_subprocess = subprocess_task_handler.run_local_subprocess

    def run(full_command: list[str], env_vars: dict[str, str] | None = None) -> int:
        step = parse_step_command(full_command)
        if step is None:
            return as_subprocess(full_command=full_command, env_vars=env_vars)
        status = run_step_command(step, env_vars)
        if status == 0 and after_step is not None:
            after_step(step.function_name, step.executor_input)
        return status

    subprocess_task_handler.run_local_subprocess = run
    try:
        yield
    finally:
        subprocess_task_handler.run_local_subprocess = as_subprocess


@contextlib.contextmanager
def _step_isolation(env_vars: Mapping[str, str]) -> Iterator[None]:
    """What a step's own process would have kept to itself, restored when it ends."""
    saved_environ, saved_cwd = dict(os.environ), os.getcwd()
    saved_stderr = sys.stderr
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    # A step's own process is no IPython kernel: libraries that behave differently in one
    # (Beam renames transforms and loads its interactive runner) see none.
    ipython = sys.modules.get("IPython")
    saved_get_ipython = getattr(ipython, "get_ipython", None)
    if saved_get_ipython is not None:
        ipython.get_ipython = lambda: None
    os.environ.update(env_vars)
    sys.stderr = sys.stdout  # a subprocess's stderr joins its stdout in the step's log
    try:
        yield
    finally:
        if saved_get_ipython is not None:
            ipython.get_ipython = saved_get_ipython
        sys.stderr = saved_stderr
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
