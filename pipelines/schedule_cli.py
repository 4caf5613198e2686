"""The scheduling command: `estpipe schedule [CONFIG] --cron EXPR (--host URL | --local)`.

    estpipe schedule CONFIG --cron "0 3 * * *" --host URL --root gs://bucket/runs ...
                                                              a recurring run on Kubeflow
    estpipe schedule CONFIG --cron "0 3 * * *" --local        the schedule, run here

`--cron` takes the usual five fields or six with the second first (Kubeflow's form); five
are sent to Kubeflow as six. With `--local` the command runs until stopped (SIGTERM or
Ctrl-C: the run in progress ends first; a second signal abandons it), or until `--max-runs`,
`--until` or `--duration`; the schedule's lock, state and history are in `--state-dir`
(default `<pipeline root>/schedules/<pipeline name>/`). Each run is `run_local` in a child
process of its own session (so Ctrl-C reaches the scheduler, not the run's steps). See
pipelines/scheduling/local_scheduler.py for the policies. With `--host` the pipeline must
name no path of this machine, as for `estpipe submit` (`--root`, `--serving-base`,
`--input-pattern`, or `--allow-local`).

Example:
    >>> parser = argparse.ArgumentParser(prog="estpipe")
    >>> commands = parser.add_subparsers(dest="command", required=True)
    >>> add_schedule_command(commands)
    >>> args = parser.parse_args(["schedule", "pipeline.yaml", "--cron", "0 3 * * *",
    ...                           "--local", "--max-runs", "1"])
    >>> args.handler(args)
    0
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["add_schedule_command"]

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def add_schedule_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Registers `schedule` on an argparse subparsers object; its handler returns an exit code.

    Args:
        subparsers: What `ArgumentParser.add_subparsers()` returned.

    Returns:
        The `schedule` parser.
    """
    from pipelines.cli_arguments import add_config, add_overrides

    parser = subparsers.add_parser(
        "schedule", help="run the pipeline on a cron schedule (Kubeflow, or here with --local)",
        description="Creates a recurring run on a Kubeflow Pipelines endpoint (--host), or runs "
                    "the schedule on this machine (--local): one run at a time, each fire time "
                    "at most once, at most one catch-up run after downtime.")
    add_config(parser)
    parser.add_argument("--cron", required=True, metavar="EXPR",
                        help="'MIN HOUR DOM MONTH DOW' or six fields with seconds first, "
                             "e.g. '0 3 * * *' (03:00 daily) or '*/10 * * * * *'")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--host", help="the KFP API endpoint URL: create a recurring run there")
    where.add_argument("--local", action="store_true",
                       help="run the schedule on this machine until stopped")
    parser.add_argument("--until", metavar="TIME",
                        help="no runs after this ISO 8601 time (in --timezone unless it has "
                             "an offset)")
    kfp = parser.add_argument_group("with --host")
    kfp.add_argument("--image", help="container image every step runs in")
    kfp.add_argument("--experiment", default=None, help="KFP experiment (default: pipeline name)")
    kfp.add_argument("--name", default=None,
                     help="recurring run name (default: <pipeline name>-schedule)")
    kfp.add_argument("--allow-local", action="store_true",
                     help="accept a pipeline root, serving base or input pattern on this "
                          "machine (a cluster cannot reach them; for tests)")
    parser.add_argument("--root", help="pipeline root for the runs (default: the config's; "
                                       "with --host, an object-store URI such as "
                                       "gs://bucket/runs)")
    local = parser.add_argument_group("with --local")
    local.add_argument("--state-dir", metavar="DIR",
                       help="the schedule's lock, state and history (default: "
                            "<root>/schedules/<pipeline name>)")
    local.add_argument("--no-cache", action="store_true",
                       help="run every step, even those whose inputs did not change")
    local.add_argument("--catchup", choices=("latest", "none"), default="latest",
                       help="fire times missed while no scheduler ran: run once for the "
                            "latest (default), or none")
    local.add_argument("--max-runs", type=int, metavar="N", help="stop after N runs")
    local.add_argument("--duration", metavar="DURATION",
                       help="stop after this long, e.g. 90s, 30m, 12h, 7d")
    local.add_argument("--timezone", default="UTC",
                       help="IANA time zone of the cron's times (default UTC, as KFP)")
    local.add_argument("--stop-grace", type=float, metavar="SECONDS",
                       help="on SIGTERM/Ctrl-C, abandon the run in progress after this long "
                            "(default: wait for it)")
    add_overrides(parser)
    parser.set_defaults(handler=_schedule)
    return parser


def _schedule(args: argparse.Namespace) -> int:
    from pipelines.scheduling import CronSchedule

    try:
        schedule = CronSchedule(args.cron)
        if not args.local:
            local_only = {"state_dir": None, "max_runs": None, "duration": None,
                          "stop_grace": None, "no_cache": False, "catchup": "latest",
                          "timezone": "UTC"}
            for flag, default in local_only.items():
                if getattr(args, flag) != default:
                    raise ValueError(f"--{flag.replace('_', '-')} only applies with --local "
                                     "(Kubeflow's scheduler reads the cron in UTC, runs one at "
                                     "a time and catches up once).")
        if args.local and args.allow_local:
            raise ValueError("--allow-local only applies with --host (a local schedule runs "
                             "on this machine's paths).")
        until = _until(args)
        return _local(args, schedule, until) if args.local else _kfp(args, schedule, until)
    except ValueError as error:  # CronError, bad options, an unreadable state file
        print(f"estpipe schedule: {error}", file=sys.stderr)
        return 2


def _kfp(args, schedule, until) -> int:
    from pipelines.cli_arguments import load, run_arguments, with_overrides
    from pipelines.compile import check_cluster_paths
    from pipelines.scheduling import create_recurring_run

    config = with_overrides(load(args.config), args)
    if not args.allow_local:
        check_cluster_paths(config)
    recurring = create_recurring_run(config, host=args.host, cron=schedule, image=args.image,
                                     experiment=args.experiment, name=args.name,
                                     arguments=run_arguments(args), until=until)
    print(f"Created recurring run {recurring.recurring_run_id} ({recurring.name!r}) of "
          f"{config.name!r} on {args.host}: cron {recurring.cron!r}"
          f"{f' (from {schedule.expression!r})' if recurring.cron != schedule.expression else ''}"
          ", one run at a time, no catch-up backfill"
          f"{f', until {until.isoformat()}' if until else ''}.")
    return 0


def _local(args, schedule, until) -> int:
    from pipelines.cli_arguments import load, run_arguments
    from pipelines.scheduling import LocalScheduler, SchedulerLockedError, SchedulerOptions

    config = load(args.config)
    root = args.root or config.root
    state_dir = args.state_dir
    if state_dir is None:
        if "://" in root:
            raise ValueError(f"The pipeline root {root!r} is not a local folder; the local "
                             "scheduler keeps its lock and state on this machine: give "
                             "--state-dir DIR.")
        state_dir = os.path.join(root, "schedules", config.name)
    options = SchedulerOptions(catchup=args.catchup, max_runs=args.max_runs, until=until,
                               timezone=args.timezone, stop_grace_seconds=args.stop_grace)
    runs = _PipelineRuns({"config": os.path.abspath(args.config), "root": args.root,
                          "enable_caching": not args.no_cache, "arguments": run_arguments(args),
                          "verbose": args.verbose})
    scheduler = LocalScheduler(schedule=schedule, run_fn=runs, state_dir=state_dir,
                               options=options)
    runs.lock = scheduler.lock
    try:
        report = scheduler.run()
    except SchedulerLockedError as error:
        print(f"estpipe schedule: {error}", file=sys.stderr)
        return 1
    finally:
        runs.end()  # a run abandoned on stop ends with its steps
    print(f"Schedule {schedule.expression!r} of {config.name!r} stopped ({report.stopped_because}"
          f"): {report.runs} run(s), {report.succeeded} succeeded, {report.failed} failed, "
          f"{report.skipped} skipped while a run was in progress, {report.missed} missed"
          f"{', the last abandoned' if report.abandoned else ''}. History: "
          f"{scheduler.store.history_path}")
    return 0


class _PipelineRuns:
    """The local scheduler's run function: one pipeline run per fire time, in a child process.

    The child (`python -m pipelines.schedule_cli REQUEST`) runs in a session of its own, so a
    Ctrl-C or SIGTERM meant for the scheduler does not reach the run's steps (the scheduler
    decides: finish the run, or abandon it); an abandoned run is ended with its steps
    (`end()`); a crash or a leak in one run stays in its process. The child also holds the
    scheduler's lock (an inherited descriptor): if the scheduler is killed, a new one cannot
    start until the run it left has ended.
    """

    def __init__(self, request: dict):
        self.lock = None
        self._request = json.dumps(request)
        self._process: subprocess.Popen | None = None

    def __call__(self, fire_time: datetime) -> None:
        package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_parent, env.get("PYTHONPATH")) if p)
        lock_fd = self.lock.fileno()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "pipelines.schedule_cli", self._request,
             fire_time.isoformat()], env=env, start_new_session=True, pass_fds=(lock_fd,))
        status = self._process.wait()
        if status != 0:
            raise RuntimeError(f"the pipeline run exited with status {status} (its log is "
                               "under the pipeline root, in logs/)")

    def end(self, grace_seconds: float = 10.0) -> None:
        """Ends a run still going (SIGTERM to its process group, then SIGKILL)."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        for signum, wait in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, None)):
            try:
                os.killpg(process.pid, signum)
                process.wait(wait)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue


def _run_once(argv: list[str]) -> int:
    """One scheduled run, in the child process: `run_local`, then the run's summary."""
    import logging

    from pipelines.config import load_config
    from pipelines.local_run import run_local
    from pipelines.summary import summarize

    request, fire_time = json.loads(argv[0]), argv[1]
    logging.basicConfig(level=logging.DEBUG if request["verbose"] else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    print(f"Scheduled run for {fire_time}:", file=sys.stderr, flush=True)
    try:
        result = run_local(load_config(request["config"]), pipeline_root=request["root"],
                           enable_caching=request["enable_caching"],
                           arguments=request["arguments"], verbose=request["verbose"])
    except (RuntimeError, ValueError, OSError) as error:  # a step, or the checks before
        print(f"estpipe schedule: the run for {fire_time} failed: {error}", file=sys.stderr)
        return 1
    print(summarize(result), flush=True)
    return 0


def _until(args) -> datetime | None:
    try:
        zone = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"--timezone {args.timezone!r} is not a known IANA time zone (e.g. UTC, "
                         "Europe/Berlin).") from None
    if args.until is not None and args.duration is not None:
        raise ValueError("Give --until or --duration, not both.")
    if args.duration is not None:
        match = _DURATION.match(args.duration.strip())
        if not match or float(match.group(1)) <= 0:
            raise ValueError(f"--duration {args.duration!r} must be a positive duration such as "
                             "90s, 30m, 12h or 7d.")
        return datetime.now(zone) + timedelta(
            seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if args.until is None:
        return None
    try:
        until = datetime.fromisoformat(args.until)
    except ValueError:
        raise ValueError(f"--until {args.until!r} is not an ISO 8601 time such as "
                         "2030-01-31T18:00 or 2030-01-31T18:00+01:00.") from None
    return until if until.utcoffset() is not None else until.replace(tzinfo=zone)


if __name__ == "__main__":
    raise SystemExit(_run_once(sys.argv[1:]))
