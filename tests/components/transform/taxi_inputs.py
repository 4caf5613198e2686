"""Test inputs in the ingest step's output format, made from the taxi CSV.

`write_inputs` writes `Split-train/` and `Split-eval/` folders of gzip tf.Example shards, an
`ingest_result.json` and a `schema.pbtxt` the way the ingest step does: a column with missing values is optional (no
shape, so TFXIO hands it over as a SparseTensor), a column always present has shape [1]. Each
row carries a unique `row_id` so tests can match transformed rows to raw ones.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pandas as pd
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from components import artifacts
from components.artifacts import io
from examples.chicago_taxi.data import DATA_PATH

INT_COLUMNS = ("row_id", "pickup_community_area", "trip_start_month", "trip_start_hour",
               "trip_start_day", "trip_start_timestamp", "pickup_census_tract",
               "dropoff_census_tract", "trip_seconds", "dropoff_community_area")
FLOAT_COLUMNS = ("fare", "pickup_latitude", "pickup_longitude", "dropoff_latitude",
                 "dropoff_longitude", "trip_miles", "tips")
STRING_COLUMNS = ("payment_type", "company")


@dataclasses.dataclass(frozen=True)
class TaxiInputs:
    examples_uri: str
    schema_uri: str
    train: pd.DataFrame
    eval: pd.DataFrame


def load_frame(num_rows: int | None = None) -> pd.DataFrame:
    """The first `num_rows` rows of the taxi CSV, with a `row_id` column."""
    frame = pd.read_csv(DATA_PATH, nrows=num_rows)
    frame.insert(0, "row_id", np.arange(len(frame), dtype=np.int64))
    return frame


def split_frame(frame: pd.DataFrame, eval_every: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    is_eval = frame["row_id"] % eval_every == 0
    return frame[~is_eval].reset_index(drop=True), frame[is_eval].reset_index(drop=True)


def make_schema(frame: pd.DataFrame) -> schema_pb2.Schema:
    schema = schema_pb2.Schema()
    for name in INT_COLUMNS + FLOAT_COLUMNS + STRING_COLUMNS:
        feature = schema.feature.add(name=name)
        feature.type = (schema_pb2.INT if name in INT_COLUMNS else
                        schema_pb2.FLOAT if name in FLOAT_COLUMNS else schema_pb2.BYTES)
        present = int(frame[name].notna().sum())
        feature.presence.min_count = 1
        if present == len(frame):
            feature.presence.min_fraction = 1.0
            feature.shape.dim.add(size=1)
        else:
            feature.value_count.min = 1
            feature.value_count.max = 1
    return schema


def to_example(row: dict) -> tf.train.Example:
    """One row as a tf.Example; missing values are left out."""
    features = {}
    for name, value in row.items():
        if pd.isna(value):
            continue
        if name in INT_COLUMNS:
            features[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))
        elif name in FLOAT_COLUMNS:
            features[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[float(value)]))
        elif name in STRING_COLUMNS:
            features[name] = tf.train.Feature(
                bytes_list=tf.train.BytesList(value=[str(value).encode()]))
    return tf.train.Example(features=tf.train.Features(feature=features))


def write_examples(path: str, frame: pd.DataFrame) -> None:
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for row in frame.to_dict("records"):
            writer.write(to_example(row).SerializeToString())


def write_inputs(root: str, frame: pd.DataFrame, *, train_shards: int = 2) -> TaxiInputs:
    """Writes `frame` as the ingest step's examples and schema under `root`."""
    train, eval_ = split_frame(frame)
    examples_uri = os.path.join(root, "examples")
    for split, part, shards in (("train", train, train_shards), ("eval", eval_, 1)):
        folder = os.path.join(examples_uri, f"Split-{split}")
        os.makedirs(folder)
        for i, chunk in enumerate(np.array_split(np.arange(len(part)), shards)):
            write_examples(os.path.join(folder, f"data-{i:05d}-of-{shards:05d}.tfrecord.gz"),
                           part.iloc[chunk])
    schema_uri = os.path.join(root, "schema")
    os.makedirs(schema_uri)
    schema = make_schema(frame)
    with open(os.path.join(schema_uri, "schema.pbtxt"), "w") as f:
        f.write(text_format.MessageToString(schema))
    record = artifacts.IngestResult(
        span=None, splits={"train": len(train), "eval": len(eval_)}, bad_rows=0,
        source=DATA_PATH, rows_read=len(frame),
        columns={f.name: artifacts.FeatureType.from_schema(f.type) for f in schema.feature})
    io.write_json_atomic(os.path.join(examples_uri, artifacts.INGEST_RESULT_FILE),
                         record.to_json())
    return TaxiInputs(examples_uri, schema_uri, train, eval_)


def read_transformed(files: list[str], feature_spec: dict) -> pd.DataFrame:
    """Parses transformed gzip tf.Example shards into a frame."""
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(4096)
    parts = [tf.io.parse_example(batch, feature_spec) for batch in dataset]
    return pd.DataFrame({name: np.concatenate([p[name].numpy() for p in parts])
                         for name in feature_spec})
