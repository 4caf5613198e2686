"""Per-split statistics of the ingested examples, computed in one streaming Beam combine.

For every column: how many examples have it and how many miss it, and values per example.
For INT and FLOAT columns: count, NaNs, zeros, min, max, mean, standard deviation
(population, ddof=0) and deciles (tfx_bsl's quantiles sketch, rank error <= 0.1%). For INT
and BYTES columns: distinct count (KMV sketch, exact below 1,024 values) and top values
(Misra-Gries sketch, exact counts below 1,000 values); BYTES also gets the average length.
Statistics are of the values as stored (FLOAT as float32).

The JSON of one split (`stats.json`):

```
{"split": "train", "num_examples": 12001,
 "features": {"fare": {"type": "FLOAT", "num_present": 12001, "num_missing": 0,
                       "min_num_values": 1, "max_num_values": 1,
                       "numeric": {"count": ..., "num_nan": 0, "num_zeros": ..., "min": ...,
                                   "max": ..., "mean": ..., "std": ...,
                                   "quantile_points": [0.0, 0.1, ...], "quantiles": [...]}},
              "payment_type": {"type": "BYTES", ...,
                               "categorical": {"num_values": 12001, "distinct": 7, "distinct_is_exact": true,
                                               "top_values": [{"value": "Cash", "count": 7921}],
                                               "top_values_complete": true,
                                               "avg_length": 4.6}}}}
```

Example:
    >>> stats = (split_batches | ComputeStatistics(columns, types, staging_path))
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tfx_bsl import sketches

from components.artifacts import FeatureType, io

__all__ = ["ComputeStatistics", "StatisticsCombineFn", "feature_distribution"]

QUANTILE_POINTS = tuple(i / 10 for i in range(11))
_QUANTILES_EPSILON = 0.001
_TOP_K_BUCKETS = 1000
_DISTINCT_BUCKETS = 1024
_MAX_TOP_VALUES_WHEN_INCOMPLETE = 100


@dataclasses.dataclass
class _Numeric:
    count: int = 0
    num_nan: int = 0
    num_zeros: int = 0
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean
    minimum: Any = None
    maximum: Any = None
    sketch: Any = None

    def add(self, values: pa.Array) -> None:
        as_float = values.to_numpy(zero_copy_only=False).astype(np.float64)
        nan = np.isnan(as_float)
        self.num_nan += int(nan.sum())
        finite_or_inf = as_float[~nan]
        n = len(finite_or_inf)
        if n == 0:
            return
        self.num_zeros += int((finite_or_inf == 0).sum())
        batch_mean = float(finite_or_inf.mean())
        batch_m2 = float(((finite_or_inf - batch_mean) ** 2).sum())
        self._merge_moments(n, batch_mean, batch_m2)
        kept = values.filter(pa.array(~nan)) if nan.any() else values
        low, high = pc.min_max(kept).values()
        self._merge_range(low.as_py(), high.as_py())
        if self.sketch is None:
            self.sketch = sketches.QuantilesSketch(_QUANTILES_EPSILON, 1 << 32, 1)
        self.sketch.AddValues(pa.array(finite_or_inf))

    def _merge_moments(self, n: int, mean: float, m2: float) -> None:
        # Chan et al.'s parallel update: stable for large counts.
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.count * n / total
        self.count = total

    def _merge_range(self, low: Any, high: Any) -> None:
        self.minimum = low if self.minimum is None else min(self.minimum, low)
        self.maximum = high if self.maximum is None else max(self.maximum, high)

    def merge(self, other: _Numeric) -> None:
        self.num_nan += other.num_nan
        self.num_zeros += other.num_zeros
        if other.count:
            self._merge_moments(other.count, other.mean, other.m2)
            self._merge_range(other.minimum, other.maximum)
        if other.sketch is not None:
            if self.sketch is None:
                self.sketch = other.sketch
            else:
                self.sketch.Merge(other.sketch)

    def result(self) -> dict[str, Any]:
        quantiles = []
        if self.sketch is not None:
            quantiles = self.sketch.GetQuantiles(len(QUANTILE_POINTS) - 1).to_pylist()[0]
        return {
            "count": self.count,
            "num_nan": self.num_nan,
            "num_zeros": self.num_zeros,
            "min": _json_number(self.minimum),
            "max": _json_number(self.maximum),
            "mean": _json_number(self.mean) if self.count else None,
            "std": _json_number(math.sqrt(self.m2 / self.count)) if self.count else None,
            "quantile_points": list(QUANTILE_POINTS) if quantiles else [],
            "quantiles": [_json_number(q) for q in quantiles],
        }


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no inf/nan
    return value


@dataclasses.dataclass
class _Categorical:
    top: Any = None
    distinct: Any = None
    total_length: int = 0
    num_values: int = 0

    def add(self, values: pa.Array) -> None:
        if self.top is None:
            self.top = sketches.MisraGriesSketch(_TOP_K_BUCKETS)
            self.distinct = sketches.KmvSketch(_DISTINCT_BUCKETS)
        self.top.AddValues(values)
        self.distinct.AddValues(values)
        self.num_values += len(values)
        if pa.types.is_large_binary(values.type) or pa.types.is_binary(values.type):
            self.total_length += int(pc.sum(pc.binary_length(values)).as_py() or 0)

    def merge(self, other: _Categorical) -> None:
        self.num_values += other.num_values
        self.total_length += other.total_length
        if other.top is None:
            return
        if self.top is None:
            self.top, self.distinct = other.top, other.distinct
        else:
            self.top.Merge(other.top)
            self.distinct.Merge(other.distinct)

    def result(self, feature_type: FeatureType) -> dict[str, Any]:
        top_values, distinct = [], 0
        if self.top is not None:
            top_values = [{"value": item["values"].decode("utf-8", "replace"),
                           "count": int(item["counts"])}
                          for item in self.top.Estimate().to_pylist()]
            distinct = int(self.distinct.Estimate())
        exact = distinct < _DISTINCT_BUCKETS
        complete = exact and distinct <= len(top_values)
        if not complete:
            top_values = top_values[:_MAX_TOP_VALUES_WHEN_INCOMPLETE]
        result = {"num_values": self.num_values, "distinct": distinct,
                  "distinct_is_exact": exact,
                  "top_values": top_values, "top_values_complete": complete}
        if feature_type is FeatureType.BYTES:
            result["avg_length"] = (self.total_length / self.num_values
                                    if self.num_values else None)
        return result


@dataclasses.dataclass
class _Feature:
    feature_type: FeatureType
    num_present: int = 0
    num_missing: int = 0
    min_num_values: int | None = None
    max_num_values: int | None = None
    numeric: _Numeric | None = None
    categorical: _Categorical | None = None

    def __post_init__(self):
        if self.feature_type in (FeatureType.INT, FeatureType.FLOAT):
            self.numeric = _Numeric()
        if self.feature_type in (FeatureType.INT, FeatureType.BYTES):
            self.categorical = _Categorical()

    def add(self, column: pa.Array) -> None:
        lengths = pc.list_value_length(column).fill_null(0).to_numpy(zero_copy_only=False)
        present = lengths > 0
        num_present = int(present.sum())
        self.num_present += num_present
        self.num_missing += len(lengths) - num_present
        if not num_present:
            return
        low, high = int(lengths[present].min()), int(lengths[present].max())
        self.min_num_values = low if self.min_num_values is None else min(self.min_num_values,
                                                                          low)
        self.max_num_values = high if self.max_num_values is None else max(
            self.max_num_values, high)
        values = pc.list_flatten(column)
        if self.numeric is not None:
            self.numeric.add(values)
        if self.categorical is not None:
            self.categorical.add(values)

    def merge(self, other: _Feature) -> None:
        self.num_present += other.num_present
        self.num_missing += other.num_missing
        for name, pick in (("min_num_values", min), ("max_num_values", max)):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(self, name, theirs if mine is None else mine if theirs is None
                    else pick(mine, theirs))
        if self.numeric is not None:
            self.numeric.merge(other.numeric)
        if self.categorical is not None:
            self.categorical.merge(other.categorical)

    def result(self) -> dict[str, Any]:
        result = {"type": str(self.feature_type), "num_present": self.num_present,
                  "num_missing": self.num_missing, "min_num_values": self.min_num_values,
                  "max_num_values": self.max_num_values}
        if self.numeric is not None:
            result["numeric"] = self.numeric.result()
        if self.categorical is not None:
            result["categorical"] = self.categorical.result(self.feature_type)
        return result


@dataclasses.dataclass
class _Accumulator:
    num_examples: int
    features: dict[str, _Feature]


class StatisticsCombineFn(beam.CombineFn):
    """Combines typed RecordBatches (of one split) into that split's statistics dict.

    Args:
        columns: the columns, in order.
        types: the type of each column.
    """

    def __init__(self, columns: Sequence[str], types: Mapping[str, FeatureType]):
        self._columns = tuple(columns)
        self._types = {c: FeatureType(types[c]) for c in self._columns}

    def create_accumulator(self) -> _Accumulator:
        return _Accumulator(0, {c: _Feature(self._types[c]) for c in self._columns})

    def add_input(self, accumulator: _Accumulator, batch: pa.RecordBatch) -> _Accumulator:
        accumulator.num_examples += batch.num_rows
        for column in self._columns:
            accumulator.features[column].add(batch.column(column))
        return accumulator

    def merge_accumulators(self, accumulators) -> _Accumulator:
        accumulators = iter(accumulators)
        merged = next(accumulators)
        for other in accumulators:
            merged.num_examples += other.num_examples
            for column in self._columns:
                merged.features[column].merge(other.features[column])
        return merged

    def extract_output(self, accumulator: _Accumulator) -> dict[str, Any]:
        return {"num_examples": accumulator.num_examples,
                "features": {c: accumulator.features[c].result() for c in self._columns}}


def _write_all(results: list[tuple[str, dict]], path: str) -> int:
    io.write_json_atomic(path, {split: dict(stats, split=split) for split, stats in results})
    return len(results)


class ComputeStatistics(beam.PTransform):
    """`(split, RecordBatch)` elements to one JSON file {split: statistics} at `path`.

    Args:
        columns: the columns, in order.
        types: the type of each column.
        path: where the JSON goes (a staging file the executor reads after the run).
    """

    def __init__(self, columns: Sequence[str], types: Mapping[str, FeatureType], path: str):
        super().__init__()
        self._combine = StatisticsCombineFn(columns, types)
        self._path = path

    def expand(self, split_batches):
        return (split_batches
                | "PerSplit" >> beam.CombinePerKey(self._combine)
                | "Collect" >> beam.combiners.ToList()
                | "Write" >> beam.Map(_write_all, self._path))


def feature_distribution(feature_stats: Mapping[str, Any]) -> tuple[dict[str, float], bool]:
    """A categorical feature's value distribution {value: share}, and whether it is complete."""
    categorical = feature_stats.get("categorical") or {}
    top = categorical.get("top_values") or []
    total = categorical.get("num_values") or sum(item["count"] for item in top)
    if not total:
        return {}, bool(categorical.get("top_values_complete"))
    return ({item["value"]: item["count"] / total for item in top},
            bool(categorical.get("top_values_complete")))
