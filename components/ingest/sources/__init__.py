"""Input sources: CSV, TFRecord of tf.Example, Parquet."""

from components.ingest.sources.base import RawBatch, RawKind, Source, SourcePlan
from components.ingest.sources.csv_source import CsvSource
from components.ingest.sources.factory import create_source
from components.ingest.sources.parquet_source import ParquetSource
from components.ingest.sources.tfrecord_source import TFRecordSource

__all__ = [
    "CsvSource",
    "ParquetSource",
    "RawBatch",
    "RawKind",
    "Source",
    "SourcePlan",
    "TFRecordSource",
    "create_source",
]
