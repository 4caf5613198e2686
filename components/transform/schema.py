"""The raw input's schema: reading `schema.pbtxt` and describing its columns.

The ingest step writes a tensorflow_metadata `Schema` text proto at `<schema_uri>/schema.pbtxt`.
The transform step needs two things from it: the column types (to validate a spec before any
Beam work starts) and the schema proto itself (for TFXIO to decode tf.Examples).
"""

from __future__ import annotations

import dataclasses
import enum

from tensorflow_metadata.proto.v0 import schema_pb2


class ColumnType(enum.StrEnum):
    """The value type of a raw column, as the schema declares it."""

    INT = "int"
    FLOAT = "float"
    STRING = "string"

    @property
    def is_numeric(self) -> bool:
        return self is not ColumnType.STRING


_FROM_PROTO = {
    schema_pb2.INT: ColumnType.INT,
    schema_pb2.FLOAT: ColumnType.FLOAT,
    schema_pb2.BYTES: ColumnType.STRING,
}


@dataclasses.dataclass(frozen=True)
class Column:
    """One raw column of the schema.

    Attributes:
        name: The feature name in the tf.Example.
        type: Its value type.
        scalar: False when the schema allows more than one value per example; the transform
            step handles scalar columns only (present with one value, or missing).
    """

    name: str
    type: ColumnType
    scalar: bool = True


def load_schema(schema_uri: str) -> schema_pb2.Schema:
    """Reads the schema under `schema_uri` (a folder holding `schema.pbtxt`, or the file).

    Raises:
        FileNotFoundError: If there is no schema file.
        ValueError: If the file is not a Schema text proto or declares no features.
    """
    # Lazily: specs are checked when pipelines are built, without Beam or TensorFlow.
    from components import artifacts

    schema = artifacts.read_schema(schema_uri)
    if not schema.feature:
        raise ValueError(f"The schema at {schema_uri!r} declares no features.")
    return schema


def columns_of(schema: schema_pb2.Schema) -> dict[str, Column]:
    """The schema's columns by name, in schema order (STRUCT and unknown types left out)."""
    columns = {}
    for feature in schema.feature:
        column_type = _FROM_PROTO.get(feature.type)
        if column_type is None:
            continue
        columns[feature.name] = Column(feature.name, column_type, _is_scalar(feature))
    return columns


def _is_scalar(feature: schema_pb2.Feature) -> bool:
    if feature.HasField("shape"):
        size = 1
        for dim in feature.shape.dim:
            size *= dim.size
        return size == 1
    # A value_count.max of 0 (or no value_count) leaves the count undeclared: treat the column
    # as scalar, and let a row with several values fail at densification with TensorFlow's
    # error. Only a declared maximum above one rules the column out up front.
    return feature.value_count.max <= 1
