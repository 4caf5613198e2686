"""Runs a cron schedule on this machine: one run at a time, each fire time at most once.

Policies (the local counterparts of a Kubeflow recurring run with `max_concurrency=1` and
`no_catchup=True`, and of a Kubernetes CronJob with `concurrencyPolicy: Forbid`):

* **One scheduler per state folder.** `run()` takes an exclusive file lock (lock.py); a
  second scheduler on the same folder fails at once, naming the holder's pid, host and start.
  The lock dies with its process, so a crash never leaves the schedule blocked.
* **One run at a time.** A fire time that comes while a run is in progress is skipped, not
  queued: it is logged and recorded as `skipped` in the history.
* **Each fire time at most once.** A fire time is recorded as handled in `state.json` before
  its run starts. If the scheduler dies mid-run, the restarted scheduler records that run as
  `interrupted` and does not run it again.
* **At most one catch-up.** Fire times that passed while no scheduler was running are
  `missed`. On restart, `CatchupPolicy.LATEST` (the default, like KFP's no-catchup) runs
  once, at once, for the latest missed fire time and records the others as missed;
  `CatchupPolicy.NONE` records them all as missed and waits for the next fire time. A
  schedule started for the first time catches up nothing.
* **Stopping.** SIGTERM or SIGINT (or `stop()`) stops scheduling: the scheduler waits for the
  run in progress (at most `stop_grace_seconds`, if set), then releases the lock and returns.
  A second signal (or `stop(abandon=True)`) abandons the run: it is recorded as
  `abandoned`, the lock is released and `run()` returns while the run's thread is left to the
  process's exit. `max_runs` and `until` bound a scheduler in the same graceful way.
* A run that raises is recorded as `failed` with its error; the schedule goes on.

Example:
    >>> def train(fire_time):
    ...     run_local(config, arguments={"input_pattern": latest_span()})
    >>> scheduler = LocalScheduler(
    ...     schedule="0 3 * * *", run_fn=train, state_dir="runs/schedules/chicago-taxi",
    ...     options=SchedulerOptions(max_runs=7))
    >>> report = scheduler.run()        # returns after the 7th run, or on SIGTERM
    >>> report.succeeded
    7
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.scheduling.cron import CronSchedule
from pipelines.scheduling.lock import SchedulerLock
from pipelines.scheduling.state import (
    ActiveRun,
    ScheduleState,
    ScheduleStore,
    TickRecord,
    TickStatus,
)

__all__ = ["CatchupPolicy", "LocalScheduler", "SchedulerOptions", "SchedulerReport"]

_log = logging.getLogger(__name__)

# The longest sleep between checks: signals, stop() and a changed wall clock are noticed
# within this (signal handlers only set flags; waking the loop from one could deadlock).
_POLL_SECONDS = 0.5
# Counting missed fire times of a fast schedule after a long downtime stops here.
_MAX_COUNT = 100_000


class CatchupPolicy(enum.StrEnum):
    """What a restarted scheduler does with fire times that passed while none was running."""

    LATEST = "latest"  # run once, for the latest of them (KFP's no_catchup=True)
    NONE = "none"  # run none of them; wait for the next fire time


@dataclasses.dataclass(frozen=True)
class SchedulerOptions:
    """How a `LocalScheduler` runs and when it stops.

    Args:
        catchup: Missed fire times on restart (default `"latest"`: at most one catch-up run).
        max_runs: Return after this many runs started by this scheduler have ended
            (default None: no limit).
        until: Start no run for a fire time after this (time-zone aware) moment, and return
            once the last run has ended (default None: no end).
        timezone: The IANA time zone of the cron's wall-clock times (default `"UTC"`, as
            Kubeflow Pipelines' scheduler uses).
        stop_grace_seconds: On SIGTERM/SIGINT or `stop()`, how long to wait for the run in
            progress before abandoning it (default None: until it ends, or a second signal).
        handle_signals: Install SIGTERM/SIGINT handlers while `run()` runs (default True;
            only possible in the main thread).

    Example:
        >>> SchedulerOptions(catchup="none", max_runs=3, timezone="Europe/Berlin")
    """

    catchup: CatchupPolicy = CatchupPolicy.LATEST
    max_runs: int | None = None
    until: datetime | None = None
    timezone: str = "UTC"
    stop_grace_seconds: float | None = None
    handle_signals: bool = True

    def __post_init__(self):
        try:
            object.__setattr__(self, "catchup", CatchupPolicy(self.catchup))
        except ValueError:
            raise ValueError(f"`catchup` {self.catchup!r} must be one of "
                             f"{[p.value for p in CatchupPolicy]}.") from None
        if self.max_runs is not None and (isinstance(self.max_runs, bool)
                                          or not isinstance(self.max_runs, int)
                                          or self.max_runs <= 0):
            raise ValueError(f"`max_runs` ({self.max_runs!r}) must be a positive integer or "
                             "None.")
        if self.until is not None and (not isinstance(self.until, datetime)
                                       or self.until.utcoffset() is None):
            raise ValueError(f"`until` ({self.until!r}) must be a time-zone-aware datetime, "
                             "e.g. datetime(2030, 1, 1, tzinfo=timezone.utc).")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(f"`timezone` {self.timezone!r} is not a known IANA time zone "
                             "(e.g. 'UTC', 'Europe/Berlin').") from None
        if self.stop_grace_seconds is not None and self.stop_grace_seconds < 0:
            raise ValueError(f"`stop_grace_seconds` ({self.stop_grace_seconds}) must be >= 0.")


@dataclasses.dataclass(frozen=True)
class SchedulerReport:
    """What one `LocalScheduler.run()` did.

    Attributes:
        runs: Runs started (catch-up included).
        succeeded: Runs that ended without raising.
        failed: Runs that raised.
        skipped: Fire times skipped because a run was in progress.
        missed: Fire times missed while no scheduler ran (not caught up).
        abandoned: Whether a run was abandoned on stop.
        stopped_because: Why `run()` returned: "max_runs", "until", "signal" or "stop".
    """

    runs: int
    succeeded: int
    failed: int
    skipped: int
    missed: int
    abandoned: bool
    stopped_because: str


class LocalScheduler:
    """Runs `run_fn(fire_time)` on a cron schedule, here, with state kept in `state_dir`.

    Args:
        schedule: A cron expression (five fields, or six with seconds first) or a
            `CronSchedule`.
        run_fn: Called with each fire time (an aware datetime in the schedule's time zone),
            in a worker thread; what it returns is ignored, what it raises fails the run.
        state_dir: The schedule's local state folder (lock, state, history).
        options: Catch-up policy, bounds, time zone and stopping (default
            `SchedulerOptions()`).

    Attributes:
        store: The schedule's state and history (`ScheduleStore`).
        lock: The state folder's lock, held while `run()` runs; a `run_fn` that starts a
            child process may pass it `lock.fileno()` so the lock outlives a killed scheduler
            for as long as the run goes on.

    Raises:
        CronError: If `schedule` is not a valid cron expression.
        TypeError: If `run_fn` is not callable.

    Example:
        >>> scheduler = LocalScheduler(schedule="*/10 * * * * *", run_fn=print,
        ...                            state_dir="/tmp/every-10s",
        ...                            options=SchedulerOptions(max_runs=2))
        >>> scheduler.run().runs
        2
    """

    def __init__(self, *, schedule: str | CronSchedule, run_fn: Callable[[datetime], Any],
                 state_dir: str, options: SchedulerOptions | None = None):
        self.schedule = schedule if isinstance(schedule, CronSchedule) else CronSchedule(schedule)
        if not callable(run_fn):
            raise TypeError(f"`run_fn` must be callable (it gets the fire time); got "
                            f"{type(run_fn).__name__} {run_fn!r}.")
        self.run_fn = run_fn
        self.options = options or SchedulerOptions()
        self.store = ScheduleStore(state_dir)
        self.lock = SchedulerLock(self.store.lock_path)  # held while run() runs
        self._zone = ZoneInfo(self.options.timezone)
        self._mutex = threading.Lock()
        self._wake = threading.Event()
        self._stop_requests = 0  # stop() and signals; 1: graceful, 2+: abandon
        self._stop_reason = "stop"
        self._state: ScheduleState | None = None
        self._active: ActiveRun | None = None
        self._abandoned_run: int | None = None
        self._counts = dict.fromkeys(("runs", "succeeded", "failed", "skipped", "missed"), 0)

    def stop(self, *, abandon: bool = False) -> None:
        """Asks `run()` to return: after the run in progress, or at once with `abandon`.

        Safe to call from any thread.
        """
        self._stop_requests = max(self._stop_requests + 1, 2 if abandon else 1)
        self._wake.set()

    def run(self) -> SchedulerReport:
        """Takes the lock and runs the schedule until stopped or a bound is reached.

        Returns:
            What this scheduler did.

        Raises:
            SchedulerLockedError: If another scheduler holds this state folder's lock.
            ValueError: If the state folder holds a state this code cannot read.
        """
        lock = self.lock
        lock.acquire()
        previous_handlers = self._install_signal_handlers()
        try:
            if lock.stale_holder:
                holder = lock.stale_holder
                _log.warning("The previous scheduler (pid %s on %s, started %s) ended without "
                             "releasing its lock (it was killed or crashed).", holder.get("pid"),
                             holder.get("host"), holder.get("started"))
            catchup = self._resume()
            return self._loop(catchup)
        finally:
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
            lock.release()

    # -- start-up -------------------------------------------------------------------------

    def _resume(self) -> datetime | None:
        """Loads or creates the state; returns the fire time to catch up on, if any."""
        now = self._now()
        expression = self.schedule.kfp_expression
        state = self.store.load()
        if state is None:
            state = ScheduleState(schedule=expression, timezone=self.options.timezone,
                                  created=now)
            _log.info("New schedule %r (%s), state in %s.", self.schedule.expression,
                      self.options.timezone, self.store.directory)
        else:
            if state.schedule != expression or state.timezone != self.options.timezone:
                _log.info("The schedule changed from %r (%s) to %r (%s); resuming after the "
                          "last fire time handled.", state.schedule, state.timezone,
                          expression, self.options.timezone)
                state = state.replace(schedule=expression, timezone=self.options.timezone)
            if state.active is not None:
                active = state.active
                detail = (f"the scheduler (pid {active.pid} on {active.host}) stopped during "
                          "this run; a fire time is run at most once, so it is not run again")
                self.store.append(TickRecord(fire_time=active.fire_time,
                                             status=TickStatus.INTERRUPTED, run=active.run,
                                             started=active.started, detail=detail))
                _log.warning("Fire time %s: run %d was interrupted (%s).",
                             self._show(active.fire_time), active.run, detail)
                state = state.replace(active=None)
        self._state = state
        self.store.save(state)

        cursor = self._cursor()
        latest = self._latest_at_or_before(now)
        if latest is None or latest <= cursor:
            return None
        count, first = self._count_between(cursor, latest)
        catchup = self.options.catchup is CatchupPolicy.LATEST
        why_not = f"catch-up policy {self.options.catchup.value!r}"
        if catchup and self.options.until is not None and latest > self.options.until:
            catchup, why_not = False, "it is after `until`"
        missed_last = self._latest_at_or_before(latest - timedelta(seconds=1)) if catchup \
            else latest
        missed = count - 1 if catchup else count
        _log.info("%d fire time(s) passed while the scheduler was not running (%s .. %s): %s.",
                  count, self._show(first), self._show(latest),
                  "catching up once, for the latest" if catchup else
                  f"none caught up ({why_not})")
        if missed > 0:
            more = " or more" if count >= _MAX_COUNT else ""
            self._record_missed(first, missed_last, missed,
                                f"the scheduler was not running{more}")
        if catchup:
            return latest
        self._advance(latest)
        return None

    # -- the loop -------------------------------------------------------------------------

    def _loop(self, catchup: datetime | None) -> SchedulerReport:
        options = self.options
        stop_deadline: datetime | None = None
        upcoming = self.schedule.next_after(max(self._now(), self._cursor()))
        _log.info("Scheduler running (pid %d): %r, next fire time %s%s.", os.getpid(),
                  self.schedule.expression,
                  "now (catch-up)" if catchup else self._show(upcoming),
                  f", until {self._show(options.until)}" if options.until else "")
        while True:
            self._wake.clear()
            now = self._now()
            with self._mutex:
                active = self._active
            if self._stop_requests:
                if active is None:
                    return self._report(self._stop_reason, abandoned=False)
                if stop_deadline is None:
                    if options.stop_grace_seconds is not None:
                        stop_deadline = now + timedelta(seconds=options.stop_grace_seconds)
                    _log.info("Stopping: waiting for run %d (fire time %s) to end%s; stop again "
                              "to abandon it.", active.run, self._show(active.fire_time),
                              f" (at most {options.stop_grace_seconds:g}s)"
                              if stop_deadline else "")
                if self._stop_requests >= 2 or (stop_deadline and now >= stop_deadline):
                    self._abandon(active, now)
                    return self._report(self._stop_reason, abandoned=True)
                self._wake.wait(_POLL_SECONDS)
                continue
            if options.max_runs is not None and self._counts["runs"] >= options.max_runs:
                if active is None:
                    return self._report("max_runs", abandoned=False)
                self._wake.wait(_POLL_SECONDS)
                continue

            due = catchup if catchup is not None else self._due(now)
            catchup = None
            if due is not None and (options.until is None or due <= options.until):
                self._fire(due, now)
                continue
            upcoming = self.schedule.next_after(now)
            if options.until is not None and upcoming > options.until:
                if active is None:
                    return self._report("until", abandoned=False)
                upcoming = now + timedelta(seconds=_POLL_SECONDS)
            self._wake.wait(min(max((upcoming - now).total_seconds(), 0.0), _POLL_SECONDS))

    def _due(self, now: datetime) -> datetime | None:
        """The latest fire time at or before `now` not yet handled; records any it passed."""
        latest = self._latest_at_or_before(now)
        cursor = self._cursor()
        if latest is None or latest <= cursor:
            return None
        count, first = self._count_between(cursor, latest)
        if count > 1:
            # The loop wakes at each fire time, so this takes a stalled process (a suspended
            # machine, a stopped process): treat them as missed, like downtime.
            before = self._latest_at_or_before(latest - timedelta(seconds=1))
            self._record_missed(first, before, count - 1, "the scheduler was not scheduled "
                                "(was the process or the machine suspended?)")
        return latest

    def _fire(self, fire_time: datetime, now: datetime) -> None:
        with self._mutex:
            active = self._active
            if active is not None:
                detail = (f"run {active.run} (fire time {self._show(active.fire_time)}) was "
                          f"still in progress, started "
                          f"{(now - active.started).total_seconds():.1f}s before")
                self.store.append(TickRecord(fire_time=fire_time, status=TickStatus.SKIPPED,
                                             detail=detail))
                self._advance(fire_time)
                self._counts["skipped"] += 1
                _log.info("Fire time %s: skipped: %s.", self._show(fire_time), detail)
                return
            run_number = self._state.runs + 1
            active = ActiveRun(fire_time=fire_time, run=run_number, started=now,
                               pid=os.getpid(), host=socket.gethostname())
            # Recorded before the run starts: a fire time is run at most once.
            self._state = self._state.replace(last_fire_time=fire_time, runs=run_number,
                                              active=active)
            self.store.save(self._state)
            self._active = active
            self._counts["runs"] += 1
        late = (now - fire_time).total_seconds()
        _log.info("Fire time %s: run %d started%s.", self._show(fire_time), run_number,
                  f" ({late:.0f}s late: catch-up)" if late >= 1 else "")
        threading.Thread(target=self._work, args=(active,), name=f"scheduled-run-{run_number}",
                         daemon=True).start()

    def _work(self, active: ActiveRun) -> None:
        error: BaseException | None = None
        try:
            self.run_fn(active.fire_time)
        except BaseException as caught:  # noqa: BLE001 (a failed run must not end the schedule)
            error = caught
        finished = self._now()
        seconds = (finished - active.started).total_seconds()
        with self._mutex:
            if self._abandoned_run == active.run:
                return
            status = TickStatus.SUCCEEDED if error is None else TickStatus.FAILED
            detail = None if error is None else f"{type(error).__name__}: {error}"
            self.store.append(TickRecord(fire_time=active.fire_time, status=status,
                                         run=active.run, started=active.started,
                                         finished=finished, detail=detail))
            self._state = self._state.replace(active=None)
            self.store.save(self._state)
            self._active = None
            self._counts[status.value] += 1
        if error is None:
            _log.info("Fire time %s: run %d succeeded in %.1fs.",
                      self._show(active.fire_time), active.run, seconds)
        else:
            _log.error("Fire time %s: run %d failed after %.1fs: %s", self._show(active.fire_time),
                       active.run, seconds, detail, exc_info=_log.isEnabledFor(logging.DEBUG)
                       and error)
        self._wake.set()

    def _abandon(self, active: ActiveRun, now: datetime) -> None:
        with self._mutex:
            if self._active is None:  # it ended meanwhile
                return
            self._abandoned_run = active.run
            detail = "the scheduler was stopped without waiting for this run to end"
            self.store.append(TickRecord(fire_time=active.fire_time, status=TickStatus.ABANDONED,
                                         run=active.run, started=active.started, finished=now,
                                         detail=detail))
            self._state = self._state.replace(active=None)
            self.store.save(self._state)
            self._active = None
        _log.warning("Fire time %s: run %d abandoned (%s).", self._show(active.fire_time),
                     active.run, detail)

    # -- helpers --------------------------------------------------------------------------

    def _install_signal_handlers(self) -> dict[int, Any]:
        if not self.options.handle_signals or threading.current_thread() is not \
                threading.main_thread():
            return {}

        def handle(signum, frame):  # only sets flags: see _POLL_SECONDS
            self._stop_reason = "signal"
            self._stop_requests += 1

        previous = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, handle)
        return previous

    def _record_missed(self, first: datetime, last: datetime, count: int, why: str) -> None:
        with self._mutex:
            self.store.append(TickRecord(fire_time=last, status=TickStatus.MISSED,
                                         first_fire_time=first, count=count, detail=why))
            self._counts["missed"] += count
            self._advance(last)
        _log.info("Fire times %s .. %s: %d missed (%s).", self._show(first), self._show(last),
                  count, why)

    def _advance(self, fire_time: datetime) -> None:
        """Marks `fire_time` handled (callers hold the mutex, or run before the loop)."""
        self._state = self._state.replace(last_fire_time=fire_time)
        self.store.save(self._state)

    def _cursor(self) -> datetime:
        state = self._state
        return (state.last_fire_time or state.created).astimezone(self._zone)

    def _count_between(self, after: datetime, last: datetime) -> tuple[int, datetime]:
        """How many fire times lie in (after, last] (capped), and the first of them."""
        first = moment = self.schedule.next_after(after)
        count = 0
        while moment <= last and count < _MAX_COUNT:
            count += 1
            moment = self.schedule.next_after(moment)
        return count, first

    def _latest_at_or_before(self, moment: datetime) -> datetime | None:
        try:
            return self.schedule.latest_at_or_before(moment.astimezone(self._zone))
        except RuntimeError:
            return None

    def _now(self) -> datetime:
        return datetime.now(UTC).astimezone(self._zone)

    def _show(self, moment: datetime) -> str:
        return moment.astimezone(self._zone).strftime("%Y-%m-%d %H:%M:%S %Z")

    def _report(self, reason: str, *, abandoned: bool) -> SchedulerReport:
        counts = self._counts
        report = SchedulerReport(runs=counts["runs"], succeeded=counts["succeeded"],
                                 failed=counts["failed"], skipped=counts["skipped"],
                                 missed=counts["missed"], abandoned=abandoned,
                                 stopped_because=reason)
        _log.info("Scheduler stopped (%s): %d run(s) started, %d succeeded, %d failed, %d "
                  "skipped (a run was in progress), %d missed%s.", reason, report.runs,
                  report.succeeded, report.failed, report.skipped, report.missed,
                  ", 1 abandoned" if abandoned else "")
        return report
