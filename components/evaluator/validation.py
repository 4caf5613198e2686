"""Validation: the candidate's metrics against the thresholds, and the verdict.

Every bound of every threshold becomes one `Check`: PASSED, FAILED or SKIPPED (a change
bound when there is no baseline). The model is blessed when no check failed. The verdict's
reasons list every failure first, then the notes (no baseline, no thresholds), then every
check passed, one sentence each.

With no thresholds at all nothing is validated: the model is blessed, with the reason
"No thresholds configured: nothing was validated ...", and a WARNING is logged. (TFX
silently refused a blessing without thresholds; here a pipeline without thresholds pushes
every model, and says so wherever the verdict is read.)

Example:
    >>> validation = validate(parse_thresholds({"auc": {"lower_bound": 0.7}}),
    ...                       {"auc": 0.65}, baseline=None)
    >>> validation.blessed, validation.reasons
    (False, ('FAILED auc: 0.6500 is below lower_bound 0.7.',))
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Mapping

from components.evaluator.thresholds import MetricThreshold

__all__ = ["NO_THRESHOLDS", "Check", "CheckOutcome", "Validation", "validate"]

_LOGGER = logging.getLogger(__name__)
_TOLERANCE = 1e-9  # identical models compare equal despite float noise

NO_THRESHOLDS = ("No thresholds configured: nothing was validated, and the model is blessed "
                 "unchecked. Set `thresholds` (e.g. {'auc': {'lower_bound': 0.7}}) to gate "
                 "what gets pushed.")


class CheckOutcome(enum.StrEnum):
    """How one bound of a threshold turned out."""

    PASSED = "PASSED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


@dataclasses.dataclass(frozen=True)
class Check:
    """One bound checked: the values compared, the outcome, and a sentence saying so."""

    metric: str
    bound: str
    threshold: float
    value: float | None
    baseline: float | None
    outcome: CheckOutcome
    message: str

    def to_json(self) -> dict:
        """The check as JSON data."""
        return dataclasses.asdict(self) | {"outcome": self.outcome.value}


@dataclasses.dataclass(frozen=True)
class Validation:
    """The verdict: blessed or not, every check, and the notes.

    Attributes:
        blessed: True when no check failed.
        checks: Every bound of every threshold, in the order configured.
        notes: What was not validated, and why (no baseline, no thresholds).
    """

    blessed: bool
    checks: tuple[Check, ...]
    notes: tuple[str, ...]

    @property
    def failed(self) -> tuple[Check, ...]:
        """The checks that failed."""
        return tuple(c for c in self.checks if c.outcome == CheckOutcome.FAILED)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Failures, then notes, then passed checks: one sentence each."""
        passed = [c.message for c in self.checks if c.outcome == CheckOutcome.PASSED]
        return (*(c.message for c in self.failed), *self.notes, *passed)

    def to_json(self) -> dict:
        """The verdict as JSON data."""
        return {"blessed": self.blessed, "reasons": list(self.reasons),
                "checks": [c.to_json() for c in self.checks], "notes": list(self.notes)}


def validate(thresholds: Mapping[str, MetricThreshold], metrics: Mapping[str, float | None],
             *, baseline: Mapping[str, float | None] | None,
             no_baseline_reason: str = "there is no baseline",
             baseline_error: str | None = None) -> Validation:
    """Checks `metrics` against `thresholds`, comparing with `baseline` for change bounds.

    Args:
        thresholds: {metric: MetricThreshold} (see `thresholds.parse_thresholds`).
        metrics: The candidate's metrics.
        baseline: The baseline's metrics; None skips the change bounds.
        no_baseline_reason: Why there is no baseline, for the note (e.g. "nothing is served
            under /srv/models/taxi/ yet (the first push)").
        baseline_error: Set when the baseline exists but could not be evaluated: every
            change bound fails with it.

    Returns:
        The `Validation`.

    Raises:
        ValueError: If a threshold names a metric missing from `metrics` (one the task does
            not compute).
    """
    missing = sorted(set(thresholds) - set(metrics))
    if missing:
        raise ValueError(f"Thresholds on {missing}, which this model's task does not compute; "
                         f"it computes {sorted(metrics)}.")
    if not thresholds:
        _LOGGER.warning("NOTHING WAS VALIDATED: no thresholds are configured, so the model is "
                        "blessed unchecked. Configure `thresholds` to gate pushes.")
        return Validation(blessed=True, checks=(), notes=(NO_THRESHOLDS,))
    checks, skipped = [], []
    for threshold in thresholds.values():
        value = metrics[threshold.metric]
        checks.extend(_absolute(threshold, value))
        for bound in ("max_decrease", "max_increase"):
            limit = getattr(threshold, bound)
            if limit is None:
                continue
            if baseline is None or baseline_error is not None:
                if baseline_error is None:
                    skipped.append(f"{threshold.metric} {bound}")
                    checks.append(Check(threshold.metric, bound, limit, value, None,
                                        CheckOutcome.SKIPPED,
                                        f"SKIPPED {threshold.metric} {bound}: no baseline."))
                else:
                    checks.append(Check(threshold.metric, bound, limit, value, None,
                                        CheckOutcome.FAILED,
                                        f"FAILED {threshold.metric} {bound}: the baseline "
                                        f"could not be evaluated ({baseline_error})."))
                continue
            checks.append(_change(threshold.metric, bound, limit, value,
                                  baseline.get(threshold.metric)))
    notes = ()
    if skipped:
        notes = (f"No baseline ({no_baseline_reason}): change thresholds skipped "
                 f"({', '.join(skipped)}).",)
    blessed = not any(c.outcome == CheckOutcome.FAILED for c in checks)
    validation = Validation(blessed=blessed, checks=tuple(checks), notes=notes)
    for reason in validation.reasons:
        (_LOGGER.warning if reason.startswith("FAILED") else _LOGGER.info)("%s", reason)
    return validation


def _absolute(threshold: MetricThreshold, value: float | None) -> list[Check]:
    checks = []
    metric = threshold.metric
    for bound, passes, word in (("lower_bound", lambda v, t: v >= t, ("below", ">=")),
                                ("upper_bound", lambda v, t: v <= t, ("above", "<="))):
        limit = getattr(threshold, bound)
        if limit is None:
            continue
        if value is None:
            checks.append(Check(metric, bound, limit, None, None, CheckOutcome.FAILED,
                                f"FAILED {metric}: undefined on the eval data (e.g. AUC with "
                                f"one class), so {bound} {limit:g} cannot be met."))
        elif passes(value, limit):
            checks.append(Check(metric, bound, limit, value, None, CheckOutcome.PASSED,
                                f"PASSED {metric}: {value:.4f} {word[1]} {bound} {limit:g}."))
        else:
            checks.append(Check(metric, bound, limit, value, None, CheckOutcome.FAILED,
                                f"FAILED {metric}: {value:.4f} is {word[0]} {bound} "
                                f"{limit:g}."))
    return checks


def _change(metric: str, bound: str, limit: float, value: float | None,
            baseline: float | None) -> Check:
    if value is None or baseline is None:
        return Check(metric, bound, limit, value, baseline, CheckOutcome.FAILED,
                     f"FAILED {metric} {bound}: undefined for the "
                     f"{'candidate' if value is None else 'baseline'} on the eval data.")
    change = value - baseline
    if bound == "max_decrease":
        ok = change >= -limit - _TOLERANCE
    else:
        ok = change <= limit + _TOLERANCE
    outcome = CheckOutcome.PASSED if ok else CheckOutcome.FAILED
    return Check(metric, bound, limit, value, baseline, outcome,
                 f"{outcome.value} {metric} {bound}: changed by {change:+.4f} against the "
                 f"baseline ({baseline:.4f} -> {value:.4f}); {bound} is {limit:g}.")
