"""The examples artifact: tf.Example shards per split, the quarantine, the commit mark.

The ingest step writes raw examples; the transform step writes transformed examples in the
same layout, so one reader serves both:

```
<examples>/Split-<split>/data-<shard>-of-<count>.tfrecord.gz   gzip TFRecord of tf.Example
<examples>/quarantine/bad_rows-<shard>-of-<count>.jsonl         one JSON line per bad row
<examples>/ingest_result.json                                   written last: the commit mark
```

Example:
    >>> result = read_ingest_result(examples_uri)
    >>> files = examples_files(examples_uri, "train")
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from tensorflow_metadata.proto.v0 import schema_pb2

from components.artifacts import io

__all__ = [
    "EXAMPLES_SUFFIX",
    "INGEST_RESULT_FILE",
    "QUARANTINE_DIR",
    "QUARANTINE_SUFFIX",
    "SPLIT_PREFIX",
    "FeatureType",
    "IngestResult",
    "examples_file_pattern",
    "examples_files",
    "quarantine_dir",
    "read_ingest_result",
    "shard_name",
    "split_dir",
]

SPLIT_PREFIX = "Split-"
EXAMPLES_SUFFIX = ".tfrecord.gz"
QUARANTINE_DIR = "quarantine"
QUARANTINE_SUFFIX = ".jsonl"
INGEST_RESULT_FILE = "ingest_result.json"


class FeatureType(enum.StrEnum):
    """The value type of a column: tf.Example's three list kinds.

    INT is an Int64List, FLOAT a FloatList (float32), BYTES a BytesList.
    """

    INT = "INT"
    FLOAT = "FLOAT"
    BYTES = "BYTES"

    @classmethod
    def from_schema(cls, feature_type: int) -> FeatureType:
        """The FeatureType of a `schema_pb2.FeatureType` value."""
        try:
            return _FROM_SCHEMA[feature_type]
        except KeyError:
            raise ValueError(
                f"Schema feature type {schema_pb2.FeatureType.Name(feature_type)!r} is not "
                "supported; expected INT, FLOAT or BYTES.") from None

    def to_schema(self) -> int:
        """The `schema_pb2.FeatureType` value of this type."""
        return {FeatureType.INT: schema_pb2.INT, FeatureType.FLOAT: schema_pb2.FLOAT,
                FeatureType.BYTES: schema_pb2.BYTES}[self]


_FROM_SCHEMA = {schema_pb2.INT: FeatureType.INT, schema_pb2.FLOAT: FeatureType.FLOAT,
                schema_pb2.BYTES: FeatureType.BYTES}


def split_dir(uri: str, split: str) -> str:
    """`<uri>/Split-<split>`: the folder of one split's shards or statistics."""
    return io.join(uri, f"{SPLIT_PREFIX}{split}")


def shard_name(prefix: str, index: int, count: int, suffix: str) -> str:
    """`<prefix>-00001-of-00004<suffix>`, the file name of shard `index` (0-based)."""
    return f"{prefix}-{index:05d}-of-{count:05d}{suffix}"


def examples_file_pattern(uri: str, split: str) -> str:
    """The glob of one split's example shards (for tf.data or Beam's ReadFromTFRecord)."""
    return io.join(split_dir(uri, split), f"data-*-of-*{EXAMPLES_SUFFIX}")


def examples_files(uri: str, split: str) -> list[str]:
    """The sorted example shards of one split.

    Raises:
        FileNotFoundError: if the split has no shards (it was never written).
    """
    files = io.match(examples_file_pattern(uri, split))
    if not files:
        raise FileNotFoundError(
            f"No example shards for split {split!r} under {uri!r}; expected files matching "
            f"{examples_file_pattern(uri, split)!r}.")
    return files


def quarantine_dir(uri: str) -> str:
    """`<uri>/quarantine`: the bad rows of an ingest run."""
    return io.join(uri, QUARANTINE_DIR)


@dataclasses.dataclass(frozen=True, kw_only=True)
class IngestResult:
    """What an ingest run wrote: `<examples>/ingest_result.json`.

    Attributes:
        span: the span ingested (the highest one for a range), or None without spans.
        splits: examples written per split, in split order.
        bad_rows: rows sent to the quarantine.
        source: the input pattern as given.
        columns: the type of every column in the examples, in column order.
        spans: every span ingested (one for a single span, [] without spans).
        rows_read: data rows read from the input (good and bad).
        files: the input files read.
        label_column: the label column, if one was configured.
    """

    span: int | None
    splits: Mapping[str, int]
    bad_rows: int
    source: str
    columns: Mapping[str, FeatureType]
    spans: tuple[int, ...] = ()
    rows_read: int = 0
    files: tuple[str, ...] = ()
    label_column: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object written to `ingest_result.json`."""
        return {
            "span": self.span,
            "splits": dict(self.splits),
            "bad_rows": self.bad_rows,
            "source": self.source,
            "columns": {name: str(t) for name, t in self.columns.items()},
            "spans": list(self.spans),
            "rows_read": self.rows_read,
            "files": list(self.files),
            "label_column": self.label_column,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> IngestResult:
        """Parses the object `to_json` writes."""
        return cls(
            span=value["span"],
            splits=dict(value["splits"]),
            bad_rows=value["bad_rows"],
            source=value["source"],
            columns={name: FeatureType(t) for name, t in value["columns"].items()},
            spans=tuple(value.get("spans", ())),
            rows_read=value.get("rows_read", 0),
            files=tuple(value.get("files", ())),
            label_column=value.get("label_column"),
        )


def read_ingest_result(uri: str) -> IngestResult:
    """Reads `<uri>/ingest_result.json`.

    Raises:
        FileNotFoundError: if it is absent: the ingest run did not finish.
    """
    path = io.join(uri, INGEST_RESULT_FILE)
    if not io.exists(path):
        raise FileNotFoundError(
            f"{path!r} does not exist: the examples at {uri!r} are incomplete (an ingest run "
            "writes it last).")
    return IngestResult.from_json(io.read_json(path))
