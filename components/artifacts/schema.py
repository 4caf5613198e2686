"""The schema, statistics and anomalies artifacts the ingest step writes.

```
<schema>/schema.pbtxt                       tensorflow_metadata Schema (text proto)
<statistics>/Split-<split>/stats.json       per-split column statistics
<statistics>/Split-<split>/stats.html       the same as a readable page
<anomalies>/anomalies.json, anomalies.txt   what the data got wrong, and a summary
```

Example:
    >>> schema = read_schema(schema_uri)
    >>> read_statistics(statistics_uri)["train"]["rows"]
"""

from __future__ import annotations

from typing import Any

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from components.artifacts import io
from components.artifacts.examples import SPLIT_PREFIX, split_dir

__all__ = [
    "ANOMALIES_FILE",
    "ANOMALIES_SUMMARY_FILE",
    "SCHEMA_FILE",
    "STATS_FILE",
    "STATS_HTML_FILE",
    "read_schema",
    "read_statistics",
    "schema_path",
    "statistics_path",
    "write_schema",
]

SCHEMA_FILE = "schema.pbtxt"
STATS_FILE = "stats.json"
STATS_HTML_FILE = "stats.html"
ANOMALIES_FILE = "anomalies.json"
ANOMALIES_SUMMARY_FILE = "anomalies.txt"


def schema_path(uri: str) -> str:
    """`<uri>/schema.pbtxt`."""
    return io.join(uri, SCHEMA_FILE)


def statistics_path(uri: str, split: str) -> str:
    """`<uri>/Split-<split>/stats.json`."""
    return io.join(split_dir(uri, split), STATS_FILE)


def read_schema(uri: str) -> schema_pb2.Schema:
    """Reads a Schema text proto from a schema artifact folder or a `.pbtxt` file.

    Raises:
        FileNotFoundError: if there is no schema at `uri`.
        ValueError: if the file is not a Schema text proto.
    """
    path = uri if uri.endswith(".pbtxt") else schema_path(uri)
    if not io.exists(path):
        raise FileNotFoundError(f"No schema at {path!r}.")
    try:
        return text_format.Parse(io.read_text(path), schema_pb2.Schema())
    except text_format.ParseError as error:
        raise ValueError(f"{path!r} is not a tensorflow_metadata Schema text proto: {error}") \
            from error


def write_schema(uri: str, schema: schema_pb2.Schema) -> str:
    """Writes `<uri>/schema.pbtxt` atomically and returns its path."""
    path = schema_path(uri)
    io.write_text_atomic(path, text_format.MessageToString(schema))
    return path


def read_statistics(uri: str) -> dict[str, dict[str, Any]]:
    """Reads every split's `stats.json` under a statistics artifact: {split: stats}.

    Raises:
        FileNotFoundError: if the artifact holds no statistics.
    """
    paths = io.match(io.join(uri, f"{SPLIT_PREFIX}*", STATS_FILE))
    if not paths:
        raise FileNotFoundError(
            f"No statistics under {uri!r}; expected {SPLIT_PREFIX}<split>/{STATS_FILE}.")
    stats = {}
    for path in paths:
        value = io.read_json(path)
        stats[value["split"]] = value
    return stats
