"""The source for an input format."""

from __future__ import annotations

from components.ingest.config import IngestConfig, InputFormat
from components.ingest.sources.base import Source
from components.ingest.sources.csv_source import CsvSource
from components.ingest.sources.parquet_source import ParquetSource
from components.ingest.sources.tfrecord_source import TFRecordSource

__all__ = ["create_source"]


def create_source(config: IngestConfig) -> Source:
    """The `Source` that reads `config.input_format`, with the config's reading options."""
    if config.input_format is InputFormat.CSV:
        return CsvSource(delimiter=config.csv_delimiter, quotechar=config.csv_quotechar,
                         column_names=config.column_names,
                         max_record_lines=config.csv_max_record_lines,
                         max_record_bytes=config.csv_max_record_bytes)
    if config.input_format is InputFormat.TFRECORD:
        return TFRecordSource()
    return ParquetSource()
