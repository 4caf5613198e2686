"""Parquet files, read in Arrow record batches; the files declare the column types.

Example:
    >>> ParquetSource().plan(["/data/part-0.parquet"]).native_types["fare"]
    <ObservedType.FLOAT: 2>
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow.parquet as pq

from components.artifacts import io
from components.ingest.config import InputFormat
from components.ingest.parsing import ObservedType, native_type
from components.ingest.sources.base import RawBatch, RawKind, Source, SourcePlan

__all__ = ["ParquetSource"]


class ParquetSource(Source):
    """Reads Parquet files whose columns are numbers, strings, bytes or lists of them."""

    input_format = InputFormat.PARQUET

    def plan(self, files: Sequence[str]) -> SourcePlan:
        """See base class.

        Raises:
            ValueError: if the files disagree on their columns.
            TypeError: if a column's type has no tf.Example form (struct, map, nested list).
        """
        columns: tuple[str, ...] | None = None
        types: dict[str, ObservedType] = {}
        first_path = None
        for path in files:
            with io.open_for_read(path, compressed=False) as f:
                schema = pq.read_schema(f)
            names = tuple(schema.names)
            if columns is None:
                columns, first_path = names, path
            elif names != columns:
                raise ValueError(
                    f"Parquet files disagree on their columns: {first_path!r} has "
                    f"{list(columns)} but {path!r} has {list(names)}.")
            for field in schema:
                observed = native_type(field.type)
                if observed is None:
                    raise TypeError(
                        f"Column {field.name!r} of {path!r} has type {field.type}, which has "
                        "no tf.Example form; expected numbers, strings, bytes or a list of "
                        "them.")
                types[field.name] = max(types.get(field.name, ObservedType.UNKNOWN), observed)
        return SourcePlan(columns=columns or (), native_types=types)

    def read(self, path: str, batch_size: int) -> Iterator[RawBatch]:
        """See base class."""
        with io.open_for_read(path, compressed=False) as f:
            parquet = pq.ParquetFile(f)
            first = 1
            for batch in parquet.iter_batches(batch_size=batch_size):
                numbers = np.arange(first, first + batch.num_rows, dtype=np.int64)
                first += batch.num_rows
                yield RawBatch(source_file=path, line_numbers=numbers,
                               columns={name: batch.column(i)
                                        for i, name in enumerate(batch.schema.names)},
                               raw=None, raw_kind=RawKind.COLUMNS)
