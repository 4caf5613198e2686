"""Rows of a CSV file as feature dicts for tf.Examples, typed as the pipeline typed them.

A model the pipeline pushed parses raw tf.Examples whose features have the types the ingest
step gave the columns (its `schema.pbtxt`): an INT column must arrive as an Int64List. This
reads a CSV the way a client of such a model would build its requests.

Example:
    >>> rows = csv_examples("penguins.csv", "runs/.../schema.pbtxt", num_examples=3,
    ...                     missing_values=("", "NA"))
    >>> ServingClient(target).classify("penguins", rows)
"""

from __future__ import annotations

import csv
from collections.abc import Iterable

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

__all__ = ["csv_examples"]

_CASTS = {schema_pb2.INT: lambda v: int(float(v)), schema_pb2.FLOAT: float,
          schema_pb2.BYTES: str}


def csv_examples(path: str, schema_path: str, *, num_examples: int | None = None,
                 missing_values: Iterable[str] = ("",),
                 leave_out: Iterable[str] = ()) -> list[dict]:
    """The rows of the CSV at `path` as {column: value}, typed by the schema at `schema_path`.

    Args:
        path: A CSV file with a header row.
        schema_path: A tensorflow_metadata Schema text proto (the ingest step's).
        num_examples: How many rows (None: all).
        missing_values: Cells that mean "missing": left out of the row, as ingest leaves
            them out of its examples.
        leave_out: Columns not to send (the label, say).

    Raises:
        ValueError: If a cell does not parse as its column's type, naming the row and column.
    """
    with open(schema_path) as f:
        schema = text_format.Parse(f.read(), schema_pb2.Schema())
    casts = {feature.name: _CASTS[feature.type] for feature in schema.feature
             if feature.type in _CASTS}
    missing, skipped = set(missing_values), set(leave_out)
    rows = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            if num_examples is not None and len(rows) == num_examples:
                break
            features = {}
            for key, value in row.items():
                if key not in casts or key in skipped or value in missing:
                    continue
                try:
                    features[key] = casts[key](value)
                except ValueError:
                    raise ValueError(f"{path}:{line}: column {key!r}: {value!r} is not a "
                                     "value of the column's type in the schema.") from None
            rows.append(features)
    return rows
