"""The scheduler's lock: one local scheduler per state folder, released if its process dies.

The lock is an exclusive `flock` on `<state dir>/scheduler.lock`. The kernel releases it
when the holder's process ends, however it ends (exit, crash, `kill -9`), so a dead holder
never blocks the next scheduler. While it is held, the file records the holder (pid, host,
start time) for the error that a second scheduler gets. A holder that releases the lock
cleanly empties the file; one that died leaves its record, which the next holder reports.

`flock` locks are advisory and local to one machine: keep the state folder on a local disk
(NFS and object stores do not carry them).

Example:
    >>> with SchedulerLock("/tmp/taxi-schedule/scheduler.lock") as lock:
    ...     lock.holder["pid"] == os.getpid()
    True
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from typing import Any

__all__ = ["SchedulerLock", "SchedulerLockedError"]


class SchedulerLockedError(RuntimeError):
    """Another scheduler holds the lock; `holder` is its record (pid, host, started)."""

    def __init__(self, path: str, holder: dict[str, Any] | None):
        self.path = path
        self.holder = holder
        if holder:
            who = (f"pid {holder.get('pid')} on host {holder.get('host')!r}, running since "
                   f"{holder.get('started')}")
            if holder.get("host") == socket.gethostname() and not _alive(holder.get("pid")):
                who += " (that process has ended, but a run it started still holds the lock)"
        else:
            who = "a process that has not recorded itself yet"
        super().__init__(
            f"Another scheduler is already running on this schedule: {who} holds the lock "
            f"{path!r}. Stop it first (SIGTERM lets it finish its run), or give this one "
            "another state folder.")


class SchedulerLock:
    """An exclusive, non-blocking, process-lifetime lock on a file.

    Args:
        path: The lock file; its folder is created if needed.

    Attributes:
        holder: This process's record once acquired.
        stale_holder: The record a previous holder left behind when it died without
            releasing (None if the last holder released cleanly or there was none).

    Example:
        >>> lock = SchedulerLock("/tmp/state/scheduler.lock")
        >>> lock.acquire()      # raises SchedulerLockedError if another process holds it
        >>> lock.release()
    """

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        self.holder: dict[str, Any] | None = None
        self.stale_holder: dict[str, Any] | None = None
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def fileno(self) -> int:
        """The locked file descriptor, for a child process that must hold the lock with us.

        A child given it (`subprocess.Popen(..., pass_fds=[lock.fileno()])`) shares the lock:
        it stays held until both processes have ended, so a run started by a scheduler that
        was killed still keeps a new scheduler out.

        Raises:
            RuntimeError: If the lock is not held.
        """
        if self._fd is None:
            raise RuntimeError(f"The lock {self.path!r} is not held.")
        return self._fd

    def acquire(self) -> None:
        """Takes the lock, or raises at once.

        Raises:
            SchedulerLockedError: If another process (or another `SchedulerLock` on the same
                file) holds it; the message names the holder.
            RuntimeError: If this object already holds it.
        """
        if self._fd is not None:
            raise RuntimeError(f"The lock {self.path!r} is already held by this object.")
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_record(fd)
            os.close(fd)
            raise SchedulerLockedError(self.path, holder) from None
        except BaseException:
            os.close(fd)
            raise
        self.stale_holder = _read_record(fd)
        self.holder = {"pid": os.getpid(), "host": socket.gethostname(),
                       "started": datetime.now(UTC).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(self.holder) + "\n").encode(), 0)
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        """Empties the holder record and releases the lock; does nothing if not held."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> SchedulerLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_record(fd: int) -> dict[str, Any] | None:
    data = os.pread(fd, 4096, 0)
    if not data.strip():
        return None
    try:
        record = json.loads(data)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None
