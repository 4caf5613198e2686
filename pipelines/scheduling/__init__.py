"""Scheduled pipeline runs: cron parsing, the local scheduler and KFP recurring runs.

Example:
    >>> from pipelines import scheduling
    >>> scheduling.CronSchedule("0 3 * * *").kfp_expression
    '0 0 3 * * *'
"""

from pipelines.scheduling.cron import CronError, CronSchedule
from pipelines.scheduling.local_scheduler import (
    CatchupPolicy,
    LocalScheduler,
    SchedulerOptions,
    SchedulerReport,
)
from pipelines.scheduling.lock import SchedulerLock, SchedulerLockedError
from pipelines.scheduling.recurring_run import RecurringRun, create_recurring_run
from pipelines.scheduling.state import (
    ActiveRun,
    ScheduleState,
    ScheduleStore,
    TickRecord,
    TickStatus,
)

__all__ = [
    "ActiveRun",
    "CatchupPolicy",
    "CronError",
    "CronSchedule",
    "LocalScheduler",
    "RecurringRun",
    "ScheduleState",
    "ScheduleStore",
    "SchedulerLock",
    "SchedulerLockedError",
    "SchedulerOptions",
    "SchedulerReport",
    "TickRecord",
    "TickStatus",
    "create_recurring_run",
]
