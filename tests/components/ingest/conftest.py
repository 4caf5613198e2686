"""Shared data and helpers for the ingest tests: the taxi data, configs, reading outputs.

Beam runs for real here (the local FnApiRunner). The full taxi file is ingested once per
session (`taxi_run`) and shared by the tests that only read its outputs.
"""

from __future__ import annotations

import json
import os
import pathlib

import pandas as pd
import pytest
from tfx_bsl.coders.example_coder import ExamplesToRecordBatchDecoder

from components import artifacts
from components.artifacts import io
from components.common.tfrecord import iter_records
from components.ingest import IngestConfig, run

ROOT = pathlib.Path(__file__).resolve().parents[3]
TAXI_CSV = ROOT / "examples" / "chicago_taxi" / "data" / "data.csv"
TESTDATA = ROOT / "examples" / "chicago_taxi" / "testdata"
GOLDEN_SCHEMA = TESTDATA / "schema.pbtxt"
TAXI_ROWS = 15_002
LABEL = "tips"


def make_config(out: pathlib.Path | str, input_pattern: str | os.PathLike, **options):
    """An IngestConfig writing every artifact under `out`."""
    out = str(out)
    options.setdefault("label_column", LABEL)
    return IngestConfig(input_pattern=str(input_pattern), examples_uri=f"{out}/examples",
                        schema_uri=f"{out}/schema", statistics_uri=f"{out}/statistics",
                        anomalies_uri=f"{out}/anomalies", **options)


def read_records(examples_uri: str, split: str) -> list[bytes]:
    """Every serialized tf.Example of one split, in file order."""
    records = []
    for path in artifacts.examples_files(examples_uri, split):
        with io.open_for_read(path, compressed=True) as f:
            records.extend(iter_records(f, path=path))
    return records


def read_frame(examples_uri: str, split: str) -> pd.DataFrame:
    """One split as a DataFrame of lists (tfx_bsl's decoder, no TensorFlow)."""
    records = read_records(examples_uri, split)
    if not records:
        return pd.DataFrame()
    return ExamplesToRecordBatchDecoder().DecodeBatch(records).to_pandas()


def read_quarantine(examples_uri: str) -> list[dict]:
    rows = []
    for path in io.match(os.path.join(artifacts.quarantine_dir(examples_uri), "*.jsonl")):
        with open(path, encoding="utf-8") as f:
            rows.extend(json.loads(line) for line in f)
    return sorted(rows, key=lambda r: (r["source_file"], r["line_number"]))


def write_spans(root: pathlib.Path, frames: dict[int, pd.DataFrame]) -> str:
    """Writes `span-<n>/data.csv` for each frame; returns the `{SPAN}` pattern."""
    for span, frame in frames.items():
        folder = root / f"span-{span}"
        folder.mkdir(parents=True, exist_ok=True)
        frame.to_csv(folder / "data.csv", index=False)
    return str(root / "span-{SPAN}" / "*.csv")


@pytest.fixture(scope="session")
def taxi_text() -> pd.DataFrame:
    """The taxi CSV with every cell as text, as written (missing cells are "")."""
    return pd.read_csv(TAXI_CSV, dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def taxi_frame() -> pd.DataFrame:
    """The taxi CSV as pandas reads it (numbers as numbers, "" as NaN)."""
    return pd.read_csv(TAXI_CSV)


@pytest.fixture(scope="session")
def taxi_run(tmp_path_factory):
    """The whole taxi file ingested once with the defaults: (config, outcome)."""
    config = make_config(tmp_path_factory.mktemp("taxi"), TAXI_CSV)
    return config, run(config)
