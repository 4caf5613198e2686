"""What a local schedule keeps on disk: its state (one JSON file) and its history of ticks.

```
<state dir>/                  default: <pipeline root>/schedules/<pipeline name>/
  scheduler.lock              the lock (see lock.py): the running scheduler's pid/host/start
  state.json                  the schedule, the last fire time handled, the run in progress
  history.jsonl               one line per fire time handled: run outcome, skip or miss
```

`state.json` is rewritten atomically (write a temporary file, then rename) and records a
fire time as handled *before* its run starts, so a fire time is run at most once, even if
the scheduler dies mid-run: on restart that run is recorded as interrupted, not run again.
Times are stored in UTC, ISO 8601.

Example:
    >>> store = ScheduleStore("/tmp/taxi-schedule")
    >>> store.load() is None              # a new schedule
    True
    >>> [record.status for record in store.history()]
    []
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import tempfile
from datetime import UTC, datetime
from typing import Any

__all__ = ["ActiveRun", "ScheduleState", "ScheduleStore", "TickRecord", "TickStatus"]

_FORMAT_VERSION = 1


class TickStatus(enum.StrEnum):
    """How a fire time was handled."""

    SUCCEEDED = "succeeded"  # its run finished
    FAILED = "failed"  # its run raised; the schedule goes on
    SKIPPED = "skipped"  # it came while another run was in progress (one run at a time)
    MISSED = "missed"  # it passed while no scheduler was running, and was not caught up
    INTERRUPTED = "interrupted"  # the scheduler died during its run; not run again
    ABANDONED = "abandoned"  # the scheduler was stopped during its run without waiting


@dataclasses.dataclass(frozen=True)
class ActiveRun:
    """The run in progress, as recorded before it starts."""

    fire_time: datetime
    run: int
    started: datetime
    pid: int
    host: str


@dataclasses.dataclass(frozen=True)
class ScheduleState:
    """A local schedule's persistent state.

    Attributes:
        schedule: The six-field cron expression.
        timezone: The time zone its wall-clock times are in (an IANA name).
        created: When the schedule was first started here.
        last_fire_time: The latest fire time handled (run, skipped or missed); None before
            the first. The scheduler resumes after it.
        runs: How many runs were started, ever (runs are numbered 1, 2, ...).
        active: The run in progress, if any.
    """

    schedule: str
    timezone: str
    created: datetime
    last_fire_time: datetime | None = None
    runs: int = 0
    active: ActiveRun | None = None

    def replace(self, **changes: Any) -> ScheduleState:
        """A copy with `changes` applied (`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class TickRecord:
    """One line of the history: how a fire time (or a span of missed ones) was handled.

    Attributes:
        fire_time: The fire time (for MISSED: the last of the missed ones).
        status: How it was handled.
        run: The run number, for fire times that started a run.
        started: When the run started.
        finished: When it ended (or was given up).
        detail: The error of a failed run, or why a fire time was skipped.
        first_fire_time: For MISSED: the first of the missed fire times.
        count: For MISSED: how many fire times were missed; else 1.
    """

    fire_time: datetime
    status: TickStatus
    run: int | None = None
    started: datetime | None = None
    finished: datetime | None = None
    detail: str | None = None
    first_fire_time: datetime | None = None
    count: int = 1

    @property
    def seconds(self) -> float | None:
        """How long the run took, if it ran."""
        if self.started is None or self.finished is None:
            return None
        return (self.finished - self.started).total_seconds()


class ScheduleStore:
    """Reads and writes a local schedule's state and history under `directory`.

    Args:
        directory: The state folder (a local path; created on the first write).
    """

    def __init__(self, directory: str):
        self.directory = os.path.abspath(directory)
        self.state_path = os.path.join(self.directory, "state.json")
        self.history_path = os.path.join(self.directory, "history.jsonl")
        self.lock_path = os.path.join(self.directory, "scheduler.lock")

    def load(self) -> ScheduleState | None:
        """The saved state, or None for a schedule never started here.

        Raises:
            ValueError: If `state.json` is not a state this code wrote.
        """
        try:
            with open(self.state_path) as f:
                raw = json.load(f)
        except FileNotFoundError:
            return None
        except ValueError as error:
            raise ValueError(f"{self.state_path!r} is not valid JSON ({error}); move it away to "
                             "start the schedule afresh.") from None
        if not isinstance(raw, dict) or raw.get("format") != _FORMAT_VERSION:
            raise ValueError(f"{self.state_path!r} is not a schedule state of format "
                             f"{_FORMAT_VERSION}; move it away to start the schedule afresh.")
        active = raw.get("active")
        return ScheduleState(
            schedule=raw["schedule"], timezone=raw["timezone"], created=_time(raw["created"]),
            last_fire_time=_time(raw.get("last_fire_time")), runs=int(raw.get("runs", 0)),
            active=None if active is None else ActiveRun(
                fire_time=_time(active["fire_time"]), run=int(active["run"]),
                started=_time(active["started"]), pid=int(active["pid"]), host=active["host"]))

    def save(self, state: ScheduleState) -> None:
        """Writes `state` atomically (a temporary file renamed over `state.json`)."""
        active = state.active
        raw = {"format": _FORMAT_VERSION, "schedule": state.schedule, "timezone": state.timezone,
               "created": _text(state.created), "last_fire_time": _text(state.last_fire_time),
               "runs": state.runs,
               "active": None if active is None else {
                   "fire_time": _text(active.fire_time), "run": active.run,
                   "started": _text(active.started), "pid": active.pid, "host": active.host}}
        os.makedirs(self.directory, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=self.directory, prefix=".state-",
                                         suffix=".json", delete=False) as f:
            json.dump(raw, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(f.name, self.state_path)

    def append(self, record: TickRecord) -> None:
        """Appends one record to the history."""
        raw = {"fire_time": _text(record.fire_time), "status": record.status.value}
        for name in ("run", "started", "finished", "detail", "first_fire_time"):
            value = getattr(record, name)
            if value is not None:
                raw[name] = _text(value) if isinstance(value, datetime) else value
        if record.count != 1:
            raw["count"] = record.count
        os.makedirs(self.directory, exist_ok=True)
        with open(self.history_path, "a") as f:
            f.write(json.dumps(raw) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def history(self) -> list[TickRecord]:
        """Every record, oldest first (a torn last line, from a crash mid-write, is ignored)."""
        try:
            with open(self.history_path) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        records = []
        for line in lines:
            try:
                raw = json.loads(line)
            except ValueError:
                continue
            records.append(TickRecord(
                fire_time=_time(raw["fire_time"]), status=TickStatus(raw["status"]),
                run=raw.get("run"), started=_time(raw.get("started")),
                finished=_time(raw.get("finished")), detail=raw.get("detail"),
                first_fire_time=_time(raw.get("first_fire_time")), count=raw.get("count", 1)))
        return records


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
