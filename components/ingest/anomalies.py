"""Anomalies: how this run's data departs from the schema and from the previous span.

Checks, per column:

- `missing_column`: in the schema, absent from the input.
- `new_column`: in the input, absent from the schema.
- `type_change`: the column's type differs from the schema's (a declared type, a file's
  own type, or CSV values of which most do not parse as the schema's type).
- `invalid_values`: some values were not of the column's type (those rows are quarantined).
- `missing_values`: present in fewer examples than the schema's `presence` requires.
- `value_count`: fewer or more values per example than the schema's `value_count` allows.
- `out_of_domain`: values outside the schema's string domain (more of them than its
  `distribution_constraints.min_domain_mass` allows) or numeric range.
- `drift`: the L-infinity distance between this span's and the previous span's value
  distributions (all splits together) is above the feature's `drift_comparator` threshold.

Example:
    >>> found = find_anomalies(schema=schema, columns=columns, types=types,
    ...                        statistics=stats, baseline=previous_stats)
    >>> write_anomalies(anomalies_uri, found)
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from typing import Any

from tensorflow_metadata.proto.v0 import schema_pb2

from components import artifacts
from components.artifacts import FeatureType, io
from components.ingest.parsing import ObservedType
from components.ingest.schema import combined_feature_stats
from components.ingest.statistics import feature_distribution

__all__ = ["Anomaly", "AnomalyKind", "find_anomalies", "summarize", "write_anomalies"]

_MAX_LISTED_VALUES = 5


class AnomalyKind(enum.StrEnum):
    """What kind of departure from the schema (or the previous span) an anomaly is."""

    MISSING_COLUMN = "missing_column"
    NEW_COLUMN = "new_column"
    TYPE_CHANGE = "type_change"
    INVALID_VALUES = "invalid_values"
    MISSING_VALUES = "missing_values"
    VALUE_COUNT = "value_count"
    OUT_OF_DOMAIN = "out_of_domain"
    DRIFT = "drift"


@dataclasses.dataclass(frozen=True)
class Anomaly:
    """One anomaly: its kind, the column, and a sentence for people.

    Attributes:
        kind: what departs.
        feature: the column.
        description: what was found and what was expected.
        details: the numbers behind the description (JSON-ready).
    """

    kind: AnomalyKind
    feature: str
    description: str
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "feature": self.feature,
                "description": self.description, "details": dict(self.details)}


def _string_domain(schema: schema_pb2.Schema, feature: schema_pb2.Feature) -> set[str] | None:
    if feature.HasField("string_domain"):
        return set(feature.string_domain.value)
    if feature.HasField("domain"):
        for domain in schema.string_domain:
            if domain.name == feature.domain:
                return set(domain.value)
    return None


def _numeric_range(feature: schema_pb2.Feature) -> tuple[float | None, float | None]:
    for name in ("int_domain", "float_domain"):
        if feature.HasField(name):
            domain = getattr(feature, name)
            return (domain.min if domain.HasField("min") else None,
                    domain.max if domain.HasField("max") else None)
    return None, None


def _combined_numeric(statistics: Mapping[str, Mapping[str, Any]],
                      column: str) -> tuple[Any, Any]:
    lows, highs = [], []
    for split_stats in statistics.values():
        numeric = split_stats["features"].get(column, {}).get("numeric") or {}
        if isinstance(numeric.get("min"), int | float):
            lows.append(numeric["min"])
        if isinstance(numeric.get("max"), int | float):
            highs.append(numeric["max"])
    return (min(lows) if lows else None), (max(highs) if highs else None)


def _combined_distribution(statistics: Mapping[str, Mapping[str, Any]],
                           column: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    total = 0.0
    for split_stats in statistics.values():
        feature = split_stats["features"].get(column)
        if feature is None:
            continue
        shares, _ = feature_distribution(feature)
        num_values = (feature.get("categorical") or {}).get("num_values") or 0
        total += num_values
        for value, share in shares.items():
            counts[value] = counts.get(value, 0.0) + share * num_values
    return {value: count / total for value, count in counts.items()} if total else {}


def _linf(current: Mapping[str, float], baseline: Mapping[str, float]) -> tuple[float, str]:
    worst, worst_value = 0.0, ""
    for value in sorted(set(current) | set(baseline)):
        distance = abs(current.get(value, 0.0) - baseline.get(value, 0.0))
        if distance > worst:
            worst, worst_value = distance, value
    return worst, worst_value


def _column_checks(schema: schema_pb2.Schema, feature: schema_pb2.Feature,
                   statistics: Mapping[str, Mapping[str, Any]]) -> list[Anomaly]:
    name = feature.name
    found: list[Anomaly] = []
    stats = combined_feature_stats(statistics, name)
    examples = stats["num_present"] + stats["num_missing"]
    if examples and feature.HasField("presence"):
        fraction = stats["num_present"] / examples
        min_count = feature.presence.min_count
        if min_count and stats["num_present"] < min_count:
            found.append(Anomaly(
                AnomalyKind.MISSING_VALUES, name,
                f"{name!r} is present in {stats['num_present']:,} of {examples:,} examples; "
                f"the schema requires it in at least {min_count:,}.",
                {"num_present": stats["num_present"], "num_examples": examples,
                 "min_count": min_count}))
        elif fraction < feature.presence.min_fraction:
            found.append(Anomaly(
                AnomalyKind.MISSING_VALUES, name,
                f"{name!r} is missing in {stats['num_missing']:,} of {examples:,} examples "
                f"({1 - fraction:.1%}); the schema requires it in at least "
                f"{feature.presence.min_fraction:.0%} of them.",
                {"num_present": stats["num_present"], "num_examples": examples,
                 "min_fraction": feature.presence.min_fraction}))
    if feature.HasField("value_count") and stats["max_num_values"] is not None:
        low, high = feature.value_count.min, feature.value_count.max
        if (feature.value_count.HasField("min") and stats["min_num_values"] < low) or (
                feature.value_count.HasField("max") and stats["max_num_values"] > high):
            found.append(Anomaly(
                AnomalyKind.VALUE_COUNT, name,
                f"{name!r} has {stats['min_num_values']}..{stats['max_num_values']} values per "
                f"example; the schema allows {low}..{high}.",
                {"min": stats["min_num_values"], "max": stats["max_num_values"],
                 "schema_min": low, "schema_max": high}))
    domain = _string_domain(schema, feature)
    if domain is not None:
        outside: dict[str, int] = {}
        num_values = 0
        for split_stats in statistics.values():
            categorical = split_stats["features"].get(name, {}).get("categorical") or {}
            num_values += categorical.get("num_values", 0)
            for item in categorical.get("top_values", []):
                if item["value"] not in domain:
                    outside[item["value"]] = outside.get(item["value"], 0) + item["count"]
        mass = sum(outside.values()) / num_values if num_values else 0.0
        allowed = 1.0 - (feature.distribution_constraints.min_domain_mass
                         if feature.HasField("distribution_constraints") else 1.0)
        if outside and mass > allowed:
            listed = sorted(outside.items(), key=lambda kv: (-kv[1], kv[0]))
            shown = ", ".join(f"{v!r} ({n:,})" for v, n in listed[:_MAX_LISTED_VALUES])
            more = f" and {len(listed) - _MAX_LISTED_VALUES} more" \
                if len(listed) > _MAX_LISTED_VALUES else ""
            found.append(Anomaly(
                AnomalyKind.OUT_OF_DOMAIN, name,
                f"{name!r} has values outside its domain of {len(domain)} ({mass:.2%} of its "
                f"values; the schema allows {allowed:.2%}): {shown}{more}.",
                {"values": dict(listed), "mass": mass, "allowed_mass": allowed}))
    low, high = _numeric_range(feature)
    if low is not None or high is not None:
        seen_low, seen_high = _combined_numeric(statistics, name)
        if (low is not None and seen_low is not None and seen_low < low) or (
                high is not None and seen_high is not None and seen_high > high):
            found.append(Anomaly(
                AnomalyKind.OUT_OF_DOMAIN, name,
                f"{name!r} ranges over [{seen_low}, {seen_high}]; the schema allows "
                f"[{low}, {high}].",
                {"min": seen_low, "max": seen_high, "schema_min": low, "schema_max": high}))
    return found


def _drift(feature: schema_pb2.Feature, statistics: Mapping[str, Mapping[str, Any]],
           baseline: Mapping[str, Mapping[str, Any]]) -> Anomaly | None:
    threshold = feature.drift_comparator.infinity_norm.threshold
    if not threshold:
        return None
    current = _combined_distribution(statistics, feature.name)
    previous = _combined_distribution(baseline, feature.name)
    if not current or not previous:
        return None
    distance, value = _linf(current, previous)
    if distance <= threshold:
        return None
    return Anomaly(
        AnomalyKind.DRIFT, feature.name,
        f"{feature.name!r} drifted from the previous span: L-infinity distance {distance:.3f} "
        f"> {threshold} (largest change: {value!r} went from {previous.get(value, 0.0):.1%} "
        f"to {current.get(value, 0.0):.1%}).",
        {"distance": distance, "threshold": threshold, "value": value,
         "previous_share": previous.get(value, 0.0), "current_share": current.get(value, 0.0)})


def find_anomalies(*, schema: schema_pb2.Schema, columns: Sequence[str],
                   types: Mapping[str, FeatureType],
                   statistics: Mapping[str, Mapping[str, Any]],
                   observed: Mapping[str, ObservedType] | None = None,
                   invalid_values: Mapping[str, int] | None = None,
                   invalid_examples: Mapping[str, str] | None = None,
                   baseline: Mapping[str, Mapping[str, Any]] | None = None) -> list[Anomaly]:
    """Every anomaly of this run's data against `schema` (and `baseline`).

    Args:
        schema: the schema to validate against.
        columns: the input's columns.
        types: the type each column was ingested as.
        statistics: {split: statistics} of this run.
        observed: the types the input itself declared or showed, where known. Default: None.
        invalid_values: {column: rows quarantined for a value not of its type}. Default: None.
        invalid_examples: {column: one such value, as text}. Default: None.
        baseline: {split: statistics} of the previous span, for drift. Default: None.

    Returns:
        The anomalies, grouped by column in schema order, new columns last.
    """
    observed = observed or {}
    invalid_values = invalid_values or {}
    invalid_examples = invalid_examples or {}
    found: list[Anomaly] = []
    schema_names = [feature.name for feature in schema.feature]
    for feature in schema.feature:
        name = feature.name
        expected = FeatureType.from_schema(feature.type)
        if name not in columns:
            required = feature.presence.min_fraction > 0 or feature.presence.min_count > 0
            found.append(Anomaly(
                AnomalyKind.MISSING_COLUMN, name,
                f"{name!r} ({expected}) is in the schema but not in the input"
                + (" (the schema requires it)." if required else "."),
                {"required": required}))
            continue
        ingested = FeatureType(types[name])
        seen = observed.get(name)
        num_present = combined_feature_stats(statistics, name)["num_present"]
        bad = invalid_values.get(name, 0)
        if ingested is not expected:
            found.append(Anomaly(
                AnomalyKind.TYPE_CHANGE, name,
                f"{name!r} was ingested as {ingested} (declared) but the schema says "
                f"{expected}.", {"schema_type": str(expected), "type": str(ingested)}))
        elif seen not in (None, ObservedType.UNKNOWN) and seen > ObservedType.of(expected):
            found.append(Anomaly(
                AnomalyKind.TYPE_CHANGE, name,
                f"{name!r} holds {seen.name} values in the input but the schema says "
                f"{expected}; {bad:,} row(s) with values that do not fit were quarantined.",
                {"schema_type": str(expected), "type": seen.name, "invalid_rows": bad}))
        elif bad:
            example = invalid_examples.get(name)
            e_g = f", e.g. {example}" if example else ""
            kind = AnomalyKind.TYPE_CHANGE if bad >= num_present else AnomalyKind.INVALID_VALUES
            found.append(Anomaly(
                kind, name,
                f"{bad:,} row(s) had a value of {name!r} that is not {expected} (the schema's "
                f"type){e_g}; they were quarantined.",
                {"schema_type": str(expected), "invalid_rows": bad,
                 "valid_rows": num_present}))
        found.extend(_column_checks(schema, feature, statistics))
        if baseline:
            drift = _drift(feature, statistics, baseline)
            if drift is not None:
                found.append(drift)
    for name in columns:
        if name not in schema_names:
            found.append(Anomaly(
                AnomalyKind.NEW_COLUMN, name,
                f"{name!r} ({types[name]}) is in the input but not in the schema.",
                {"type": str(types[name])}))
    return found


def summarize(anomalies: Sequence[Anomaly]) -> str:
    """A plain-text report, one line per anomaly."""
    if not anomalies:
        return "No anomalies.\n"
    lines = [f"{len(anomalies)} anomal{'y' if len(anomalies) == 1 else 'ies'}:"]
    lines += [f"- [{a.kind}] {a.description}" for a in anomalies]
    return "\n".join(lines) + "\n"


def write_anomalies(uri: str, anomalies: Sequence[Anomaly], *,
                    context: Mapping[str, Any] | None = None) -> None:
    """Writes `<uri>/anomalies.json` and the readable `<uri>/anomalies.txt`, atomically."""
    io.write_json_atomic(io.join(uri, artifacts.ANOMALIES_FILE), {
        **(context or {}),
        "num_anomalies": len(anomalies),
        "anomalies": [a.to_json() for a in anomalies],
    })
    io.write_text_atomic(io.join(uri, artifacts.ANOMALIES_SUMMARY_FILE), summarize(anomalies))
