"""The warm worker of `estpipe run --warm`: a process that keeps TensorFlow, Beam and kfp
imported and runs callers' commands one at a time (`pipelines.warm_client` is the caller's
side, and says what the two do together).

Each command runs as in the caller's own process: its working directory, environment, argv
and stdin/stdout/stderr (the caller's file descriptors, received over the socket); the
caller's Ctrl-C, or its going away, interrupts it. The worker leaves after `IDLE_SECONDS`
without a run, after `MAX_RUNS` runs, or when asked to stop.

Example:
    python -m pipelines.warm_worker --socket /run/user/1000/estpipe-1000/<key>.sock
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from pipelines.caching import PROJECT_ROOT
from pipelines.warm_client import SOCKET_SUFFIX, send_message

__all__ = ["IDLE_SECONDS", "MAX_RUNS", "main", "serve"]

IDLE_SECONDS = 30 * 60
MAX_RUNS = 20  # then a fresh worker: whatever a run left in the process does not build up
_MAX_HEADER_BYTES = 16 * 1024 * 1024


def serve(path: str, *, idle_seconds: float = IDLE_SECONDS, max_runs: int = MAX_RUNS) -> None:
    """Imports what runs need, listens on `path`, and runs callers' commands one at a time;
    returns after `idle_seconds` without a caller, `max_runs` runs, or a stop request."""
    _preload()
    _settle()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    staging = f"{path}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(staging)
    listener.bind(staging)
    listener.listen(8)
    os.replace(staging, path)  # callers connect only once it listens
    inode = os.stat(path).st_ino
    state = {"pid": os.getpid(), "executable": sys.executable, "project": PROJECT_ROOT,
             "key": os.path.basename(path)[: -len(SOCKET_SUFFIX)], "started": time.time(),
             "runs": 0, "last": time.time(), "log": path + ".log"}
    _note(f"ready on {path}")
    try:
        while state["runs"] < max_runs:
            listener.settimeout(max(0.1, idle_seconds - (time.time() - state["last"])))
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                _note(f"idle for {idle_seconds:.0f} s: leaving")
                break
            with connection:
                try:
                    if not _serve_one(connection, state):
                        break
                except Exception as error:  # noqa: BLE001 - one bad caller must not end it
                    _note(f"a caller's request failed: {type(error).__name__}: {error}")
        else:
            _note(f"{max_runs} runs: leaving (the next caller starts a fresh worker)")
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == inode:  # not a newer worker's socket
                os.unlink(path)


def _settle() -> None:
    """Frees a finished run's garbage, then exempts what is left (modules, caches) from later
    collections: a full collection over the ~600,000 objects TensorFlow, Beam and tf.Transform
    keep costs 0.5-0.7 s, and a run triggers several (measured: 1.5 s of collections per
    run, 0.8 s once frozen)."""
    gc.collect()
    gc.freeze()


def _preload() -> None:
    """What every run imports, imported once (as `estpipe run` itself would)."""
    from console import quiet_tensorflow

    quiet_tensorflow()
    import apache_beam  # noqa: F401
    import kfp.local  # noqa: F401
    import tensorflow  # noqa: F401
    import tensorflow_transform.beam  # noqa: F401

    import components.evaluator.executor  # noqa: F401
    import components.ingest.executor  # noqa: F401
    import components.pusher.executor  # noqa: F401
    import components.trainer.executor  # noqa: F401
    import components.transform.executor  # noqa: F401
    import pipelines.cli  # noqa: F401
    import pipelines.local_run  # noqa: F401
    import pipelines.summary  # noqa: F401


def _serve_one(connection: socket.socket, state: dict[str, Any]) -> bool:
    """Answers one caller; False when the worker should leave."""
    message, fds, _, _ = socket.recv_fds(connection, 65536, 3)
    try:
        while not message.endswith(b"\n") and len(message) < _MAX_HEADER_BYTES:
            more = connection.recv(65536)
            if not more:
                return True
            message += more
        request = json.loads(message)
        if request.get("status"):
            send_message(connection,
                         {**state, "idle_seconds": round(time.time() - state["last"], 1)})
            return True
        if request.get("stop"):
            send_message(connection, {"pid": state["pid"], "stopped": True})
            _note("stopped on request")
            return False
        if len(fds) != 3:
            return True
        send_message(connection, {"pid": state["pid"]})
        state["runs"] += 1
        _note(f"run {state['runs']}: estpipe {' '.join(request['run'])} (in {request['cwd']})")
        start = time.monotonic()
        status = _run_for_caller(connection, request, fds)
        state["last"] = time.time()
        _note(f"run {state['runs']} ended with status {status} in "
              f"{time.monotonic() - start:.1f} s")
        with contextlib.suppress(OSError):
            send_message(connection, {"exit": status})
        _settle()  # the caller has its exit status: off the next run's clock
        return True
    finally:
        for fd in fds:
            os.close(fd)


def _run_for_caller(connection: socket.socket, request: dict[str, Any],
                    fds: Sequence[int]) -> int:
    """`estpipe <argv>` here, as if in the caller's process: its cwd, environment, argv and
    standard streams; a Ctrl-C it forwards (or its disconnecting) interrupts the run."""
    from pipelines import cli

    running = threading.Event()
    lock = threading.Lock()
    main = threading.main_thread().ident

    def watch() -> None:  # the caller's interrupt, or its going away, stops the run
        with contextlib.suppress(OSError):
            while connection.recv(4096):
                with lock:
                    if running.is_set():
                        signal.pthread_kill(main, signal.SIGINT)
        with lock:
            if running.is_set():
                signal.pthread_kill(main, signal.SIGINT)

    with _as_caller(request, fds):
        running.set()
        threading.Thread(target=watch, daemon=True, name="caller-watch").start()
        try:
            return cli.main(list(request["run"]))
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code
            return code if isinstance(code, int) else (0 if code is None else 1)
        except KeyboardInterrupt:
            print(f"estpipe {request['run'][0]}: interrupted", file=sys.stderr)
            return 130
        except BaseException:  # a bug surfacing with -v: what the command would print
            import traceback

            traceback.print_exc()
            return 1
        finally:
            with lock:
                running.clear()


@contextlib.contextmanager
def _as_caller(request: dict[str, Any], fds: Sequence[int]) -> Iterator[None]:
    saved_fds = [os.dup(fd) for fd in (0, 1, 2)]
    saved_environ, saved_cwd, saved_argv = dict(os.environ), os.getcwd(), sys.argv
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    try:
        for fd, target in zip(fds, (0, 1, 2), strict=True):
            os.dup2(fd, target)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.argv = ["estpipe", *request["run"]]
        root.handlers = []  # the command configures logging as in a fresh process
        yield
    finally:
        with contextlib.suppress(Exception):
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
        for fd, target in zip(saved_fds, (0, 1, 2), strict=True):
            os.dup2(fd, target)
            os.close(fd)
        os.environ.clear()
        os.environ.update(saved_environ)
        with contextlib.suppress(OSError):
            os.chdir(saved_cwd)
        sys.argv = saved_argv
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def _note(text: str) -> None:
    """A line in the worker's own log (its stdout, outside runs)."""
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} [worker {os.getpid()}] {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """`python -m pipelines.warm_worker --socket PATH`: what `run_in_worker` starts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--socket", required=True)
    parser.add_argument("--idle-seconds", type=float, default=IDLE_SECONDS)
    parser.add_argument("--max-runs", type=int, default=MAX_RUNS)
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    serve(args.socket, idle_seconds=args.idle_seconds, max_runs=args.max_runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
