"""Cron expressions: the usual five fields, or six with seconds first (Kubeflow Pipelines').

Kubeflow Pipelines reads a recurring run's cron with github.com/robfig/cron, where the first
of six fields is the second: `"0 3 * * *"` given to KFP as is would mean "at second 0 of
minute 3 of every hour...". `CronSchedule` takes either form and `kfp_expression` is always
the six-field form, so the same expression means the same times here and on the cluster.

Syntax, per field: `*`, a value, a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (from `a`
to the field's end), and comma lists of these. Months and days of the week also take
names (`JAN`-`DEC`, `SUN`-`SAT`, any case); day of the week 7 is Sunday, like 0; `?` means
`*` in day of month and day of week. Macros: `@yearly` (`@annually`), `@monthly`,
`@weekly`, `@daily` (`@midnight`), `@hourly`.

Day of month and day of week combine as cron and robfig/cron do: if either field is `*`
(or `?`), a day must match both; if both are restricted, a day matching either one fires
(`0 0 1,15 * MON` fires on the 1st, the 15th and every Monday). As in robfig/cron, a
stepped star such as `*/2` counts as restricted.

Times are wall-clock times in a time zone. A wall time that does not exist (the hour
skipped when daylight saving time starts) does not fire; a wall time that occurs twice (when
it ends) fires once, at its first occurrence.

Example:
    >>> schedule = CronSchedule("0 3 * * MON-FRI")
    >>> schedule.kfp_expression
    '0 0 3 * * MON-FRI'
    >>> schedule.next_after(datetime(2025, 1, 3, 4, 0, tzinfo=timezone.utc))  # a Friday
    datetime.datetime(2025, 1, 6, 3, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import bisect
import calendar
import dataclasses
from datetime import UTC, datetime, timedelta

__all__ = ["CronError", "CronSchedule"]

_MACROS = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}
_MONTHS = {name: i + 1 for i, name in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_DAYS = {name: i for i, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
# How far `next_after`/`latest_at_or_before` look; 29 February can be 8 years away.
_SEARCH_YEARS = 10


@dataclasses.dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None
    allows_question_mark: bool = False


_FIELDS = (
    _Field("second", 0, 59),
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31, allows_question_mark=True),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 0, 7, _DAYS, allows_question_mark=True),
)


class CronError(ValueError):
    """An invalid cron expression; the message names the field and what is wrong with it."""


class CronSchedule:
    """A parsed cron expression: its fire times, and its six-field form for Kubeflow Pipelines.

    Args:
        expression: Five fields (`minute hour day-of-month month day-of-week`), six fields
            with the second first (as Kubeflow Pipelines takes), or a macro (`@daily`, ...).

    Raises:
        CronError: If the expression is not valid or never fires; the message names the
            field.

    Example:
        >>> CronSchedule("*/5 * * * * *").next_after(
        ...     datetime(2025, 1, 1, 0, 0, 7, tzinfo=timezone.utc))
        datetime.datetime(2025, 1, 1, 0, 0, 10, tzinfo=datetime.timezone.utc)
        >>> CronSchedule("0 25 * * *")
        Traceback (most recent call last):
        ...
        pipelines.scheduling.cron.CronError: Invalid cron expression '0 25 * * *': the hour field '25': 25 is out of range 0-23.
    """

    def __init__(self, expression: str):
        if not isinstance(expression, str):
            raise TypeError(f"A cron expression must be a string; got {type(expression).__name__} "
                            f"{expression!r}.")
        self.expression = expression
        text = expression.strip()
        if text.startswith("@"):
            if text.lower() not in _MACROS:
                raise CronError(f"Invalid cron expression {expression!r}: unknown macro "
                                f"{text!r}; expected one of {', '.join(sorted(_MACROS))} (for a "
                                "fixed interval write a step, e.g. '*/30 * * * * *').")
            text = _MACROS[text.lower()]
        fields = text.split()
        if len(fields) == 5:
            fields = ["0"] + fields
        elif len(fields) != 6:
            raise CronError(
                f"Invalid cron expression {expression!r}: it has {len(fields)} field(s); expected "
                "5 (minute hour day-of-month month day-of-week, e.g. '0 3 * * *') or 6 with the "
                "second first, as Kubeflow Pipelines takes (e.g. '0 0 3 * * *').")
        values, stars = [], []
        for spec, source in zip(_FIELDS, fields, strict=True):
            parsed, star = _parse_field(spec, source, expression)
            values.append(parsed)
            stars.append(star)
        seconds, minutes, hours, days, months, weekdays = values
        self._fields = tuple(fields)
        self._seconds = tuple(sorted(seconds))
        self._minutes = tuple(sorted(minutes))
        self._hours = tuple(sorted(hours))
        self._days = frozenset(days)
        self._months = frozenset(months)
        # Day of week 7 is Sunday, like 0.
        self._weekdays = frozenset(0 if day == 7 else day for day in weekdays)
        self._day_star, self._weekday_star = stars[3], stars[5]
        self._check_fires(expression)

    @property
    def kfp_expression(self) -> str:
        """The six-field form (second first) that Kubeflow Pipelines' recurring runs take."""
        fields = list(self._fields)
        if "7" in fields[5]:
            # robfig/cron's day of week ends at 6: list the days instead.
            fields[5] = "*" if self._weekday_star else ",".join(
                str(day) for day in sorted(self._weekdays))
        return " ".join(fields)

    def __repr__(self) -> str:
        return f"CronSchedule({self.expression!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CronSchedule) and self.kfp_expression == other.kfp_expression

    def __hash__(self) -> int:
        return hash(self.kfp_expression)

    def matches(self, moment: datetime) -> bool:
        """Whether `moment`'s wall-clock time (to the second) is a fire time."""
        return (moment.second in self._seconds and moment.minute in self._minutes
                and moment.hour in self._hours and moment.month in self._months
                and self._day_matches(moment))

    def next_after(self, moment: datetime) -> datetime:
        """The first fire time strictly after `moment`, in `moment`'s time zone.

        Args:
            moment: A time-zone-aware datetime.

        Raises:
            ValueError: If `moment` is naive.
        """
        zone = _zone_of(moment)
        wall = moment.astimezone(zone).replace(tzinfo=None, microsecond=0) + timedelta(seconds=1)
        last_year = wall.year + _SEARCH_YEARS
        while wall.year <= last_year:
            if wall.month not in self._months:
                wall = _month_start(wall.year, wall.month) + _one_month(wall)
            elif not self._day_matches(wall):
                wall = wall.replace(hour=0, minute=0, second=0) + timedelta(days=1)
            elif wall.hour not in self._hours:
                hour = _next_in(self._hours, wall.hour)
                wall = (wall.replace(hour=hour, minute=0, second=0) if hour is not None else
                        wall.replace(hour=0, minute=0, second=0) + timedelta(days=1))
            elif wall.minute not in self._minutes:
                minute = _next_in(self._minutes, wall.minute)
                wall = (wall.replace(minute=minute, second=0) if minute is not None else
                        wall.replace(minute=0, second=0) + timedelta(hours=1))
            elif wall.second not in self._seconds:
                second = _next_in(self._seconds, wall.second)
                wall = (wall.replace(second=second) if second is not None else
                        wall.replace(second=0) + timedelta(minutes=1))
            else:
                candidate = _localize(wall, zone)
                if candidate is not None and _utc(candidate) > _utc(moment):
                    return candidate
                wall += timedelta(seconds=1)
        raise RuntimeError(f"{self!r} has no fire time within {_SEARCH_YEARS} years after "
                           f"{moment.isoformat()}.")

    def latest_at_or_before(self, moment: datetime) -> datetime:
        """The last fire time at or before `moment`, in `moment`'s time zone.

        Args:
            moment: A time-zone-aware datetime.

        Raises:
            ValueError: If `moment` is naive.
        """
        zone = _zone_of(moment)
        wall = moment.astimezone(zone).replace(tzinfo=None, microsecond=0)
        first_year = wall.year - _SEARCH_YEARS
        second = timedelta(seconds=1)
        while wall.year >= first_year:
            if wall.month not in self._months:
                wall = _month_start(wall.year, wall.month) - second
            elif not self._day_matches(wall):
                wall = wall.replace(hour=0, minute=0, second=0) - second
            elif wall.hour not in self._hours:
                hour = _previous_in(self._hours, wall.hour)
                wall = (wall.replace(hour=hour, minute=59, second=59) if hour is not None else
                        wall.replace(hour=0, minute=0, second=0) - second)
            elif wall.minute not in self._minutes:
                minute = _previous_in(self._minutes, wall.minute)
                wall = (wall.replace(minute=minute, second=59) if minute is not None else
                        wall.replace(minute=0, second=0) - second)
            elif wall.second not in self._seconds:
                earlier = _previous_in(self._seconds, wall.second)
                wall = (wall.replace(second=earlier) if earlier is not None else
                        wall.replace(second=0) - second)
            else:
                candidate = _localize(wall, zone)
                if candidate is not None and _utc(candidate) <= _utc(moment):
                    return candidate
                wall -= second
        raise RuntimeError(f"{self!r} has no fire time within {_SEARCH_YEARS} years before "
                           f"{moment.isoformat()}.")

    def _day_matches(self, moment: datetime) -> bool:
        day = moment.day in self._days
        weekday = (moment.weekday() + 1) % 7 in self._weekdays  # cron: Sunday is 0
        if self._day_star or self._weekday_star:
            return day and weekday
        return day or weekday

    def _check_fires(self, expression: str) -> None:
        # Only "days of month AND any weekday" can name days no month has (30 February).
        if not self._weekday_star or self._day_star:
            return
        if any(day <= _days_in_month(month) for month in self._months for day in self._days):
            return
        raise CronError(f"Invalid cron expression {expression!r}: it never fires: the "
                        f"day-of-month field {self._fields[3]!r} names no day that the month "
                        f"field {self._fields[4]!r} has.")


def _parse_field(spec: _Field, source: str, expression: str) -> tuple[set[int], bool]:
    """Parses one field into its set of values, and whether it counts as `*`."""

    def fail(reason: str) -> CronError:
        return CronError(f"Invalid cron expression {expression!r}: the {spec.name} field "
                         f"{source!r}: {reason}")

    values: set[int] = set()
    star = False
    for part in source.split(","):
        if not part:
            raise fail("has an empty list item.")
        range_text, _, step_text = part.partition("/")
        step = 1
        if step_text or part.endswith("/"):
            if not step_text.isdigit() or int(step_text) == 0:
                raise fail(f"the step {step_text!r} must be a positive integer.")
            step = int(step_text)
        if range_text in ("*", "?"):
            if range_text == "?" and not spec.allows_question_mark:
                raise fail("'?' is only allowed in day-of-month and day-of-week.")
            low, high = spec.low, spec.high
            if step == 1:
                star = True
        elif "-" in range_text:
            low_text, _, high_text = range_text.partition("-")
            low, high = _value(spec, low_text, fail), _value(spec, high_text, fail)
            if low > high:
                end = 6 if spec.name == "day-of-week" else spec.high
                raise fail(f"the range {range_text!r} runs backwards (ranges do not wrap "
                           f"around); write two, e.g. '{low_text}-{end},{spec.low}-{high_text}'.")
        else:
            low = _value(spec, range_text, fail)
            high = spec.high if step_text else low  # "a/n" runs from a to the field's end
        values.update(range(low, high + 1, step))
    return values, star


def _value(spec: _Field, text: str, fail) -> int:
    if spec.names and text.lower() in spec.names:
        return spec.names[text.lower()]
    if not text.isdigit():
        names = f" or a name ({', '.join(n.upper() for n in spec.names)})" if spec.names else ""
        hint = " ('L', 'W' and '#' are not supported)" if any(c in text for c in "LW#") else ""
        raise fail(f"{text!r} is not a number{names}{hint}.")
    value = int(text)
    if not spec.low <= value <= spec.high:
        raise fail(f"{value} is out of range {spec.low}-{spec.high}.")
    return value


def _next_in(values: tuple[int, ...], current: int) -> int | None:
    index = bisect.bisect_right(values, current)
    return values[index] if index < len(values) else None


def _previous_in(values: tuple[int, ...], current: int) -> int | None:
    index = bisect.bisect_left(values, current)
    return values[index - 1] if index > 0 else None


def _zone_of(moment: datetime):
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"`moment` ({moment.isoformat()}) must be time-zone aware, e.g. "
                         "datetime.now(timezone.utc).")
    return moment.tzinfo


def _localize(wall: datetime, zone) -> datetime | None:
    """`wall` in `zone` (its first occurrence), or None where the wall time does not exist."""
    candidate = wall.replace(tzinfo=zone, fold=0)
    if candidate.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        return None  # skipped by a daylight-saving change
    return candidate


def _utc(moment: datetime) -> datetime:
    # Aware datetimes that share a tzinfo compare by wall time, ignoring `fold`: compare in UTC.
    return moment.astimezone(UTC)


def _month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1)


def _one_month(wall: datetime) -> timedelta:
    return timedelta(days=calendar.monthrange(wall.year, wall.month)[1])


def _days_in_month(month: int) -> int:
    return 29 if month == 2 else calendar.monthrange(2001, month)[1]
