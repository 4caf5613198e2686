"""Cron expressions: 5 -> 6 fields for Kubeflow, fire times, day-of-month/day-of-week, errors."""

import itertools
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipelines.scheduling import CronError, CronSchedule


def _utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def _fires(expression, start, count):
    schedule, moment, times = CronSchedule(expression), start, []
    for _ in range(count):
        moment = schedule.next_after(moment)
        times.append(moment)
    return times


@pytest.mark.parametrize("given, kfp", [
    ("0 3 * * *", "0 0 3 * * *"),
    ("*/15 9-17 * * MON-FRI", "0 */15 9-17 * * MON-FRI"),
    ("  30   2 1 jan,jul *  ", "0 30 2 1 jan,jul *"),
    ("*/10 * * * * *", "*/10 * * * * *"),  # six fields: already seconds first
    ("0 0 9 ? * 2-6", "0 0 9 ? * 2-6"),  # KFP's own documentation example
    ("@daily", "0 0 0 * * *"),
    ("@hourly", "0 0 * * * *"),
    ("0 0 * * 7", "0 0 0 * * 0"),  # robfig/cron's day of week stops at 6: Sunday is 0
    ("0 0 * * 5-7", "0 0 0 * * 0,5,6"),
])
def test_five_fields_become_kfps_six_with_seconds_first(given, kfp):
    schedule = CronSchedule(given)
    assert schedule.kfp_expression == kfp
    assert CronSchedule(kfp) == schedule  # the six-field form means the same times


@pytest.mark.parametrize("expression, message", [
    ("0 25 * * *", r"the hour field '25': 25 is out of range 0-23"),
    ("60 * * * *", r"the minute field '60': 60 is out of range 0-59"),
    ("* * 0 * *", r"the day-of-month field '0': 0 is out of range 1-31"),
    ("* * * 13 *", r"the month field '13'"),
    ("* * * * 8", r"the day-of-week field '8': 8 is out of range 0-7"),
    ("61 * * * * *", r"the second field '61'"),
    ("* * * FOO *", r"the month field 'FOO': 'FOO' is not a number or a name \(JAN, FEB"),
    ("*/0 * * * *", r"the minute field '\*/0': the step '0' must be a positive integer"),
    ("5/ * * * *", r"the minute field '5/': the step '' must be a positive integer"),
    ("0 17-9 * * *", r"the hour field '17-9': the range '17-9' runs backwards .*'17-23,0-9'"),
    ("0 0 * * FRI-MON", r"'FRI-MON' runs backwards .*'FRI-6,0-MON'"),
    ("1,,2 * * * *", r"the minute field '1,,2': has an empty list item"),
    ("? * * * *", r"the minute field '\?': '\?' is only allowed in day-of-month and day-of-week"),
    ("0 0 L * *", r"the day-of-month field 'L'.*'L', 'W' and '#' are not supported"),
    ("* * *", r"it has 3 field\(s\); expected 5 \(minute hour day-of-month month day-of-week"),
    ("* * * * * * *", r"it has 7 field\(s\)"),
    ("", r"it has 0 field\(s\)"),
    ("0 0 30 2 *", r"it never fires: the day-of-month field '30' names no day that the month "
                   r"field '2' has"),
    ("@every 5m", r"unknown macro '@every 5m'.*'\*/30 \* \* \* \* \*'"),
])
def test_invalid_expressions_name_the_field_and_the_problem(expression, message):
    with pytest.raises(CronError, match=r"Invalid cron expression .*" + message):
        CronSchedule(expression)


def test_a_cron_error_is_a_value_error_and_a_non_string_a_type_error():
    assert issubclass(CronError, ValueError)
    with pytest.raises(TypeError, match="must be a string; got int 5"):
        CronSchedule(5)


def test_day_of_month_and_day_of_week_fire_on_either_when_both_are_restricted():
    # 1st and 15th of the month, and every Monday (March 2025: the 3rd is a Monday).
    assert [t.day for t in _fires("0 0 1,15 * MON", _utc(2025, 2, 28), 7)] == [
        1, 3, 10, 15, 17, 24, 31]
    # Day of week '*': only the days of month; day of month '*': only the weekdays.
    assert [t.day for t in _fires("0 0 1,15 * *", _utc(2025, 2, 28), 3)] == [1, 15, 1]
    assert [t.day for t in _fires("0 0 * * MON", _utc(2025, 2, 28), 3)] == [3, 10, 17]
    assert [t.day for t in _fires("0 0 ? * MON", _utc(2025, 2, 28), 2)] == [3, 10]
    # As in robfig/cron, a stepped star is restricted: the 1st, 3rd, ... OR Sundays.
    assert [t.day for t in _fires("0 0 */2 * SUN", _utc(2025, 2, 28), 6)] == [
        1, 2, 3, 5, 7, 9]


def test_fire_times_roll_over_seconds_hours_months_and_leap_years():
    assert _fires("*/20 * * * * *", _utc(2025, 1, 1, 23, 59, 30), 3) == [
        _utc(2025, 1, 1, 23, 59, 40), _utc(2025, 1, 2), _utc(2025, 1, 2, 0, 0, 20)]
    assert _fires("5/20 * * * *", _utc(2025, 1, 1, 0, 6), 3) == [
        _utc(2025, 1, 1, 0, 25), _utc(2025, 1, 1, 0, 45), _utc(2025, 1, 1, 1, 5)]
    assert _fires("0 12 31 * *", _utc(2025, 1, 31, 12), 3) == [
        _utc(2025, 3, 31, 12), _utc(2025, 5, 31, 12), _utc(2025, 7, 31, 12)]
    assert _fires("0 0 29 feb *", _utc(2025, 1, 1), 2) == [_utc(2028, 2, 29), _utc(2032, 2, 29)]
    assert _fires("@yearly", _utc(2025, 6, 1), 1) == [_utc(2026, 1, 1)]
    assert _fires("0 9-10 * jan-mar SAT,sun", _utc(2025, 3, 30, 10, 0), 2) == [
        _utc(2026, 1, 3, 9), _utc(2026, 1, 3, 10)]  # 30 March 2025 is a Sunday


def test_next_after_and_latest_at_or_before_agree_with_a_brute_force_scan():
    generator = random.Random(8)
    expressions = ["*/7 */3 * * *", "0 0 1,15 * MON", "15 4 */2 * *", "0 9-17/4 * * 1-5",
                   "*/13 * * * * *", "30 30 2 * * SUN,WED", "0 0 29 2 *"]
    for expression in expressions:
        schedule = CronSchedule(expression)
        start = _utc(2024, 2, 25) + timedelta(seconds=generator.randrange(86400 * 10))
        if len(expression.split()) == 6:  # every second of 5 days
            scan = (start + timedelta(seconds=s) for s in range(1, 5 * 86400))
        else:  # every minute of 60 days
            minute = start.replace(second=0) + timedelta(minutes=1)
            scan = (minute + timedelta(minutes=m) for m in range(60 * 24 * 60))
        expected = list(itertools.islice((t for t in scan if schedule.matches(t)), 20))
        assert expected, expression
        found = _fires(expression, start, len(expected))
        assert found == expected, expression
        for moment in found + [start]:
            first = schedule.next_after(moment)
            assert schedule.latest_at_or_before(first) == first
            assert schedule.latest_at_or_before(first - timedelta(seconds=1)) <= moment


def test_wall_times_follow_the_time_zone_across_daylight_saving_changes():
    new_york = ZoneInfo("America/New_York")
    # 02:30 does not exist on 9 March 2025 (clocks jump 02:00 -> 03:00): that day is skipped.
    fires = _fires("30 2 * * *", datetime(2025, 3, 8, 3, tzinfo=new_york), 2)
    assert [(t.day, t.hour, t.minute) for t in fires] == [(10, 2, 30), (11, 2, 30)]
    # 01:30 happens twice on 2 November 2025: it fires once, the first time (EDT).
    fires = _fires("30 1 * * *", datetime(2025, 11, 1, 12, tzinfo=new_york), 2)
    assert [t.astimezone(UTC) for t in fires] == [_utc(2025, 11, 2, 5, 30),
                                                  _utc(2025, 11, 3, 6, 30)]
    # Every 30 minutes through the repeated hour: each wall time once, in order.
    fires = _fires("*/30 * * * *", datetime(2025, 11, 2, 0, 45, tzinfo=new_york), 4)
    assert [t.strftime("%H:%M") for t in fires] == ["01:00", "01:30", "02:00", "02:30"]
    assert all(a.astimezone(UTC) < b.astimezone(UTC) for a, b in itertools.pairwise(fires))


def test_naive_moments_are_refused():
    with pytest.raises(ValueError, match="must be time-zone aware"):
        CronSchedule("* * * * *").next_after(datetime(2025, 1, 1))
