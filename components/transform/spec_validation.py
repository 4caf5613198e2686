"""Checking a transform spec against the schema of the data, before any Beam work.

Example:
    >>> validate_against_schema(spec, read_columns(schema_uri))   # raises SpecError
"""

from __future__ import annotations

from collections.abc import Mapping

from components.transform.expression import ExpressionError, ValueType
from components.transform.schema import Column, ColumnType
from components.transform.spec import MEAN_FILL, SpecError, TransformSpec, suggest
from components.transform.transforms import Cross, Derive, Passthrough

__all__ = ["validate_against_schema"]


def validate_against_schema(spec: TransformSpec, columns: Mapping[str, Column]) -> None:
    """Checks that every column the spec reads exists in the schema with a type its transform
    accepts, and that every fill value suits its column.

    Raises:
        SpecError: Listing every problem found.
    """
    problems = []
    column_types = {name: column.type for name, column in columns.items()}
    for feature in spec.features:
        label = f"feature {feature.name!r}"
        transform = feature.transform
        if isinstance(transform, Derive):
            unknown = sorted(transform.expression.columns - columns.keys())
            for name in unknown:
                problems.append(f"{label}: the expression reads {name!r}, which is not a "
                                f"column of the schema{suggest(name, columns)}.")
            if not unknown:
                try:
                    transform.expression.result_type(column_types)
                except ExpressionError as e:
                    problems.append(f"{label}: {e}")
            problems.extend(f"{label}: {p}" for p in _scalar_problems(
                transform.expression.columns & columns.keys(), columns))
            continue
        for name in feature.inputs:
            if isinstance(transform, Cross) and spec.feature(name) is not None:
                referenced = spec.feature(name)
                if not referenced.is_categorical:
                    problems.append(
                        f"{label}: cross input {name!r} is a {referenced.transform.NAME!r} "
                        "feature; crosses take categorical features (bucketize, vocabulary, "
                        "hash, cross, identity) or string/int columns.")
                continue
            column = columns.get(name)
            role = "cross input" if isinstance(transform, Cross) else "source column"
            if column is None:
                problems.append(f"{label}: {role} {name!r} is not a column of the schema"
                                f"{suggest(name, columns)}.")
            elif column.type not in transform.ACCEPTS:
                accepted = "/".join(sorted(t.value for t in transform.ACCEPTS))
                hint = (" Bucketize it first and cross the bucketized feature."
                        if isinstance(transform, Cross) else "")
                problems.append(f"{label}: {transform.NAME!r} needs a {accepted} column, but "
                                f"{name!r} is a {column.type} column.{hint}")
            else:
                problems.extend(f"{label}: {p}" for p in _scalar_problems([name], columns))
    problems.extend(_weight_problems(spec, columns))
    read = set(spec.raw_columns())
    for name, value in spec.fill.items():
        column = columns.get(name)
        if column is None:
            problems.append(f"`fill` for {name!r}: not a column of the schema"
                            f"{suggest(name, columns)}.")
        elif name not in read:
            problems.append(f"`fill` for {name!r}: no feature reads this column.")
        elif value == MEAN_FILL:
            if not column.type.is_numeric:
                problems.append(f"`fill` for {name!r}: {MEAN_FILL!r} needs a numeric column, "
                                f"but {name!r} is a {column.type} column.")
        elif column.type is ColumnType.STRING and not isinstance(value, str):
            problems.append(f"`fill` for {name!r}: {value!r} must be a string for a string "
                            "column.")
        elif column.type is ColumnType.INT and not isinstance(value, int):
            problems.append(f"`fill` for {name!r}: {value!r} must be an integer for an int "
                            "column.")
        elif column.type is ColumnType.FLOAT and not isinstance(value, int | float):
            problems.append(f"`fill` for {name!r}: {value!r} must be a number for a float "
                            "column.")
    if problems:
        raise SpecError(problems)


def _weight_problems(spec: TransformSpec, columns: Mapping[str, Column]) -> list[str]:
    """A weight is a number: a passthrough weight must copy a numeric column (the spec
    itself already refuses categorical weights; other numeric transforms give floats)."""
    problems = []
    column_types = {name: column.type for name, column in columns.items()}
    for feature in spec.features:
        weight = spec.feature(feature.weight) if feature.weight is not None else None
        label = f"feature {feature.name!r}: `weight` ({feature.weight!r})"
        if weight is not None and isinstance(weight.transform, Passthrough):
            column = columns.get(weight.source)
            if column is not None and not column.type.is_numeric:
                problems.append(f"{label} copies {weight.source!r}, a {column.type} column; "
                                "a weight is a number.")
        elif weight is not None and isinstance(weight.transform, Derive):
            try:
                kind = weight.transform.expression.result_type(column_types)
            except ExpressionError:
                continue  # reported with the weight feature itself
            if kind is ValueType.STRING:
                problems.append(f"{label} is a string expression; a weight is a number.")
    return problems


def _scalar_problems(names, columns: Mapping[str, Column]) -> list[str]:
    return [f"column {name!r} may hold several values per example (schema value_count/shape); "
            "the transform step handles single-valued columns only."
            for name in sorted(names) if not columns[name].scalar]


# --- Small checks. ---------------------------------------------------------------------------
