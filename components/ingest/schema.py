"""The Schema (tensorflow_metadata) of the examples: inferred from a run, or the user's.

An inferred schema records, per column: its type; its presence (required, `min_fraction:
1`, when no example missed it, and always for the label); its values per example
(`value_count`); for a BYTES column with at most `max_domain_size` distinct values, a closed
string domain, of which 99% of the values must be (`distribution_constraints`); and for categorical columns (BYTES) an L-infinity `drift_comparator`. Edit
the file and pass it back as the input schema to make it the contract of later runs.

Example:
    >>> schema = infer_schema(columns, types, statistics, label_column="tips")
    >>> schema_types(schema)["payment_type"]
    <FeatureType.BYTES: 'BYTES'>
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tensorflow_metadata.proto.v0 import schema_pb2

from components.artifacts import FeatureType

__all__ = ["MIN_DOMAIN_MASS", "combined_feature_stats", "infer_schema", "schema_types"]

MIN_DOMAIN_MASS = 0.99


def schema_types(schema: schema_pb2.Schema) -> dict[str, FeatureType]:
    """{feature name: type} for every feature of a schema.

    Raises:
        ValueError: for a feature type other than INT, FLOAT or BYTES (STRUCT).
    """
    return {feature.name: FeatureType.from_schema(feature.type) for feature in schema.feature}


def combined_feature_stats(statistics: Mapping[str, Mapping[str, Any]],
                           column: str) -> dict[str, Any]:
    """One column's statistics over all splits: presence counts, values per example, values.

    Returns:
        {"num_present", "num_missing", "min_num_values", "max_num_values", "values" (the set
        of values as text, or None if not every value is known)}.
    """
    num_present = num_missing = 0
    bounds: dict[str, int | None] = {"min_num_values": None, "max_num_values": None}
    values: set[str] | None = set()
    for split_stats in statistics.values():
        feature = split_stats["features"].get(column)
        if feature is None:
            continue
        num_present += feature["num_present"]
        num_missing += feature["num_missing"]
        for key, pick in (("min_num_values", min), ("max_num_values", max)):
            if feature[key] is not None:
                bounds[key] = feature[key] if bounds[key] is None else pick(bounds[key],
                                                                            feature[key])
        categorical = feature.get("categorical")
        if categorical is None or not categorical["top_values_complete"]:
            values = None
        elif values is not None:
            values.update(item["value"] for item in categorical["top_values"])
    return {"num_present": num_present, "num_missing": num_missing, **bounds,
            "values": values}


def infer_schema(columns: Sequence[str], types: Mapping[str, FeatureType],
                 statistics: Mapping[str, Mapping[str, Any]], *,
                 label_column: str | None = None, drift_threshold: float | None = 0.1,
                 max_domain_size: int = 100) -> schema_pb2.Schema:
    """A Schema for the examples of this run.

    Args:
        columns: the columns, in order.
        types: the type of every column.
        statistics: {split: statistics} of this run.
        label_column: always required. Default: None.
        drift_threshold: the L-infinity threshold of categorical columns' drift comparators;
            None adds none. Default: 0.1.
        max_domain_size: BYTES columns with at most this many distinct values get a closed
            string domain; 0 gives none. Default: 100.
    """
    schema = schema_pb2.Schema()
    for column in columns:
        feature_type = FeatureType(types[column])
        stats = combined_feature_stats(statistics, column)
        feature = schema.feature.add(name=column, type=feature_type.to_schema())
        always_present = stats["num_missing"] == 0 and stats["num_present"] > 0
        feature.presence.min_fraction = 1.0 if always_present or column == label_column \
            else 0.0
        feature.presence.min_count = 1 if stats["num_present"] else 0
        if stats["min_num_values"] is not None:
            feature.value_count.min = stats["min_num_values"]
            feature.value_count.max = stats["max_num_values"]
        if feature_type is FeatureType.BYTES:
            values = stats["values"]
            if values and max_domain_size and len(values) <= max_domain_size:
                domain = schema.string_domain.add(name=column)
                domain.value.extend(sorted(values))
                feature.domain = column
                # A span may bring a few rare values (a new company); up to 1% is no anomaly.
                feature.distribution_constraints.min_domain_mass = MIN_DOMAIN_MASS
            if drift_threshold is not None:
                feature.drift_comparator.infinity_norm.threshold = drift_threshold
    return schema
