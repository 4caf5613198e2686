"""Where a step's time goes: named phases, reported on one line of the step's log.

A component's function runs inside `step_phases()` (or between `start_step()` and
`end_step()`), and the step's parts time themselves with `phase(name)`, or `lap(name)` for
the time since the step started or the last lap. When the step ends, one line goes to its
log:

    Step phases: {"imports": 3.41, "tracing": 4.12, "analysis": 6.03, "other": 0.21}

The local run reads that line from the log (`parse_phases`), whether the step ran in its own
process or in the run's, and adds the time before the function started (process start and
the component's loading) as "start-up". Phases are exclusive: time in a phase entered
inside another counts for the inner one only, so the phases add up to the step's time.
Outside `step_phases()` (a library user calling an executor), `phase` only runs its block.

Example:
    >>> with step_phases():
    ...     with phase("imports"):
    ...         import tensorflow
    ...     with phase("training"):
    ...         estimator.train(input_fn, max_steps=100)
    Step phases: {"imports": 3.4, "training": 12.0, "other": 0.0}
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator

__all__ = ["PHASES_MARK", "end_step", "lap", "parse_phases", "phase", "start_step",
           "step_phases"]

PHASES_MARK = "Step phases: "
_OTHER = "other"


class _Clock:
    """Exclusive time per phase name; the innermost open phase is the one counting."""

    def __init__(self):
        self.totals: dict[str, float] = {}
        self._open: list[str] = [_OTHER]
        self._since = time.perf_counter()

    def _switch(self, name: str | None = None) -> None:
        now = time.perf_counter()
        name = name or self._open[-1]
        self.totals[name] = self.totals.get(name, 0.0) + now - self._since
        self._since = now

    def lap(self, name: str) -> None:
        self._switch(name if len(self._open) == 1 else None)

    def enter(self, name: str) -> None:
        self._switch()
        self._open.append(name)

    def leave(self) -> None:
        self._switch()
        self._open.pop()

    def close(self) -> dict[str, float]:
        self._switch()
        return {name: round(seconds, 3) for name, seconds in self.totals.items()}


_clock: _Clock | None = None


@contextlib.contextmanager
def step_phases() -> Iterator[None]:
    """Times a step's phases; prints the `Step phases:` line when the block ends."""
    start_step()
    try:
        yield
    finally:
        end_step()


def start_step() -> None:
    """Starts timing a step's phases (a step that failed before `end_step` is forgotten)."""
    global _clock
    _clock = _Clock()


def end_step() -> None:
    """Prints the `Step phases:` line of the step timed since `start_step`."""
    global _clock
    if _clock is not None:
        totals, _clock = _clock.close(), None
        print(PHASES_MARK + json.dumps(totals), flush=True)


def lap(name: str) -> None:
    """Counts the time since the step started, or since the last lap or phase, for `name`."""
    if _clock is not None:
        _clock.lap(name)


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Counts the block's time for phase `name` of the running step (if one is timed)."""
    clock = _clock
    if clock is None:
        yield
        return
    clock.enter(name)
    try:
        yield
    finally:
        clock.leave()


def parse_phases(line: str) -> dict[str, float] | None:
    """The phases of a `Step phases:` log line (with any prefix), or None for another line.

    Example:
        >>> parse_phases('    Step phases: {"imports": 3.4}')
        {'imports': 3.4}
    """
    _, mark, rest = line.partition(PHASES_MARK)
    if not mark:
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        return None
    return {str(k): float(v) for k, v in value.items()} if isinstance(value, dict) else None
