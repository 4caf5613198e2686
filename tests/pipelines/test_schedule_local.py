"""The local scheduler on a real clock: an every-second schedule, run for a few seconds.

The pipeline run is replaced by an injected run function (`Runs`) that records its calls and
sleeps; the scheduler, its lock, state and history are the real ones, and the lock and
signal tests run a second scheduler in a separate process.
"""

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from pipelines.cli import main
from pipelines.scheduling import (
    CronError,
    LocalScheduler,
    SchedulerLock,
    SchedulerLockedError,
    SchedulerOptions,
    ScheduleStore,
    TickStatus,
)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TAXI_CONFIG = os.path.join(REPO, "examples", "chicago_taxi", "pipeline.yaml")
EVERY_SECOND = "* * * * * *"
SECOND = timedelta(seconds=1)


class Runs:
    """The injected run function: records each call and how many were running at once."""

    def __init__(self, *, seconds=(), fail=()):
        self.seconds = list(seconds)  # how long each run takes, by index (default 0.05 s)
        self.fail = set(fail)  # the indices of runs that raise
        self.calls: list[datetime] = []
        self.spans: list[tuple[datetime, datetime]] = []
        self.active = self.max_active = 0
        self._lock = threading.Lock()

    def __call__(self, fire_time):
        started = datetime.now(UTC)
        with self._lock:
            index = len(self.calls)
            self.calls.append(fire_time)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.seconds[index] if index < len(self.seconds) else 0.05)
            if index in self.fail:
                raise ValueError(f"injected failure of run {index + 1}")
        finally:
            with self._lock:
                self.active -= 1
                self.spans.append((started, datetime.now(UTC)))


def _scheduler(state_dir, runs, **options):
    return LocalScheduler(schedule=EVERY_SECOND, run_fn=runs, state_dir=str(state_dir),
                          options=SchedulerOptions(handle_signals=False, **options))


def _expand(history):
    """Every fire time the history accounts for, a span of missed ones expanded."""
    times = []
    for record in history:
        if record.status is TickStatus.MISSED:
            times += [record.first_fire_time + i * SECOND for i in range(record.count)]
            assert times[-1] == record.fire_time
        else:
            times.append(record.fire_time)
    return sorted(times)


def test_one_run_at_a_time_fire_times_during_a_run_are_skipped_and_logged(tmp_path, caplog):
    runs = Runs(seconds=[2.4, 0.05])
    scheduler = _scheduler(tmp_path, runs, max_runs=2)
    before = datetime.now(UTC)
    with caplog.at_level(logging.INFO, logger="pipelines.scheduling"):
        report = scheduler.run()

    assert runs.max_active == 1
    assert runs.spans[1][0] >= runs.spans[0][1]  # the second started after the first ended
    first, second = runs.calls
    assert first > before  # a new schedule catches nothing up
    history = scheduler.store.history()
    skipped = [r for r in history if r.status is TickStatus.SKIPPED]
    assert len(skipped) >= 2 and all(first < r.fire_time < second for r in skipped)
    assert all(r.detail.startswith("run 1 (fire time ") for r in skipped)
    # Every fire time from the first run to the second is handled, each exactly once.
    handled = _expand(history)
    assert handled == [first + i * SECOND for i in range(len(handled))]
    assert handled[-1] == second
    assert [r.status for r in history if r.run] == [TickStatus.SUCCEEDED] * 2
    assert report.runs == report.succeeded == 2 and report.skipped == len(skipped)
    assert report.stopped_because == "max_runs"
    assert caplog.text.count(": skipped: run 1 (fire time ") == len(skipped)
    state = scheduler.store.load()
    assert state.active is None and state.runs == 2 and state.last_fire_time == second


@pytest.mark.parametrize("catchup", ["latest", "none"])
def test_a_restart_never_reruns_a_fire_time_and_catches_up_at_most_once(tmp_path, catchup):
    runs = Runs()
    _scheduler(tmp_path, runs, max_runs=1).run()
    time.sleep(2.3)  # the scheduler is down: two or three fire times pass
    restart = datetime.now(UTC)
    report = _scheduler(tmp_path, runs, max_runs=2, catchup=catchup).run()

    calls = runs.calls
    assert len(calls) == 3 and calls == sorted(set(calls))
    history = ScheduleStore(str(tmp_path)).history()
    missed = [r for r in history if r.status is TickStatus.MISSED]
    assert len(missed) == 1 and missed[0].first_fire_time == calls[0] + SECOND
    if catchup == "latest":
        # One catch-up run, at once, for the latest missed fire time; the others are missed.
        assert calls[1] <= restart + timedelta(seconds=0.2)
        assert runs.spans[1][0] - restart < timedelta(seconds=0.5)
        assert missed[0].count >= 1 and missed[0].fire_time == calls[1] - SECOND
        assert calls[2] == calls[1] + SECOND
    else:
        # No catch-up: everything that passed is missed; the next run is on schedule.
        assert calls[1] > restart and calls[1] - restart <= SECOND
        assert missed[0].count >= 2
    handled = _expand(history)
    assert handled == [calls[0] + i * SECOND for i in range(len(handled))]
    assert handled[-1] == calls[2]
    assert [r.run for r in history if r.run] == [1, 2, 3]
    assert report.missed == missed[0].count
    assert ScheduleStore(str(tmp_path)).load().runs == 3


WORKER = r"""
import dataclasses, json, logging, sys, time
logging.basicConfig(level=logging.INFO, format="%(message)s")
from pipelines.scheduling import LocalScheduler, SchedulerOptions
state_dir, log_path, run_seconds, max_runs = sys.argv[1:]
def run(fire_time):
    with open(log_path, "a") as f:
        f.write(f"start {fire_time.isoformat()}\n")
    time.sleep(float(run_seconds))
    with open(log_path, "a") as f:
        f.write(f"end {fire_time.isoformat()}\n")
report = LocalScheduler(schedule="* * * * * *", run_fn=run, state_dir=state_dir,
                        options=SchedulerOptions(max_runs=int(max_runs))).run()
print(json.dumps(dataclasses.asdict(report)), flush=True)
"""


def _start_worker(state_dir, log_path, *, run_seconds, max_runs=1):
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(state_dir), str(log_path), str(run_seconds),
         str(max_runs)], cwd=REPO, env={**os.environ, "PYTHONPATH": REPO},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_run_start(process, log_path, timeout=20.0) -> datetime:
    """The fire time of the worker's first run, once it has started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(log_path):
            with open(log_path) as f:
                for line in f:
                    if line.startswith("start "):
                        return datetime.fromisoformat(line.split()[1])
        if process.poll() is not None:
            pytest.fail(f"the worker ended early: {process.communicate()}")
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"the worker started no run within {timeout}s: {process.communicate()}")


def test_a_second_scheduler_refuses_and_a_killed_one_leaves_no_lock_behind(tmp_path, caplog,
                                                                           capsys):
    state_dir, log_path = tmp_path / "state", tmp_path / "runs.log"
    worker = _start_worker(state_dir, log_path, run_seconds=60)
    runs = Runs()
    try:
        killed_fire_time = _wait_for_run_start(worker, log_path)
        holder = rf"pid {worker.pid} on host '{socket.gethostname()}', running since "
        with pytest.raises(SchedulerLockedError, match=holder):
            _scheduler(state_dir, runs, max_runs=1).run()
        # The command line refuses the same way (exit status 1), before loading anything.
        assert main(["schedule", TAXI_CONFIG, "--cron", EVERY_SECOND, "--local", "--state-dir",
                     str(state_dir), "--until", "2000-01-01T00:00"]) == 1
        error = capsys.readouterr().err
        assert "Another scheduler is already running on this schedule: pid " \
               f"{worker.pid}" in error and "scheduler.lock" in error
        assert runs.calls == []
    finally:
        worker.kill()  # SIGKILL mid-run: no clean-up happens in the worker
        worker.communicate(timeout=10)

    with caplog.at_level(logging.INFO, logger="pipelines.scheduling"):
        _scheduler(state_dir, runs, max_runs=1).run()
    assert f"The previous scheduler (pid {worker.pid} on " in caplog.text
    history = ScheduleStore(str(state_dir)).history()
    interrupted = history[0]
    assert (interrupted.status, interrupted.fire_time, interrupted.run) == (
        TickStatus.INTERRUPTED, killed_fire_time, 1)
    assert f"pid {worker.pid}" in interrupted.detail and "not run again" in interrupted.detail
    assert killed_fire_time not in runs.calls and runs.calls[0] > killed_fire_time
    assert [r.run for r in history if r.run] == [1, 2]


@pytest.mark.parametrize("signals", [1, 2])
def test_sigterm_lets_the_run_finish_a_second_one_abandons_it_and_the_lock_is_released(
        tmp_path, signals):
    state_dir, log_path = tmp_path / "state", tmp_path / "runs.log"
    worker = _start_worker(state_dir, log_path, run_seconds=1.5 if signals == 1 else 60,
                           max_runs=10)
    fire_time = _wait_for_run_start(worker, log_path)
    for _ in range(signals):
        worker.send_signal(signal.SIGTERM)
        time.sleep(0.2)
    try:
        out, err = worker.communicate(timeout=15)
    finally:
        worker.kill()
    assert worker.returncode == 0, err
    report = json.loads(out.splitlines()[-1])
    assert report["stopped_because"] == "signal" and report["runs"] == 1
    assert report["abandoned"] is (signals == 2)
    assert "Stopping: waiting for run 1 (fire time " in err
    with open(log_path) as f:
        ended = f"end {fire_time.isoformat()}\n" in f.read()
    store = ScheduleStore(str(state_dir))
    last = store.history()[-1]
    assert last.fire_time == fire_time and store.load().active is None
    if signals == 1:
        assert ended and last.status is TickStatus.SUCCEEDED
    else:
        assert not ended and last.status is TickStatus.ABANDONED
    with SchedulerLock(store.lock_path) as lock:  # released, and cleanly (no stale record)
        assert lock.stale_holder is None


def test_a_failed_run_is_recorded_and_the_schedule_runs_on_until_its_end(tmp_path, caplog):
    runs = Runs(fail={0})
    until = datetime.now(UTC) + timedelta(seconds=2.5)
    with caplog.at_level(logging.INFO, logger="pipelines.scheduling"):
        report = _scheduler(tmp_path, runs, until=until).run()
    assert datetime.now(UTC) - until < timedelta(seconds=1.5)
    assert report.stopped_because == "until" and report.failed == 1
    assert report.succeeded == len(runs.calls) - 1 >= 1
    assert all(t <= until for t in runs.calls)
    history = ScheduleStore(str(tmp_path)).history()
    assert (history[0].status, history[0].detail) == (
        TickStatus.FAILED, "ValueError: injected failure of run 1")
    assert "run 1 failed after" in caplog.text


@pytest.mark.parametrize("options, error, match", [
    ({"max_runs": 0}, ValueError, r"`max_runs` \(0\) must be a positive integer"),
    ({"catchup": "all"}, ValueError, r"`catchup` 'all' must be one of \['latest', 'none'\]"),
    ({"timezone": "Mars/Olympus"}, ValueError, r"`timezone` 'Mars/Olympus' is not a known"),
    ({"until": datetime(2030, 1, 1)}, ValueError, r"`until` .* must be a time-zone-aware"),
    ({"stop_grace_seconds": -1}, ValueError, r"`stop_grace_seconds` \(-1\) must be >= 0"),
])
def test_bad_options_fail_at_construction(options, error, match):
    with pytest.raises(error, match=match):
        SchedulerOptions(**options)


def test_a_bad_schedule_run_function_or_state_file_is_a_clear_error(tmp_path):
    with pytest.raises(CronError, match="the hour field '24'"):
        LocalScheduler(schedule="0 24 * * *", run_fn=print, state_dir=str(tmp_path))
    with pytest.raises(TypeError, match="`run_fn` must be callable"):
        LocalScheduler(schedule="0 3 * * *", run_fn="estpipe run", state_dir=str(tmp_path))
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(ValueError, match="state.json' is not valid JSON .* move it away"):
        _scheduler(tmp_path, Runs(), max_runs=1).run()
    with SchedulerLock(str(tmp_path / "scheduler.lock")):  # the failed start released it
        pass

