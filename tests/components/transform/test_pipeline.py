"""The transform pipeline's shape and its runs with two worker processes.

With `--direct_running_mode=multi_processing --direct_num_workers=2`, rows that cross a
stage boundary travel between the worker processes and the runner in 10 MiB data-plane
chunks, and at 1M rows whole chunks of raw rows went missing (the read counted 779,220 of
799,446 rows, a loss of exactly 20,226 records of ~518 bytes: one chunk) when the raw
split was read as TFXIO's per-file reads joined by a Flatten (FnApiRunner materializes every
Flatten) and kept for the second pass. The loss needs chunks, so at test sizes it cannot be
reproduced; what can be checked at any size is that no row crosses a stage boundary: each
read is fused with its consumer, from the file to the written shard.

All the transform splits go through one read and one TransformDataset, each row carrying its
split in a passthrough column; the serving-skew tests check that every split's shards hold
exactly that split's rows, transformed.
"""

import os

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pytest
import tensorflow_transform.beam as tft_beam
from apache_beam.runners.portability.fn_api_runner import fn_runner
from apache_beam.runners.worker import bundle_processor

from components.artifacts import transform_graph
from components.common.runner import create_pipeline
from components.transform import pipeline as transform_pipeline
from components.transform.pipeline import SPLIT_COLUMN, build_pipeline
from components.transform.preprocessing import build_preprocessing_fn
from components.transform.schema import columns_of, load_schema
from components.transform.spec_loading import load_spec
from tests.components.transform.conftest import TEST_SPEC, _run

TWO_WORKERS = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
# The transforms whose outputs are rows (RecordBatches or encoded examples).
_ROW_TRANSFORMS = {"DropSplit", "TagSplit", "Transform/Transform",
                   "Transform/ConvertToRecordBatch", "KeyBySplit", "CountLabels", "Encode"}


def _outputs_rows(name: str) -> bool:
    return (name.endswith("/ReadAndDecode") or name.startswith("Count[")
            or name in _ROW_TRANSFORMS or name.split("/")[0] in _ROW_TRANSFORMS)


def _stages(taxi_inputs, tmp_path, analyze_splits):
    schema = load_schema(taxi_inputs.schema_uri)
    spec = load_spec(TEST_SPEC)
    splits = ("train", "eval")
    pipeline = beam.Pipeline(options=create_pipeline().options)
    with tft_beam.Context(temp_dir=str(tmp_path / "tmp")):
        build_pipeline(
            pipeline, schema=schema,
            preprocessing_fn=build_preprocessing_fn(spec, columns_of(schema)),
            columns=spec.raw_columns(),
            split_files={s: transform_graph.raw_split_files(taxi_inputs.examples_uri, s)
                         for s in splits},
            analyze_splits=analyze_splits, transform_splits=splits,
            staging_dir=str(tmp_path / "staging"),
            manifest_path=str(tmp_path / "manifest.json"),
            transform_graph_uri=str(tmp_path / "graph"))
        proto = pipeline.to_runner_api()
    _, stages = fn_runner.FnApiRunner().create_stages(proto)
    return proto, stages


@pytest.mark.parametrize("analyze_splits", [("train",), ("train", "eval")])
def test_no_row_crosses_a_stage_boundary(taxi_inputs, tmp_path, analyze_splits):
    proto, stages = _stages(taxi_inputs, tmp_path, analyze_splits)
    transforms = proto.components.transforms
    row_pcolls = {pcoll: transforms[t].unique_name
                  for t in proto.components.transforms
                  if _outputs_rows(transforms[t].unique_name) and not transforms[t].subtransforms
                  for pcoll in transforms[t].outputs.values()}
    # One read for the analyzers, one for every transform split.
    assert len({name for name in row_pcolls.values() if "ReadAndDecode" in name}) == 2
    materialized = {pcoll for stage in stages for t in stage.transforms
                    if t.spec.urn == bundle_processor.DATA_OUTPUT_URN
                    for pcoll in t.inputs.values()}
    crossing = sorted(row_pcolls[p] for p in materialized & set(row_pcolls))
    assert not crossing, f"rows cross a stage boundary after {crossing}"


def test_the_splits_are_read_transformed_and_written_in_one_stage(taxi_inputs, tmp_path):
    _, stages = _stages(taxi_inputs, tmp_path, ("train",))
    holding = [stage for stage in stages
               if any(t.unique_name == "Read[train+eval/read]/ReadAndDecode"
                      for t in stage.transforms)]
    assert len(holding) == 1
    names = {t.unique_name for t in holding[0].transforms}
    assert {"Transform/Transform", "KeyBySplit", "Write/WriteFiles"} <= names, sorted(names)


def test_a_transformed_batch_is_keyed_by_its_split_without_the_split_column():
    batch = pa.RecordBatch.from_arrays([pa.array([1.0, 2.0])], ["fare"])
    tagged = transform_pipeline._with_split_column(("eval", batch))
    assert tagged.column(1).to_pylist() == [[b"eval"], [b"eval"]]
    split, untagged = transform_pipeline._split_and_batch((tagged, {}))
    assert split == "eval" and untagged.equals(batch)
    # A preprocessing_fn that changed the row count: TFT gives the split as a unary value.
    unary = {SPLIT_COLUMN: pa.array([[b"train"]], pa.list_(pa.binary()))}
    assert transform_pipeline._split_and_batch((batch, unary)) == ("train", batch)
    mixed = pa.RecordBatch.from_arrays(
        [pa.array([1.0, 2.0]), pa.array([[b"eval"], [b"train"]], pa.list_(pa.binary()))],
        ["fare", SPLIT_COLUMN])
    with pytest.raises(RuntimeError, match="holds the rows of splits"):
        transform_pipeline._split_and_batch((mixed, {}))


@pytest.fixture(scope="module")
def two_worker_run(taxi_inputs, tmp_path_factory):
    return _run(taxi_inputs, str(tmp_path_factory.mktemp("two_workers")),
                spec_file=TEST_SPEC, beam_pipeline_args=TWO_WORKERS)


def test_two_worker_processes_write_every_row(two_worker_run, taxi_inputs):
    result = two_worker_run.result
    assert dict(result.rows) == {"train": len(taxi_inputs.train),
                                 "eval": len(taxi_inputs.eval)}
    assert result.analyzed_rows == len(taxi_inputs.train)
    # One read spreads the three raw files (train has two) over the two workers; each
    # worker writes its own shard of every split it got rows of, named as one set.
    for split in ("train", "eval"):
        files = sorted(os.path.basename(f) for f in two_worker_run.split_files(split))
        assert files == [f"data-{i:05d}-of-{len(files):05d}.tfrecord.gz"
                         for i in range(len(files))]
        assert 1 <= len(files) <= 2


def test_two_worker_processes_give_the_one_worker_output(two_worker_run, spec_run):
    for split in ("train", "eval"):
        got, want = getattr(two_worker_run, split), getattr(spec_run, split)
        assert list(got.columns) == list(want.columns)
        np.testing.assert_array_equal(got["row_id"], want["row_id"])
        for name in want.columns:
            if want[name].dtype.kind == "f":  # analyzers combine in a different order
                np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-5)
            else:
                np.testing.assert_array_equal(got[name], want[name], err_msg=name)
