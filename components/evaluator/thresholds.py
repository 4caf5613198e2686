"""Metric thresholds: what a candidate model must reach to be blessed.

A threshold names one model-agnostic metric (see `metrics.METRIC_NAMES`) and up to four
bounds. Absolute bounds judge the candidate alone; change bounds judge it against the
baseline (the model currently served) and are skipped when there is none.

```
thresholds:
  auc:      {lower_bound: 0.7, max_decrease: 0.01}   # auc >= 0.7, and at most 0.01 below the baseline's
  log_loss: {upper_bound: 0.6, max_increase: 0.05}   # log_loss <= 0.6, at most 0.05 above the baseline's
```

Example:
    >>> thresholds = parse_thresholds({"auc": {"lower_bound": 0.7, "max_decrease": 0.01}})
    >>> thresholds["auc"].lower_bound
    0.7
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from components.evaluator.metrics import METRIC_NAMES

__all__ = ["BOUND_KEYS", "MetricThreshold", "parse_thresholds"]

BOUND_KEYS = ("lower_bound", "upper_bound", "max_decrease", "max_increase")


@dataclasses.dataclass(frozen=True, kw_only=True)
class MetricThreshold:
    """The bounds one metric must stay within.

    Args:
        metric: The metric's name, e.g. "auc" (see `metrics.METRIC_NAMES`).
        lower_bound: The candidate's value must be >= this. Defaults to None (no bound).
        upper_bound: The candidate's value must be <= this. Defaults to None.
        max_decrease: The candidate may be at most this much below the baseline
            (candidate - baseline >= -max_decrease). Defaults to None.
        max_increase: The candidate may be at most this much above the baseline
            (candidate - baseline <= max_increase). Defaults to None.

    Raises:
        TypeError: If a bound is not a number.
        ValueError: For an unknown metric, no bound at all, a negative change bound, or a
            lower bound above the upper bound.

    Example:
        >>> MetricThreshold(metric="auc", lower_bound=0.7, max_decrease=0.01)
    """

    metric: str
    lower_bound: float | None = None
    upper_bound: float | None = None
    max_decrease: float | None = None
    max_increase: float | None = None

    def __post_init__(self):
        if self.metric not in METRIC_NAMES:
            raise ValueError(f"Unknown metric {self.metric!r} in `thresholds`; the evaluator "
                             f"computes {sorted(METRIC_NAMES)}. (The Estimator's `average_loss` and `loss` are "
                             "`log_loss` for classification, `mse` for regression.)")
        for key in BOUND_KEYS:
            value = getattr(self, key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"`thresholds.{self.metric}.{key}` must be a number; "
                                f"received {value!r}.")
            if not math.isfinite(value):
                raise ValueError(f"`thresholds.{self.metric}.{key}` must be finite; "
                                 f"received {value!r}.")
            object.__setattr__(self, key, float(value))
        if all(getattr(self, key) is None for key in BOUND_KEYS):
            raise ValueError(f"`thresholds.{self.metric}` sets no bound; give at least one of "
                             f"{list(BOUND_KEYS)}.")
        for key in ("max_decrease", "max_increase"):
            value = getattr(self, key)
            if value is not None and value < 0:
                raise ValueError(f"`thresholds.{self.metric}.{key}` ({value}) must be >= 0: "
                                 "it is how far the candidate may move from the baseline.")
        if (self.lower_bound is not None and self.upper_bound is not None
                and self.lower_bound > self.upper_bound):
            raise ValueError(f"`thresholds.{self.metric}`: lower_bound ({self.lower_bound}) "
                             f"is above upper_bound ({self.upper_bound}); no value passes.")

    @property
    def has_change_bounds(self) -> bool:
        """Whether the threshold compares the candidate with a baseline."""
        return self.max_decrease is not None or self.max_increase is not None

    def to_json(self) -> dict[str, Any]:
        """The bounds that are set, as JSON data."""
        return {key: getattr(self, key) for key in BOUND_KEYS if getattr(self, key) is not None}


def parse_thresholds(value: Mapping[str, Any] | None) -> dict[str, MetricThreshold]:
    """Parses `{metric: {bound: number}}` (the pipeline YAML's shape) into thresholds.

    Args:
        value: A mapping from metric names to mappings of bounds (`BOUND_KEYS`), or to
            `MetricThreshold`s. None or {} means no thresholds.

    Returns:
        {metric: MetricThreshold}, in the order given.

    Raises:
        TypeError: If `value` or an entry is not a mapping.
        ValueError: For an unknown metric or bound name (both listed with the known ones).

    Example:
        >>> parse_thresholds({"log_loss": {"upper_bound": 0.6, "max_increase": 0.05}})
        {'log_loss': MetricThreshold(metric='log_loss', ..., upper_bound=0.6, ...)}
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError("`thresholds` must be a mapping of metric names to bounds, e.g. "
                        "{'auc': {'lower_bound': 0.7}}; received "
                        f"{type(value).__name__} {value!r}.")
    parsed = {}
    for metric, bounds in value.items():
        if isinstance(bounds, MetricThreshold):
            if bounds.metric != metric:
                raise ValueError(f"`thresholds[{metric!r}]` is a threshold on "
                                 f"{bounds.metric!r}.")
            parsed[metric] = bounds
            continue
        if not isinstance(metric, str):
            raise TypeError(f"`thresholds` keys must be metric names; received {metric!r}.")
        if not isinstance(bounds, Mapping):
            raise TypeError(f"`thresholds.{metric}` must be a mapping of bounds, e.g. "
                            f"{{'lower_bound': 0.7}}; received {bounds!r}.")
        unknown = sorted(set(bounds) - set(BOUND_KEYS))
        if unknown:
            raise ValueError(f"Unknown keys {unknown} in `thresholds.{metric}`; a threshold "
                             f"takes {list(BOUND_KEYS)}.")
        parsed[metric] = MetricThreshold(metric=metric, **bounds)
    return parsed
