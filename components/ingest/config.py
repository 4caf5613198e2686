"""The ingest step's settings (`IngestSettings`) and its executor config (`IngestConfig`: the
settings plus the input pattern, spans and artifact URIs), frozen and checked at construction."""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping
from typing import Any

from components.artifacts import FeatureType
from components.common.settings import FrozenDict, Settings

__all__ = ["DEFAULT_MISSING_VALUES", "SPAN_PLACEHOLDER", "IngestConfig", "IngestSettings",
           "InputFormat"]

SPAN_PLACEHOLDER = "{SPAN}"
# The usual spellings of "no value" in CSV files written by spreadsheets, R and pandas.
DEFAULT_MISSING_VALUES = ("", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "#N/A")
_SPLIT_NAME = re.compile(r"^[A-Za-z0-9_.]+$")


class InputFormat(enum.StrEnum):
    """What the input files hold."""

    CSV = "csv"
    TFRECORD = "tfrecord"  # TFRecord of serialized tf.Example (gzip if named *.gz)
    PARQUET = "parquet"


@dataclasses.dataclass(frozen=True, kw_only=True)
class IngestSettings(Settings):
    """How the ingest step parses, validates and splits: its settings, each declared once.

    The pipeline YAML's `data:` section and the KFP component's `settings` parameter come
    from these fields. See `IngestConfig` for each one's meaning.

    Example:
        >>> IngestSettings(label_column="tips", missing_values=("", "NA"))
    """

    input_format: InputFormat = InputFormat.CSV
    column_names: tuple[str, ...] | None = None
    column_types: Mapping[str, FeatureType] = dataclasses.field(default_factory=dict)
    csv_delimiter: str = ","
    csv_quotechar: str = '"'
    missing_values: tuple[str, ...] = DEFAULT_MISSING_VALUES
    min_numeric_fraction: float = 0.99
    csv_max_record_lines: int = 100
    csv_max_record_bytes: int = 1 << 20
    label_column: str | None = None
    splits: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: {"train": 80, "eval": 20})
    split_key: str | None = None
    max_bad_row_fraction: float = 0.01
    drift_threshold: float = 0.1
    max_domain_size: int = 100
    fail_on_anomalies: bool = False
    beam_pipeline_args: tuple[str, ...] = ()
    batch_size: int = 4096

    def __post_init__(self):
        for name in ("label_column", "split_key"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"`{name}` must be a string or None, got {value!r}.")
            if value == "":
                raise ValueError(f"`{name}` must not be empty; use None to leave it unset.")
        self._set("input_format", self._enum(InputFormat, "input_format", self.input_format))
        self._check_columns()
        self._check_csv()
        self._check_splits()
        self._check_numbers()
        if isinstance(self.beam_pipeline_args, str):
            raise TypeError(
                f"`beam_pipeline_args` must be a list of strings, got the string "
                f"{self.beam_pipeline_args!r}.")
        self._set("beam_pipeline_args", tuple(str(a) for a in self.beam_pipeline_args))

    # Checks, one concern each.

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    @staticmethod
    def _enum(enum_type, name: str, value: Any):
        try:
            return enum_type(value.lower() if isinstance(value, str) and enum_type is InputFormat
                             else value)
        except ValueError:
            raise ValueError(
                f"`{name}` must be one of {[str(v) for v in enum_type]}, got {value!r}.") \
                from None

    def _check_columns(self) -> None:
        if self.column_names is not None:
            if isinstance(self.column_names, str):
                raise TypeError(
                    f"`column_names` must be a list of strings, got the string "
                    f"{self.column_names!r}.")
            names = tuple(self.column_names)
            if not names or not all(isinstance(n, str) and n for n in names):
                raise ValueError(
                    f"`column_names` ({self.column_names!r}) must be non-empty strings.")
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"`column_names` repeats {duplicates}.")
            if self.input_format is not InputFormat.CSV:
                raise ValueError(
                    f"`column_names` is for CSV files without a header; input_format is "
                    f"{str(self.input_format)!r}, whose files name their columns.")
            self._set("column_names", names)
        if not isinstance(self.column_types, Mapping):
            raise TypeError(
                f"`column_types` must be a mapping {{column: 'INT'|'FLOAT'|'BYTES'}}, got "
                f"{self.column_types!r}.")
        declared = {}
        for column, value in self.column_types.items():
            try:
                declared[column] = FeatureType(value.upper() if isinstance(value, str) else value)
            except ValueError:
                raise ValueError(
                    f"`column_types[{column!r}]` must be 'INT', 'FLOAT' or 'BYTES', got "
                    f"{value!r}.") from None
        self._set("column_types", FrozenDict(declared))
        if (self.label_column is not None and self.split_key is not None
                and self.label_column == self.split_key):
            raise ValueError(
                f"`split_key` ({self.split_key!r}) must not be the label column: splitting by "
                "the label puts every row of a class in the same split.")

    def _check_csv(self) -> None:
        for name in ("csv_delimiter", "csv_quotechar"):
            value = getattr(self, name)
            if not isinstance(value, str) or len(value) != 1 or value in "\r\n":
                raise ValueError(f"`{name}` must be one character (not a newline), got "
                                 f"{value!r}.")
        if self.csv_delimiter == self.csv_quotechar:
            raise ValueError(
                f"`csv_delimiter` and `csv_quotechar` must differ, both are "
                f"{self.csv_delimiter!r}.")
        if isinstance(self.missing_values, str):
            raise TypeError(
                f"`missing_values` must be a list of strings, got the string "
                f"{self.missing_values!r}; pass e.g. [{self.missing_values!r}].")
        values = tuple(self.missing_values)
        if not all(isinstance(v, str) for v in values):
            raise TypeError(f"`missing_values` must hold strings, got {values!r}.")
        self._set("missing_values", values)

    def _check_splits(self) -> None:
        if not isinstance(self.splits, Mapping) or not self.splits:
            raise ValueError(
                f"`splits` must be a non-empty mapping {{name: weight}}, e.g. "
                f"{{'train': 80, 'eval': 20}}; got {self.splits!r}.")
        for name, weight in self.splits.items():
            if not isinstance(name, str) or not _SPLIT_NAME.match(name):
                raise ValueError(
                    f"Split name {name!r} must be letters, digits, '_' or '.' (it becomes the "
                    f"folder name 'Split-{name}').")
            if (isinstance(weight, bool) or not isinstance(weight, int | float)
                    or not weight > 0):
                raise ValueError(f"The weight of split {name!r} ({weight!r}) must be a "
                                 "positive number.")
        self._set("splits", FrozenDict({n: float(w) for n, w in self.splits.items()}))

    def _check_numbers(self) -> None:
        fraction = self.max_bad_row_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) \
                or not 0.0 <= fraction <= 1.0:
            raise ValueError(
                f"`max_bad_row_fraction` ({fraction!r}) must be a number in [0, 1].")
        numeric = self.min_numeric_fraction
        if (isinstance(numeric, bool) or not isinstance(numeric, int | float)
                or not 0.5 < numeric <= 1.0):
            raise ValueError(
                f"`min_numeric_fraction` ({numeric!r}) must be a number in (0.5, 1]: the "
                "share of a column's present cells that must be numbers for the column to "
                "be numeric (1.0: every one).")
        if self.drift_threshold is None:  # as 0: no drift comparators
            self._set("drift_threshold", 0.0)
        if (isinstance(self.drift_threshold, bool)
                or not isinstance(self.drift_threshold, int | float)
                or not 0.0 <= self.drift_threshold <= 1.0):
            raise ValueError(
                f"`drift_threshold` ({self.drift_threshold!r}) must be in [0, 1] (an "
                "L-infinity distance between two distributions; 0 disables drift checks).")
        for name, low in (("max_domain_size", 0), ("batch_size", 1),
                          ("csv_max_record_lines", 1), ("csv_max_record_bytes", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"`{name}` ({value!r}) must be an integer >= {low}.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class IngestConfig(IngestSettings):
    """Where an ingest run reads and writes, and how it parses, validates and splits.

    Every check runs at construction, so a bad configuration fails before any data is read.

    Args:
        input_pattern: a file glob (`/data/taxi/*.csv`, `gs://bucket/day-*/part-*.parquet`),
            optionally with `{SPAN}` where a span number (digits) appears in the path
            (`/data/span-{SPAN}/*.csv`).
        examples_uri: the Examples artifact to write (`Split-<name>/` shards, quarantine,
            `ingest_result.json`).
        schema_uri: the Schema artifact to write (`schema.pbtxt`).
        statistics_uri: the Statistics artifact to write (`Split-<name>/stats.json`).
        anomalies_uri: the Anomalies artifact to write (`anomalies.json`, `anomalies.txt`).
        input_format: "csv", "tfrecord" or "parquet". Default: "csv".
        span: ingest this span (the pattern needs `{SPAN}`). Default: None.
        span_range: ingest the spans `(first, last)`, both included. Default: None. With
            neither `span` nor `span_range`, a `{SPAN}` pattern ingests the latest span.
        column_names: the columns of CSV files that have no header row. Default: None (the
            first row of each file is its header).
        column_types: declared types, {column: "INT" | "FLOAT" | "BYTES"}; they win over the
            input schema. Columns neither declared nor in the schema are inferred from the
            data. Default: {}.
        csv_delimiter: the CSV field separator (one character). Default: ",".
        csv_quotechar: the CSV quote character (one character). Default: '"'.
        missing_values: CSV cells that mean "missing" (the feature is left out of the
            tf.Example), as pandas' `na_values` do. In a numeric column they match after
            trimming whitespace (so " NA " and, with "" listed, a blank cell are missing);
            in a BYTES column they match exactly. Default: `DEFAULT_MISSING_VALUES`: "",
            "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "#N/A".
        min_numeric_fraction: type inference makes a column numeric (INT or FLOAT) when at
            least this share of its present (not missing) cells are numbers; the few cells
            that are not are quarantined as invalid values, with the column, the value and
            the line. 1.0 makes one non-number turn the column into BYTES. Default: 0.99,
            the complement of the default `max_bad_row_fraction`: a column is taken as
            numeric only when its non-numbers fit in the bad-row budget; a column with more
            of them is more likely text (codes such as "A12"). Declare `column_types` to
            decide a column yourself.
        csv_max_record_lines: the most lines one CSV record may span (a quoted field with
            newlines). A quote not closed within this many lines, or before the end of
            the file, is taken as a stray quote: that line is quarantined on its own and
            reading resumes on the next line, so one stray quote cannot swallow the rest
            of the file. Default: 100.
        csv_max_record_bytes: the most bytes one CSV record may hold, checked like
            `csv_max_record_lines`. Default: 1 MiB (1,048,576).
        label_column: a column every row must have: rows whose label is missing (a
            missing value), blank, or not a finite number (nan, inf, in any spelling) are
            quarantined. Default: None.
        splits: {split name: weight}; rows go to splits in these proportions, by a hash of
            the row (or `split_key`): the same row lands in the same split on every run,
            whatever the order of the mapping.
            Default: {"train": 80, "eval": 20}.
        split_key: the column whose value decides a row's split (rows with the same key land
            together); None hashes the whole raw row. Default: None.
        max_bad_row_fraction: the share of bad rows above which the run fails (the bad rows
            are kept in the quarantine either way). Default: 0.01.
        input_schema_uri: a Schema artifact (or `.pbtxt` file) to validate against; None
            infers the schema from this run's data. Default: None.
        baseline_statistics_uri: the Statistics artifact of the previous span, for drift
            checks. Default: None.
        drift_threshold: the L-infinity distance above which a categorical feature's
            distribution counts as drifted; written into an inferred schema's
            `drift_comparator`s. 0 (or None) disables drift checks in inferred schemas.
            Default: 0.1.
        max_domain_size: an inferred schema gives a BYTES column a closed domain (values
            outside it are anomalies) when it has at most this many distinct values.
            0 disables domains. Default: 100.
        fail_on_anomalies: raise after writing the artifacts if anomalies were found.
            Default: False (anomalies are reported; a later step decides).
        beam_pipeline_args: Beam arguments, e.g. `["--runner=DataflowRunner", ...]`.
            Default: () (the local FnApiRunner, one worker).
        batch_size: rows per Arrow RecordBatch. Default: 4096.

    Raises:
        TypeError: if an argument has the wrong type.
        ValueError: if an argument has a wrong value; the message says how to fix it.

    Example:
        >>> config = IngestConfig(
        ...     input_pattern="/data/taxi/span-{SPAN}/*.csv", examples_uri=out + "/examples",
        ...     schema_uri=out + "/schema", statistics_uri=out + "/stats",
        ...     anomalies_uri=out + "/anomalies", label_column="tips")
        >>> config.replace(span=3).span
        3
    """

    input_pattern: str
    examples_uri: str
    schema_uri: str
    statistics_uri: str
    anomalies_uri: str
    span: int | None = None
    span_range: tuple[int, int] | None = None
    input_schema_uri: str | None = None
    baseline_statistics_uri: str | None = None

    def __post_init__(self):
        for name in ("input_pattern", "examples_uri", "schema_uri", "statistics_uri",
                     "anomalies_uri"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"`{name}` must be a string, got {type(value).__name__}.")
            if not value:
                raise ValueError(f"`{name}` must not be empty.")
        for name in ("input_schema_uri", "baseline_statistics_uri"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"`{name}` must be a string or None, got {value!r}.")
            if value == "":
                raise ValueError(f"`{name}` must not be empty; use None to leave it unset.")
        super().__post_init__()
        self._check_spans()

    def replace(self, **changes: Any) -> IngestConfig:
        """A copy with `changes` applied (and checked)."""
        return dataclasses.replace(self, **changes)


    def _check_spans(self) -> None:
        has_placeholder = SPAN_PLACEHOLDER in self.input_pattern
        if self.span is not None and self.span_range is not None:
            raise ValueError(
                f"Give at most one of `span` ({self.span!r}) and `span_range` "
                f"({self.span_range!r}); neither means the latest span.")
        if self.span is not None:
            if isinstance(self.span, bool) or not isinstance(self.span, int) or self.span < 0:
                raise ValueError(f"`span` ({self.span!r}) must be a non-negative integer.")
        if self.span_range is not None:
            span_range = tuple(self.span_range)
            if (len(span_range) != 2
                    or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                               for s in span_range)
                    or span_range[0] > span_range[1]):
                raise ValueError(
                    f"`span_range` ({self.span_range!r}) must be two non-negative integers "
                    "(first, last) with first <= last.")
            self._set("span_range", span_range)
        if (self.span is not None or self.span_range is not None) and not has_placeholder:
            raise ValueError(
                f"`span`/`span_range` need a `{SPAN_PLACEHOLDER}` in `input_pattern` "
                f"({self.input_pattern!r}), e.g. '/data/span-{SPAN_PLACEHOLDER}/*.csv'.")
