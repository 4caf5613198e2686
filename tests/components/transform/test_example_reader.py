"""ReadExampleBatches: every record, in fixed-size batches, decoded as TFXIO decodes them."""

import os
import pickle

import apache_beam as beam
import pyarrow as pa
import pytest

from components.artifacts import transform_graph
from components.common.runner import create_pipeline
from components.transform.example_reader import ReadExampleBatches
from components.transform.pipeline import make_tfxio
from components.transform.schema import load_schema

COLUMNS = ["row_id", "fare", "company", "trip_seconds"]


def _files(inputs, split):
    return transform_graph.raw_split_files(inputs.examples_uri, split)


def _save(batches, path):
    with open(path, "wb") as f:
        pickle.dump(batches, f)


def _read(inputs, splits, batch_size, folder):
    """Runs the reader; returns {tag: [batch sizes]} and {tag: table}."""
    schema = load_schema(inputs.schema_uri)
    path = os.path.join(folder, "batches.pickle")
    with create_pipeline() as pipeline:
        _ = (pipeline
             | ReadExampleBatches({s: _files(inputs, s) for s in splits}, schema,
                                  columns=COLUMNS, batch_size=batch_size)
             | beam.combiners.ToList()
             | beam.Map(_save, path))
    with open(path, "rb") as f:
        collected = pickle.load(f)
    sizes, tables = {}, {}
    for tag, batch in collected:
        sizes.setdefault(tag, []).append(batch.num_rows)
        tables.setdefault(tag, []).append(batch)
    return sizes, {tag: pa.Table.from_batches(b) for tag, b in tables.items()}


def test_reads_every_row_in_batches_of_the_asked_size(taxi_inputs, tmp_path):
    sizes, tables = _read(taxi_inputs, ["train", "eval"], 500, str(tmp_path))
    assert sum(sizes["train"]) == len(taxi_inputs.train)
    assert sum(sizes["eval"]) == len(taxi_inputs.eval)
    # At most one short batch per file (the train split has two files).
    assert sum(1 for n in sizes["train"] if n < 500) <= len(_files(taxi_inputs, "train"))
    assert max(sizes["train"]) == 500
    ids = sorted(v for cell in tables["train"].column("row_id").to_pylist() for v in cell)
    assert ids == sorted(taxi_inputs.train["row_id"])


def test_decodes_to_the_schema_tfxio_gives(taxi_inputs, tmp_path):
    schema = load_schema(taxi_inputs.schema_uri)
    reader = ReadExampleBatches({"train": _files(taxi_inputs, "train")}, schema,
                                columns=COLUMNS)
    tfxio = make_tfxio(_files(taxi_inputs, "train"), schema, COLUMNS)
    assert reader.arrow_schema() == tfxio.ArrowSchema()
    assert reader.arrow_schema() == tfxio.TensorAdapterConfig().arrow_schema
    _, tables = _read(taxi_inputs, ["train"], 1000, str(tmp_path))
    assert tables["train"].schema == tfxio.ArrowSchema()


@pytest.mark.parametrize("files, error", [
    (["a.gz"], "must map a tag to its files"),
    ({"train": []}, "has none"),
    ({"train": "a.gz"}, "has none"),
])
def test_arguments_are_checked(taxi_inputs, files, error):
    schema = load_schema(taxi_inputs.schema_uri)
    with pytest.raises((TypeError, ValueError), match=error):
        ReadExampleBatches(files, schema)


def test_batch_size_is_checked(taxi_inputs):
    schema = load_schema(taxi_inputs.schema_uri)
    with pytest.raises(ValueError, match="`batch_size` must be a positive int, got 0"):
        ReadExampleBatches({"train": _files(taxi_inputs, "train")}, schema, batch_size=0)
