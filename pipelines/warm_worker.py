"""A warm worker: `estpipe run --warm` pays TensorFlow's, Beam's and kfp's imports once.

Every local run imports TensorFlow, Beam, tf.Transform and kfp before its first step (about
10 s on a laptop; on 300 rows that is a fifth of the run). With `--warm` the command hands
itself to a worker process that has them imported already, as Gradle's daemon or a Jupyter
kernel does: the first `--warm` run starts the worker (and pays the imports there), every
later one starts its pipeline at once.

The worker runs the same `estpipe run` code, in the caller's working directory and
environment, writing to the caller's own terminal (its stdin/stdout/stderr are passed over
the socket), so output, colours, progress lines and exit statuses are the command's own.
Ctrl-C in the caller interrupts the run in the worker (a second Ctrl-C stops the worker).

One worker serves one setup: its key digests the Python, the installed packages, the
project's code (`pipelines.caching.code_version`) and the environment variables read at
import time (`IMPORT_TIME_ENV`). Change any of them and the next `--warm` run starts a new
worker. A worker runs one command at a time (a second caller waits for it), leaves after
`IDLE_SECONDS` without a run or after `MAX_RUNS` runs, and is listed and stopped by
`estpipe warm status|stop`. Its own log (start, runs, exit) is `<socket>.log` beside its
socket in `runtime_dir()`.

Example:
    >>> exit_status = run_in_worker(["run", "examples/penguins/pipeline.yaml", "--no-cache"])
    >>> [w["pid"] for w in list_workers()]
    [12345]
    >>> stop_workers()
    1
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["IDLE_SECONDS", "IMPORT_TIME_ENV", "MAX_RUNS", "RUNTIME_DIR_ENV", "WarmWorkerError",
           "list_workers", "run_in_worker", "runtime_dir", "serve", "stop_workers",
           "worker_key"]

IDLE_SECONDS = 30 * 60
MAX_RUNS = 20  # then a fresh worker: whatever a run left in the process does not build up
RUNTIME_DIR_ENV = "ESTPIPE_WARM_DIR"
# Read when TensorFlow, Beam or Python start: a worker started without them would not see
# a caller's new value, so they are part of its key.
IMPORT_TIME_ENV = ("TF_", "CUDA_", "XLA_", "NVIDIA_", "OMP_", "KMP_", "MKL_", "OPENBLAS_",
                   "PYTHON", "LD_LIBRARY_PATH", "LD_PRELOAD", "GRPC_")
START_TIMEOUT_SECONDS = 180.0
_INTERRUPT_GRACE_SECONDS = 30.0
_BUSY_NOTE_SECONDS = 2.0
_STATUS_TIMEOUT_SECONDS = 2.0
_SOCKET_SUFFIX = ".sock"
_PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_MAX_HEADER_BYTES = 16 * 1024 * 1024


class WarmWorkerError(RuntimeError):
    """The worker could not be started or reached, or it died during a run."""


# -- the caller's side -----------------------------------------------------------------------
def worker_key(environ: dict[str, str] | None = None) -> str:
    """The key of the worker that may serve this process: same Python, packages, project code
    and import-time environment.

    Example:
        >>> worker_key() == worker_key(dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0"))
        False
    """
    from pipelines.caching import code_version

    environ = dict(os.environ if environ is None else environ)
    packages = sysconfig.get_paths()["purelib"]
    digest = hashlib.sha256()
    for part in (sys.executable, sys.version, packages, str(_mtime_ns(packages)),
                 code_version(),
                 *(f"{k}={v}" for k, v in sorted(environ.items())
                   if k.startswith(IMPORT_TIME_ENV))):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:16]


def runtime_dir() -> str:
    """Where workers keep their sockets and logs: `$ESTPIPE_WARM_DIR`, else a folder of this
    user's under `$XDG_RUNTIME_DIR` or the temp folder (mode 0700)."""
    folder = os.environ.get(RUNTIME_DIR_ENV)
    if not folder:
        base = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
        folder = os.path.join(base, f"estpipe-{os.getuid()}")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    return folder


def run_in_worker(argv: Sequence[str], *, echo=None) -> int:
    """Runs `estpipe <argv>` in this setup's warm worker (started if none runs); its status.

    Args:
        argv: The command's arguments, e.g. `["run", "pipeline.yaml", "--no-cache"]`.
        echo: Where news of the worker goes (starting one). Default: stderr.

    Raises:
        WarmWorkerError: If no worker could be started, or the worker died during the run.
    """
    echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
    path = os.path.join(runtime_dir(), worker_key() + _SOCKET_SUFFIX)
    connection = _connect(path) or _start_worker(path, echo)
    with connection:
        header = {"run": list(argv), "cwd": os.getcwd(), "env": dict(os.environ)}
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        with _standard_fds() as fds:
            socket.send_fds(connection, [json.dumps(header).encode() + b"\n"], fds)
        connection.settimeout(_BUSY_NOTE_SECONDS)
        try:
            started = _read_line(connection)
        except TimeoutError:  # the worker is running another caller's command
            echo("The warm worker is busy with another run; this one starts when it ends.")
            connection.settimeout(None)
            started = _read_line(connection)
        connection.settimeout(None)
        if not started:
            raise WarmWorkerError(f"the warm worker refused the run; its log: {path}.log")
        return _wait_for_exit(connection, int(json.loads(started)["pid"]), path)


@contextlib.contextmanager
def _standard_fds() -> Iterator[list[int]]:
    """This process's stdin, stdout and stderr; /dev/null for one that is closed (cron)."""
    opened = []
    fds = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            fds.append(fd)
        except OSError:
            opened.append(os.open(os.devnull, os.O_RDWR))
            fds.append(opened[-1])
    try:
        yield fds
    finally:
        for fd in opened:
            os.close(fd)


def list_workers() -> list[dict[str, Any]]:
    """The workers in `runtime_dir()`: pid, key, runs, idle seconds and log of each idle one;
    `{"socket": path, "busy": True}` for one running a command (it answers when it ends)."""
    found = []
    for path in _sockets():
        try:
            reply = _ask(path, {"status": True}, timeout=_STATUS_TIMEOUT_SECONDS)
        except TimeoutError:
            reply = {"socket": path, "busy": True}
        if reply is not None:
            found.append(reply)
    return found


def stop_workers() -> int:
    """Stops every worker in `runtime_dir()` (one running a command ends it first); how many."""
    return sum(_ask(path, {"stop": True}) is not None for path in _sockets())


def _mtime_ns(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def _sockets() -> list[str]:
    folder = runtime_dir()
    return sorted(os.path.join(folder, n) for n in os.listdir(folder)
                  if n.endswith(_SOCKET_SUFFIX))


def _connect(path: str) -> socket.socket | None:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
    except OSError as error:
        connection.close()
        if error.errno in (errno.ENOENT, errno.ECONNREFUSED):
            if error.errno == errno.ECONNREFUSED:  # a worker that died without cleaning up
                with contextlib.suppress(OSError):
                    os.unlink(path)
            return None
        raise
    return connection


def _ask(path: str, request: dict[str, Any], *, timeout: float | None = None
         ) -> dict[str, Any] | None:
    """The worker's answer to a status or stop request; None if no worker listens there."""
    connection = _connect(path)
    if connection is None:
        return None
    with connection:
        connection.settimeout(timeout)
        connection.sendall(json.dumps(request).encode() + b"\n")
        line = _read_line(connection)
    return json.loads(line) if line else None


def _start_worker(path: str, echo) -> socket.socket:
    """Starts a worker for `path` (one caller at a time) and connects once it listens."""
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another caller may be starting the same worker
        connection = _connect(path)
        if connection is not None:
            return connection
        _stop_outdated_workers(path)
        echo("Starting a warm worker (imports TensorFlow, Beam and kfp once; later `--warm` "
             "runs start at once).")
        log_path = path + ".log"
        with open(log_path, "ab") as log:
            # In its own folder (the caller's may go away) and session (the caller's Ctrl-C
            # reaches it only as a forwarded interrupt), finding this project wherever it is.
            python_path = os.pathsep.join(filter(None, [_PROJECT, os.environ.get("PYTHONPATH")]))
            process = subprocess.Popen(
                [sys.executable, "-m", "pipelines.warm_worker", "--socket", path],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=os.path.dirname(path), env=dict(os.environ, PYTHONPATH=python_path),
                start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            connection = _connect(path)
            if connection is not None:
                return connection
            if process.poll() is not None:
                raise WarmWorkerError(f"the warm worker exited with status {process.returncode} "
                                      f"before it was ready: {_tail(log_path)}")
            time.sleep(0.1)
        process.kill()
        raise WarmWorkerError(f"the warm worker was not ready after {START_TIMEOUT_SECONDS:.0f}"
                              f" s; its log: {log_path}")


def _stop_outdated_workers(path: str) -> None:
    """Stops idle workers of this project and Python whose key is not `path`'s: their code,
    packages or environment changed, so no caller of this setup can use them again."""
    for other in _sockets():
        if other == path:
            continue
        try:
            reply = _ask(other, {"status": True}, timeout=_STATUS_TIMEOUT_SECONDS)
        except (TimeoutError, OSError, ValueError):
            continue
        if reply and reply.get("executable") == sys.executable and reply.get(
                "project") == _PROJECT:
            _ask(other, {"stop": True}, timeout=_STATUS_TIMEOUT_SECONDS)


def _wait_for_exit(connection: socket.socket, pid: int, path: str) -> int:
    """Waits for the run's exit status; forwards Ctrl-C (and SIGTERM) to the worker."""
    interrupted_at = None
    saved = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        while True:
            try:
                line = _read_line(connection)
                break
            except KeyboardInterrupt:
                if interrupted_at is not None:  # a second Ctrl-C: stop the worker itself
                    _kill_worker(pid, path)
                    raise
                interrupted_at = time.monotonic()
                with contextlib.suppress(OSError):
                    connection.sendall(b'{"interrupt": true}\n')
                connection.settimeout(_INTERRUPT_GRACE_SECONDS)
            except TimeoutError:  # interrupted, and the run did not end in the grace time
                _kill_worker(pid, path)
                raise KeyboardInterrupt from None
    finally:
        signal.signal(signal.SIGTERM, saved)
    if not line:
        raise WarmWorkerError(f"the warm worker died during the run; its log: {path}.log")
    return int(json.loads(line)["exit"])


def _kill_worker(pid: int, path: str) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.unlink(path)


def _read_line(connection: socket.socket) -> bytes:
    """Bytes up to a newline (or the end of the stream), without the newline."""
    chunks = []
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(chunks)[:-1]


def _tail(path: str, lines: int = 5) -> str:
    try:
        with open(path, errors="replace") as f:
            return " | ".join(line.rstrip() for line in f.readlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


# -- the worker's side -----------------------------------------------------------------------
def serve(path: str, *, idle_seconds: float = IDLE_SECONDS, max_runs: int = MAX_RUNS) -> None:
    """Imports what runs need, listens on `path`, and runs callers' commands one at a time;
    returns after `idle_seconds` without a caller, `max_runs` runs, or a stop request."""
    _preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    staging = f"{path}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(staging)
    listener.bind(staging)
    listener.listen(8)
    os.replace(staging, path)  # callers connect only once it listens
    inode = os.stat(path).st_ino
    state = {"pid": os.getpid(), "executable": sys.executable, "project": _PROJECT, "key": os.path.basename(path)[: -len(_SOCKET_SUFFIX)],
             "started": time.time(), "runs": 0, "last": time.time(), "log": path + ".log"}
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
            connection.sendall(json.dumps(
                {**state, "idle_seconds": round(time.time() - state["last"], 1)}).encode()
                + b"\n")
            return True
        if request.get("stop"):
            connection.sendall(json.dumps({"pid": state["pid"], "stopped": True}).encode()
                               + b"\n")
            _note("stopped on request")
            return False
        if len(fds) != 3:
            return True
        connection.sendall(json.dumps({"pid": state["pid"]}).encode() + b"\n")
        state["runs"] += 1
        _note(f"run {state['runs']}: estpipe {' '.join(request['run'])} (in {request['cwd']})")
        start = time.monotonic()
        status = _run_for_caller(connection, request, fds)
        state["last"] = time.time()
        _note(f"run {state['runs']} ended with status {status} in "
              f"{time.monotonic() - start:.1f} s")
        with contextlib.suppress(OSError):
            connection.sendall(json.dumps({"exit": status}).encode() + b"\n")
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
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    try:
        for fd, target in zip(fds, (0, 1, 2), strict=True):
            os.dup2(fd, target)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.argv = ["estpipe", *request["run"]]
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
