"""Sliced metrics: the final analysis's metrics per value of a raw feature.

A model can be good overall and bad for cash payers or at 3 a.m.; slicing by a feature
(e.g. `payment_type`, `trip_start_hour`) shows it. Each slice holds the examples with one
value of the feature; examples without it form the `<missing>` slice.

Example:
    >>> slices = sliced_metrics(outputs, {"payment_type": ["Cash", "Credit Card", "Cash"]})
    >>> [(s.value, s.metrics["example_count"]) for s in slices["payment_type"]]
    [('Cash', 2.0), ('Credit Card', 1.0)]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from components.evaluator.metrics import ModelOutputs, compute_metrics

__all__ = ["SliceMetrics", "sliced_metrics"]


@dataclasses.dataclass(frozen=True)
class SliceMetrics:
    """The metrics of the examples whose `feature` equals `value`."""

    feature: str
    value: Any
    metrics: Mapping[str, float | None]

    def to_json(self) -> dict[str, Any]:
        """The slice as JSON data."""
        return {"feature": self.feature, "value": self.value, "metrics": dict(self.metrics)}


def sliced_metrics(outputs: ModelOutputs,
                   values: Mapping[str, Sequence[Any]]) -> dict[str, list[SliceMetrics]]:
    """The metrics of every slice of every feature in `values`.

    Args:
        outputs: Labels and predictions of n examples.
        values: {feature: n values}, one per example (see `raw_examples.feature_values`).

    Returns:
        {feature: slices, largest first (ties by value)}.

    Raises:
        ValueError: If a feature has a different number of values than there are examples.
    """
    result = {}
    for feature, column in values.items():
        if len(column) != len(outputs):
            raise ValueError(f"Slice feature {feature!r} has {len(column)} values for "
                             f"{len(outputs)} examples.")
        keys = np.asarray([str(v) for v in column])
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        groups = np.split(order, np.cumsum(np.bincount(inverse))[:-1])
        slices = [SliceMetrics(feature, column[first[i]], compute_metrics(outputs.subset(rows)))
                  for i, rows in enumerate(groups)]
        slices.sort(key=lambda s: (-s.metrics["example_count"], str(s.value)))
        result[feature] = slices
    return result
