"""Runs the pipeline on this machine with kfp.local (SubprocessRunner): the embedded default.

kfp.local runs each step as a subprocess, one at a time, with artifacts under the pipeline
root, and caches unchanged steps between runs (a step whose inputs and parameters did not
change is not run again). Its own output is long (every step's streamed logs and outputs);
`run_local` writes all of it, without colour codes, to `<pipeline root>/logs/<run>.log` and
shows the user one line per step start and end with timings, a heartbeat 30 s after a step
started and every 30 s after, and, when a step fails, the step's own error
(`StepFailedError`). What can be checked before the run is checked first (`check_input`).

Example:
    >>> result = run_local(load_config("examples/chicago_taxi/pipeline.yaml"))
    >>> [(s.name, round(s.seconds)) for s in result.steps]
    [('plan-model-dir', 4), ('ingest', 21), ...]
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from components.common.phases import parse_phases
from pipelines.config import PipelineConfig

__all__ = ["LocalRunResult", "StepError", "StepFailedError", "StepTiming", "check_input",
           "run_local"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EXCEPTION_MODULE = re.compile(r"^(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_]\w*(?::|$))")
_START = re.compile(r"Executing task '([^']+)'")
_END = re.compile(r"Task '([^']+)' finished with status (\w+)")
_CACHED = re.compile(r"Task '?([\w.-]+)'? cache hit")  # logged by kfp.local's task executor
HEARTBEAT_SECONDS = 30.0


@dataclasses.dataclass
class StepTiming:
    """One step of a local run.

    `phases` is where its time went, by the step's own account
    (`components.common.phases`), plus "start-up": the time before its function started
    (process start and imports, or loading the component in this process). Empty for a
    cached step or one that reports none.
    """

    name: str
    seconds: float
    status: str
    phases: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class LocalRunResult:
    """What `run_local` did: per-step timings, the pipeline's outputs and the full log.

    `skipped` says why no run happened (nothing new to ingest), or is None.
    """

    steps: list[StepTiming]
    outputs: dict[str, Any]
    log_path: str | None
    seconds: float
    pipeline_root: str
    skipped: str | None = None


def run_local(config: PipelineConfig, *, pipeline_root: str | None = None,
              enable_caching: bool = True, arguments: dict[str, Any] | None = None,
              echo: Callable[[str], None] | None = None, verbose: bool = False,
              isolate_steps: bool = False) -> LocalRunResult:
    """Runs the pipeline of `config` with kfp.local; returns timings and outputs.

    Args:
        config: The checked pipeline config.
        pipeline_root: Overrides `config.root` (where artifacts and logs go).
        enable_caching: Reuse unchanged steps' outputs from earlier local runs.
        arguments: Pipeline parameters to override (`input_pattern`, `train_steps`, ...).
        echo: Where progress lines go (default: print to stderr).
        verbose: Also stream every step's full log to the terminal.
        isolate_steps: Run each step in a fresh Python process, as kfp.local's
            SubprocessRunner does (and as a cluster's containers do). Default: every step in
            this process (`pipelines.in_process`), paying start-up (TensorFlow, Beam) once.

    Raises:
        ValueError: If the input is missing or lacks a column the run needs (`check_input`),
            before anything runs.
        StepFailedError: If a step fails; the message is the step's own error, then the
            log file.
    """
    from kfp import local

    from pipelines.caching import cache_environment
    from pipelines.pipeline import build_pipeline
    from pipelines.records import nothing_new

    root = os.path.abspath(pipeline_root or config.root)
    config = dataclasses.replace(config, root=root)
    terminal = sys.stderr  # bound now: a step running in this process redirects sys.stderr
    echo = _to_the_terminal(echo or (lambda line: print(line, file=terminal, flush=True)))
    pattern = (arguments or {}).get("input_pattern", config.data.input_pattern)
    span = (arguments or {}).get("span", config.data.span)
    check_input(config, input_pattern=pattern, span=span)
    if reason := nothing_new(pattern, root, span=span):
        echo(f"Skipped: {reason}")
        return LocalRunResult(steps=[], outputs={}, log_path=None, seconds=0.0,
                              pipeline_root=root, skipped=reason)
    os.makedirs(os.path.join(root, "logs"), exist_ok=True)
    log_path = os.path.join(root, "logs", time.strftime("run-%Y%m%d-%H%M%S.log"))
    pipeline_fn = build_pipeline(
        config, concurrent_evaluation=False,
        cache_environment=cache_environment(pattern) if enable_caching else None)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=root,
               enable_caching=enable_caching, raise_on_error=True)
    start = time.time()
    with open(log_path, "w") as log, _Progress(log, echo, verbose) as progress:
        echo(f"Running pipeline {config.name!r} locally; artifacts under {root}")
        echo(f"Full log: {log_path}")
        try:
            with _stdout_to(progress), _root_logging_to(progress), warnings.catch_warnings(), (
                    contextlib.nullcontext() if isolate_steps else _in_this_process()):
                # kfp.local says per step that Kubernetes settings (resources, display names)
                # and the container image do not apply here; the design says so once, above.
                warnings.filterwarnings("ignore", module=r"kfp\.local\..*")
                task = pipeline_fn(**(arguments or {}))
        except Exception as error:
            step = progress.failed or progress.current or progress.last
            cause = progress.error.message if progress.failed else None
            if cause is None:
                if not verbose:  # verbose: every line was shown already
                    progress.show_tail()
                cause = _ANSI.sub("", str(error)) or type(error).__name__
            raise StepFailedError(step, cause, log_path) from None
    seconds = time.time() - start
    echo(f"Pipeline {config.name!r} finished in {seconds:.1f}s")
    outputs = dict(task.outputs) if task is not None else {}  # a PipelineTask of the run
    return LocalRunResult(steps=progress.steps, outputs=outputs, log_path=log_path,
                          seconds=seconds, pipeline_root=root)


class StepFailedError(RuntimeError):
    """A step of a local run failed.

    Its message is the step's own error (the Python exception its process ended with) and,
    on the last line, the run's full log.

    Attributes:
        step: The failed step's name, e.g. "ingest" (None if the run failed before any step).
        cause: The step's error, e.g. "EmptyInputError: The input pattern ... matches no files."
        log_path: The run's full log.
    """

    def __init__(self, step: str | None, cause: str, log_path: str):
        self.step, self.cause, self.log_path = step, cause, log_path
        where = f"the step {step!r} failed" if step else "the pipeline failed"
        super().__init__(f"{where}: {cause}\nFull log: {log_path}")


def check_input(config: PipelineConfig, *, input_pattern: str | None = None,
                span: int | None = None) -> None:
    """Checks a run's local input before the run starts: what the ingest step would find
    first, said at once.

    The pattern must match files (the span's files for a `{SPAN}` pattern), and the label,
    split key, typed (`column_types`) and slice columns must be columns of the first file's
    header (CSV with a header, or `column_names`; Parquet). Input on an object store is left
    to the step.

    Args:
        config: The checked pipeline config.
        input_pattern: The run's pattern (default: the config's).
        span: The run's span (None or -1: the latest).

    Raises:
        ValueError: Naming the pattern, or the config key, the missing column and the
            columns there are.

    Example:
        >>> check_input(config, input_pattern="data/*.csv")
        ValueError: `data.label_column` 'tip' is not a column of data/data.csv; the columns
        are ['fare', ..., 'tips'].
    """
    from components.artifacts import io
    from components.ingest.sources.factory import create_source
    from components.ingest.spans import EmptyInputError, resolve_input

    pattern = input_pattern or config.data.input_pattern
    if not io.is_local(pattern):
        return
    try:
        files = resolve_input(pattern, span=span if span is not None and span >= 0 else None
                              ).files
    except EmptyInputError as error:
        raise ValueError(str(error)) from None
    settings = config.data.settings
    columns = create_source(settings).plan(files[:1]).columns
    if not columns:  # TFRecord: the records name their features
        return
    wanted = [("data.label_column", settings.label_column),
              ("data.split_key", settings.split_key)]
    wanted += [("data.column_types", key) for key in settings.column_types]
    wanted += [("evaluation.slices", key) for key in config.evaluator.slices]
    missing = [f"`{where}` {name!r}" for where, name in wanted
               if name is not None and name not in columns]
    if missing:
        verb = "is not a column" if len(missing) == 1 else "are not columns"
        raise ValueError(f"{' and '.join(missing)} {verb} of {files[0]}; the columns are "
                         f"{list(columns)}.")


class _Progress:
    """A text stream: every line goes to the log (without colour codes); step starts and ends
    become progress lines; a failed step's Python error is kept (`StepError`)."""

    def __init__(self, log: TextIO, echo: Callable[[str], None], verbose: bool,
                 heartbeat_seconds: float | None = None):
        self._log, self._echo, self._verbose = log, echo, verbose
        self._heartbeat_seconds = heartbeat_seconds or HEARTBEAT_SECONDS
        self._buffer = ""
        self._lock = threading.Lock()
        self.steps: list[StepTiming] = []
        self.current: str | None = None
        self.last: str | None = None
        self.failed: str | None = None
        self.error = StepError()
        self._started = 0.0
        self._phases: dict[str, float] = {}
        self._beats = 0
        self._tail: list[str] = []
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self):
        self._heartbeat.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._heartbeat.join(timeout=1)
        if self._buffer:
            self._log.write(_ANSI.sub("", self._buffer))
            self._buffer = ""
        self._log.flush()

    def write(self, text: str) -> int:
        with self._lock:
            self._buffer += text
            *lines, self._buffer = self._buffer.split("\n")
            lines = [_ANSI.sub("", line) for line in lines]
            for line in lines:
                self._log.write(line + "\n")
        for line in lines:
            self._line(line)
        return len(text)

    def flush(self) -> None:
        self._log.flush()

    def isatty(self) -> bool:
        return False

    def _line(self, line: str) -> None:
        if self._verbose:
            self._echo(line)
        self._tail = (self._tail + [line])[-40:]
        self.error.feed(line)
        if (phases := parse_phases(line)) is not None:
            self._phases = phases
        elif match := _CACHED.search(line):
            name = _step_name(match.group(1))
            self.steps.append(StepTiming(name, 0.0, "CACHED"))
            self._echo(f"[{len(self.steps)}] {name} unchanged: reused the cached outputs")
        elif match := _START.search(line):
            with self._lock:
                self.current, self._started, self._beats = (_step_name(match.group(1)),
                                                            time.monotonic(), 0)
                self._phases = {}
            self.error.reset()
            self._echo(f"[{len(self.steps) + 1}] {self.current} ...")
        elif (match := _END.search(line)) and self.current:
            seconds = time.monotonic() - self._started
            status = match.group(2)
            self.steps.append(StepTiming(self.current, seconds, status,
                                         _with_start_up(self._phases, seconds)))
            self._echo(f"[{len(self.steps)}] {self.current} {status} in {seconds:.1f}s")
            if status != "SUCCESS":
                self.failed = self.current
            with self._lock:
                self.last, self.current = self.current, None

    def show_tail(self, lines: int = 20) -> None:
        """Echoes the log's last non-blank lines (when the failed step left no Python error)."""
        self._echo("---- the last lines of the log ----")
        for line in [t for t in self._tail if t.strip()][-lines:]:
            self._echo(f"  {line}")

    def _beat(self) -> None:
        # "still running (30s)" 30 s after the step started, then every 30 s; the wait is
        # short so that the first line of a step that started mid-wait is not late.
        poll = min(1.0, self._heartbeat_seconds / 10)
        while not self._stop.wait(poll):
            with self._lock:
                if self.current is None:
                    continue
                due = (self._beats + 1) * self._heartbeat_seconds
                if time.monotonic() - self._started < due:
                    continue
                self._beats += 1
                name = self.current
            self._echo(f"    {name} still running ({due:g}s)")


class StepError:
    """The Python exception a step's process ended with, read from its output line by line.

    kfp.local indents a step's output; the exception's own lines (`Type: message` and the
    message's further lines) follow the frames of its `Traceback (most recent call last):`,
    at the traceback's indentation. The last traceback of the step wins (a chained
    exception's outermost error).

    Example:
        >>> error = StepError()
        >>> for line in ["    Traceback (most recent call last):", '      File "x.py", line 1',
        ...              "    pkg.mod.BadRowsError: 100 of 200 rows are bad", "ERROR - ..."]:
        ...     error.feed(line)
        >>> error.message
        'BadRowsError: 100 of 200 rows are bad'
    """

    _MAX_LINES = 25

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        """Forgets what was read (a new step starts)."""
        self._indent: int | None = None
        self._frames = False
        self._lines: list[str] = []

    def feed(self, line: str) -> None:
        """Reads the next line of the step's output."""
        text = line.strip()
        indent = len(line) - len(line.lstrip())
        if text == "Traceback (most recent call last):":
            self._indent, self._frames, self._lines = indent, True, []
        elif self._indent is None:
            return
        elif self._frames:
            if indent <= self._indent and text:
                self._frames = False
                self._lines = [_EXCEPTION_MODULE.sub("", text)]
        elif self._lines and (_END.search(line) or (text and indent < self._indent)):
            self._indent = None  # the step's output ended
        elif self._lines and len(self._lines) < self._MAX_LINES:
            self._lines.append(line[self._indent:].rstrip())

    @property
    def message(self) -> str | None:
        """The exception's lines, or None when the step printed no traceback."""
        lines = list(self._lines)
        while lines and not lines[-1].strip():
            lines.pop()
        return "\n".join(lines) or None


def _with_start_up(phases: dict[str, float], seconds: float) -> dict[str, float]:
    """The step's phases and, first, what it did not account for: its start-up."""
    if not phases:
        return {}
    return {"start-up": round(max(0.0, seconds - sum(phases.values())), 3), **phases}


def _step_name(task: str) -> str:
    """'trainer-op' -> 'trainer'; the display names of the pipeline's steps."""
    for suffix in ("-component", "-op"):
        if task.endswith(suffix):
            return task[: -len(suffix)]
    return task


@contextlib.contextmanager
def _in_this_process() -> Iterator[None]:
    """Every step in this process; the pusher's fresh model-check process started ahead, so
    its TensorFlow import overlaps the steps before it, and told the trainer's export as soon
    as it exists (`_preload_trained_model`), so the model's load overlaps the evaluator."""
    from components.pusher.infra_validation import standby_check_process
    from pipelines.in_process import steps_in_process

    with steps_in_process(after_step=_preload_trained_model), standby_check_process():
        yield


def _preload_trained_model(function_name: str, executor_input: dict) -> None:
    """After the trainer step: the standby check process loads the serving model the pusher
    will validate (the folder the pusher resolves from the same model artifact)."""
    from components.pusher.executor import resolve_serving_model
    from components.pusher.infra_validation import preload_model
    from components.trainer.component import trainer_op

    if function_name != trainer_op.python_func.__name__:
        return
    model = executor_input["outputs"]["artifacts"]["model"]["artifacts"][0]  # `model: Output`
    try:
        serving_model = resolve_serving_model(model["uri"])
    except FileNotFoundError:  # no export (a non-chief task): the pusher will say so
        return
    preload_model(serving_model)


@contextlib.contextmanager
def _root_logging_to(stream) -> Iterator[None]:
    """kfp.local logs some news (cache hits, clean-up) on the root logger outside its own
    logging context: send those to the log and the progress lines too, not the terminal."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)


class _Echoing(threading.local):
    active = False


_echoing = _Echoing()


def _to_the_terminal(echo: Callable[[str], None]) -> Callable[[str], None]:
    """`echo`, whose own prints reach the terminal while the run's stdout is its log (so
    `echo=print` works)."""

    def echo_line(line: str) -> None:
        _echoing.active = True
        try:
            echo(line)
        finally:
            _echoing.active = False

    return echo_line


class _RunStdout:
    """The run's stdout: the log, except for what an echo (on this thread) prints."""

    def __init__(self, log, terminal):
        self._log, self._terminal = log, terminal

    def _target(self):
        return self._terminal if _echoing.active else self._log

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return self._target().isatty()


@contextlib.contextmanager
def _stdout_to(stream) -> Iterator[None]:
    saved = sys.stdout
    sys.stdout = _RunStdout(stream, saved)
    try:
        yield
    finally:
        sys.stdout = saved
