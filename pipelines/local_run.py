"""Runs the pipeline on this machine with kfp.local (SubprocessRunner): the embedded default.

kfp.local runs each step as a subprocess, one at a time, with artifacts under the pipeline
root, and caches unchanged steps between runs (a step whose inputs and parameters did not
change is not run again). Its own output is long (every step's streamed logs and outputs);
`run_local` writes all of it to `<pipeline root>/logs/<run>.log` and shows the user one line
per step start and end with timings, a heartbeat while a long step runs, and the end of the
log when a step fails.

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

from pipelines.config import PipelineConfig

__all__ = ["LocalRunResult", "StepTiming", "run_local"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_START = re.compile(r"Executing task '([^']+)'")
_END = re.compile(r"Task '([^']+)' finished with status (\w+)")
_CACHED = re.compile(r"Task '?([\w.-]+)'? cache hit")  # logged by kfp.local's task executor
HEARTBEAT_SECONDS = 30.0


@dataclasses.dataclass
class StepTiming:
    """One step of a local run."""

    name: str
    seconds: float
    status: str


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
              echo: Callable[[str], None] | None = None, verbose: bool = False) -> LocalRunResult:
    """Runs the pipeline of `config` with kfp.local; returns timings and outputs.

    Args:
        config: The checked pipeline config.
        pipeline_root: Overrides `config.root` (where artifacts and logs go).
        enable_caching: Reuse unchanged steps' outputs from earlier local runs.
        arguments: Pipeline parameters to override (`input_pattern`, `train_steps`, ...).
        echo: Where progress lines go (default: print to stderr).
        verbose: Also stream every step's full log to the terminal.

    Raises:
        RuntimeError: If a step fails; the message names it and the log file, and the log's
            last lines were shown.
    """
    from kfp import local

    from pipelines.caching import cache_environment
    from pipelines.pipeline import build_pipeline
    from pipelines.records import nothing_new

    root = os.path.abspath(pipeline_root or config.root)
    config = dataclasses.replace(config, root=root)
    echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
    pattern = (arguments or {}).get("input_pattern", config.data.input_pattern)
    span = (arguments or {}).get("span", config.data.span)
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
            with _stdout_to(progress), _root_logging_to(progress), warnings.catch_warnings():
                # kfp.local says per step that Kubernetes settings (resources, display names)
                # and the container image do not apply here; the design says so once, above.
                warnings.filterwarnings("ignore", module=r"kfp\.local\..*")
                task = pipeline_fn(**(arguments or {}))
        except Exception as error:
            progress.fail()
            step = progress.current or progress.last
            raise RuntimeError(f"The pipeline failed at step {step!r}: {_ANSI.sub('', str(error))} "
                               f"Full log: {log_path}") from None
    seconds = time.time() - start
    echo(f"Pipeline {config.name!r} finished in {seconds:.1f}s")
    outputs = dict(task.outputs) if task is not None else {}  # a PipelineTask of the run
    return LocalRunResult(steps=progress.steps, outputs=outputs, log_path=log_path,
                          seconds=seconds, pipeline_root=root)


class _Progress:
    """A text stream: every line goes to the log; step starts and ends become progress lines."""

    def __init__(self, log: TextIO, echo: Callable[[str], None], verbose: bool):
        self._log, self._echo, self._verbose = log, echo, verbose
        self._buffer = ""
        self._lock = threading.Lock()
        self.steps: list[StepTiming] = []
        self.current: str | None = None
        self.last: str | None = None
        self._started = 0.0
        self._tail: list[str] = []
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self):
        self._heartbeat.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._heartbeat.join(timeout=1)

    def write(self, text: str) -> int:
        with self._lock:
            self._log.write(text)
            self._buffer += text
            *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            self._line(_ANSI.sub("", line))
        return len(text)

    def flush(self) -> None:
        self._log.flush()

    def isatty(self) -> bool:
        return False

    def _line(self, line: str) -> None:
        if self._verbose:
            self._echo(line)
        self._tail = (self._tail + [line])[-40:]
        if match := _CACHED.search(line):
            name = _step_name(match.group(1))
            self.steps.append(StepTiming(name, 0.0, "CACHED"))
            self._echo(f"[{len(self.steps)}] {name} unchanged: reused the cached outputs")
        elif match := _START.search(line):
            self.current, self._started = _step_name(match.group(1)), time.time()
            self._echo(f"[{len(self.steps) + 1}] {self.current} ...")
        elif (match := _END.search(line)) and self.current:
            seconds = time.time() - self._started
            self.steps.append(StepTiming(self.current, seconds, match.group(2)))
            self._echo(f"[{len(self.steps)}] {self.current} {match.group(2)} in {seconds:.1f}s")
            self.last, self.current = self.current, None

    def fail(self) -> None:
        self._echo("---- the last lines of the log ----")
        for line in self._tail:
            if line.strip():
                self._echo(f"  {line}")

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            if self.current:
                self._echo(f"    {self.current} still running "
                           f"({time.time() - self._started:.0f}s)")


def _step_name(task: str) -> str:
    """'trainer-op' -> 'trainer'; the display names of the pipeline's steps."""
    for suffix in ("-component", "-op"):
        if task.endswith(suffix):
            return task[: -len(suffix)]
    return task


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


@contextlib.contextmanager
def _stdout_to(stream) -> Iterator[None]:
    saved = sys.stdout
    sys.stdout = stream
    try:
        yield
    finally:
        sys.stdout = saved
