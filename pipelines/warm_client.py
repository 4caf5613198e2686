"""The caller's side of `estpipe run --warm`: find or start the warm worker, hand it the command.

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
`warm_worker.IDLE_SECONDS` without a run or after `warm_worker.MAX_RUNS` runs, and is
listed and stopped by `estpipe warm status|stop`. Its own log (start, runs, exit) is
`<socket>.log` beside its socket in `runtime_dir()`. The worker's side is
`pipelines.warm_worker`; the two speak JSON lines (`send_message`, `read_line`).

Example:
    >>> exit_status = run_in_worker(["run", "examples/penguins/pipeline.yaml", "--no-cache"])
    >>> [w["pid"] for w in list_workers()]
    [12345]
    >>> stop_workers()
    1
"""

from __future__ import annotations

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
import time
from collections.abc import Iterator, Sequence
from typing import Any

from pipelines.caching import PROJECT_ROOT, code_version

__all__ = ["IMPORT_TIME_ENV", "RUNTIME_DIR_ENV", "SOCKET_SUFFIX", "WarmWorkerError",
           "list_workers", "read_line", "run_in_worker", "runtime_dir", "send_message",
           "stop_workers", "worker_key"]

RUNTIME_DIR_ENV = "ESTPIPE_WARM_DIR"
# Read when TensorFlow, Beam or Python start: a worker started without them would not see
# a caller's new value, so they are part of its key.
IMPORT_TIME_ENV = ("TF_", "CUDA_", "XLA_", "NVIDIA_", "OMP_", "KMP_", "MKL_", "OPENBLAS_",
                   "PYTHON", "LD_LIBRARY_PATH", "LD_PRELOAD", "GRPC_")
START_TIMEOUT_SECONDS = 180.0
_INTERRUPT_GRACE_SECONDS = 30.0
_BUSY_NOTE_SECONDS = 2.0
_STATUS_TIMEOUT_SECONDS = 2.0
SOCKET_SUFFIX = ".sock"


class WarmWorkerError(RuntimeError):
    """The worker could not be started or reached, or it died during a run."""


def worker_key(environ: dict[str, str] | None = None) -> str:
    """The key of the worker that may serve this process: same Python, packages, project code
    and import-time environment.

    Example:
        >>> worker_key() == worker_key(dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0"))
        False
    """
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
    path = os.path.join(runtime_dir(), worker_key() + SOCKET_SUFFIX)
    connection = _connect(path) or _start_worker(path, echo)
    with connection:
        header = {"run": list(argv), "cwd": os.getcwd(), "env": dict(os.environ)}
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        with _standard_fds() as fds:
            send_message(connection, header, fds=fds)
        connection.settimeout(_BUSY_NOTE_SECONDS)
        try:
            started = read_line(connection)
        except TimeoutError:  # the worker is running another caller's command
            echo("The warm worker is busy with another run; this one starts when it ends.")
            connection.settimeout(None)
            started = read_line(connection)
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
                  if n.endswith(SOCKET_SUFFIX))


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
        send_message(connection, request)
        line = read_line(connection)
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
            python_path = os.pathsep.join(filter(None, [PROJECT_ROOT, os.environ.get("PYTHONPATH")]))
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
                "project") == PROJECT_ROOT:
            _ask(other, {"stop": True}, timeout=_STATUS_TIMEOUT_SECONDS)


def _wait_for_exit(connection: socket.socket, pid: int, path: str) -> int:
    """Waits for the run's exit status; forwards Ctrl-C (and SIGTERM) to the worker."""
    interrupted = False
    saved = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        while True:
            try:
                line = read_line(connection)
                break
            except KeyboardInterrupt:
                if interrupted:  # a second Ctrl-C: stop the worker itself
                    _kill_worker(pid, path)
                    raise
                interrupted = True
                with contextlib.suppress(OSError):
                    send_message(connection, {"interrupt": True})
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


def send_message(connection: socket.socket, message: dict[str, Any], *,
                 fds: Sequence[int] = ()) -> None:
    """One message of the caller-worker protocol: a JSON object on a line (with `fds`, file
    descriptors passed along with it)."""
    line = json.dumps(message).encode() + b"\n"
    if fds:
        socket.send_fds(connection, [line], list(fds))
    else:
        connection.sendall(line)


def read_line(connection: socket.socket) -> bytes:
    """Bytes up to a newline (or the end of the stream), without the newline: a message
    (`send_message`), or b"" when the other side went away."""
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
