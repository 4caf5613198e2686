"""IngestConfig refuses bad configurations at construction, with messages that say why."""

from __future__ import annotations

import dataclasses

import pytest

from components.artifacts import FeatureType
from components.ingest import IngestConfig, InputFormat

URIS = {"examples_uri": "/o/e", "schema_uri": "/o/s", "statistics_uri": "/o/t",
        "anomalies_uri": "/o/a"}


def _config(**options):
    options.setdefault("input_pattern", "/d/*.csv")
    return IngestConfig(**URIS, **options)


def test_defaults_and_normalization():
    config = _config(input_format="CSV", column_types={"fare": "float"},
                     splits={"train": 8, "eval": 2}, missing_values=["", "NA"],
                     beam_pipeline_args=["--direct_num_workers=2"])
    assert config.input_format is InputFormat.CSV
    assert dict(config.column_types) == {"fare": FeatureType.FLOAT}
    assert dict(config.splits) == {"train": 8.0, "eval": 2.0}
    assert config.missing_values == ("", "NA")
    assert config.beam_pipeline_args == ("--direct_num_workers=2",)
    assert config.max_bad_row_fraction == 0.01
    defaults = _config()
    assert defaults.missing_values == ("", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null",
                                       "None", "#N/A")
    assert defaults.min_numeric_fraction == 0.99
    assert (defaults.csv_max_record_lines, defaults.csv_max_record_bytes) == (100, 1 << 20)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.span = 3
    with pytest.raises(TypeError):
        config.splits["test"] = 1.0  # read-only, like the rest of the config


@pytest.mark.parametrize("options, error, message", [
    ({"input_format": "avro"}, ValueError, r"`input_format` must be one of \['csv'"),
    ({"span": 3}, ValueError, r"need a `\{SPAN\}` in `input_pattern`"),
    ({"input_pattern": "/d/{SPAN}/*.csv", "span": 1, "span_range": (1, 2)}, ValueError,
     r"at most one of `span` \(1\) and `span_range`"),
    ({"input_pattern": "/d/{SPAN}/*.csv", "span_range": (3, 1)}, ValueError,
     r"first <= last"),
    ({"input_pattern": "/d/{SPAN}/*.csv", "span": -1}, ValueError, r"non-negative integer"),
    ({"column_types": {"fare": "DOUBLE"}}, ValueError,
     r"`column_types\['fare'\]` must be 'INT', 'FLOAT' or 'BYTES', got 'DOUBLE'"),
    ({"splits": {}}, ValueError, r"`splits` must be a non-empty mapping"),
    ({"splits": {"train": 1, "e/val": 1}}, ValueError, r"Split name 'e/val'"),
    ({"splits": {"train": 0}}, ValueError, r"weight of split 'train' \(0\) must be a positive number"),
    ({"max_bad_row_fraction": 1.5}, ValueError, r"`max_bad_row_fraction` \(1.5\)"),
    ({"drift_threshold": 1.5}, ValueError, r"`drift_threshold` \(1.5\) must be in \[0, 1\]"),
    ({"csv_delimiter": ",,"}, ValueError, r"`csv_delimiter` must be one character"),
    ({"csv_quotechar": ","}, ValueError, r"must differ"),
    ({"missing_values": "NA"}, TypeError, r"pass e.g. \['NA'\]"),
    ({"beam_pipeline_args": "--runner=X"}, TypeError, r"list of strings"),
    ({"label_column": ""}, ValueError, r"use None to leave it unset"),
    ({"label_column": "tips", "split_key": "tips"}, ValueError, r"must not be the label"),
    ({"column_names": ["a", "a"]}, ValueError, r"`column_names` repeats \['a'\]"),
    ({"column_names": ["a"], "input_format": "parquet"}, ValueError, r"CSV files without"),
    ({"batch_size": 0}, ValueError, r"`batch_size` \(0\) must be an integer >= 1"),
    ({"min_numeric_fraction": 0.4}, ValueError, r"`min_numeric_fraction` \(0.4\) must be a number in \(0.5, 1\]"),
    ({"min_numeric_fraction": True}, ValueError, r"`min_numeric_fraction` \(True\)"),
    ({"csv_max_record_lines": 0}, ValueError, r"`csv_max_record_lines` \(0\) must be an integer >= 1"),
    ({"csv_max_record_bytes": 1.5}, ValueError, r"`csv_max_record_bytes` \(1.5\) must be an integer"),
    ({"input_pattern": 3}, TypeError, r"`input_pattern` must be a string, got int"),
])
def test_bad_values(options, error, message):
    with pytest.raises(error, match=message):
        _config(**options)


def test_replace_checks_again():
    config = _config(input_pattern="/d/span-{SPAN}/*.csv")
    assert config.replace(span=4).span == 4
    with pytest.raises(ValueError, match="at most one"):
        config.replace(span=4, span_range=(1, 2))
