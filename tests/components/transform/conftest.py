"""Shared fixtures: taxi inputs in the ingest format, and one real transform run per path.

The runs are session-scoped: each costs tens of seconds of Beam + tf.Transform, and many
tests read their outputs.
"""

from __future__ import annotations

import dataclasses
import os
import textwrap

import pandas as pd
import pytest
import tensorflow as tf
import tensorflow_transform as tft

from components.artifacts import transform_graph
from components.transform.executor import TransformConfig, TransformResult, run
from tests.components.transform.taxi_inputs import (
    TaxiInputs,
    load_frame,
    read_transformed,
    write_inputs,
)

NUM_ROWS = 4000
TESTDATA = os.path.join(os.path.dirname(__file__), "testdata")
TEST_SPEC = os.path.join(TESTDATA, "taxi_test_spec.yaml")


@dataclasses.dataclass(frozen=True)
class TransformRun:
    inputs: TaxiInputs
    config: TransformConfig
    result: TransformResult
    tft_output: tft.TFTransformOutput
    train: pd.DataFrame  # transformed, sorted by row_id
    eval: pd.DataFrame

    def split_files(self, split: str) -> list[str]:
        return sorted(tf.io.gfile.glob(transform_graph.transformed_split_pattern(
            self.config.transformed_examples_uri, split)))


@pytest.fixture(scope="session")
def taxi_inputs(tmp_path_factory) -> TaxiInputs:
    return write_inputs(str(tmp_path_factory.mktemp("ingest")), load_frame(NUM_ROWS))


def _run(inputs: TaxiInputs, root: str, **kwargs) -> TransformRun:
    config = TransformConfig(
        examples_uri=inputs.examples_uri, schema_uri=inputs.schema_uri,
        transformed_examples_uri=os.path.join(root, "transformed_examples"),
        transform_graph_uri=os.path.join(root, "transform_graph"), **kwargs)
    result = run(config)
    tft_output = tft.TFTransformOutput(config.transform_graph_uri)
    spec = tft_output.transformed_feature_spec()
    frames = {}
    for split in ("train", "eval"):
        files = tf.io.gfile.glob(transform_graph.transformed_split_pattern(
            config.transformed_examples_uri, split))
        frame = read_transformed(files, spec)
        if "row_id" in frame:
            frame = frame.sort_values("row_id").reset_index(drop=True)
        frames[split] = frame
    return TransformRun(inputs, config, result, tft_output, frames["train"], frames["eval"])


@pytest.fixture(scope="session")
def spec_run(taxi_inputs, tmp_path_factory) -> TransformRun:
    """The test spec (every transform) over the taxi inputs, on the default runner."""
    return _run(taxi_inputs, str(tmp_path_factory.mktemp("spec_run")), spec_file=TEST_SPEC)


USER_MODULE = textwrap.dedent('''
    import tensorflow as tf
    import tensorflow_transform as tft

    LABEL_KEY = "tipped"

    def preprocessing_fn(inputs):
        fare = tf.reshape(inputs["fare"], [-1])
        return {
            "row_id": tf.reshape(inputs["row_id"], [-1]),
            "fare_z": tft.scale_to_z_score(fare),
            "payment_type": tft.compute_and_apply_vocabulary(
                tf.reshape(inputs["payment_type"], [-1]), num_oov_buckets=1),
            "tipped": tf.cast(tf.reshape(inputs["tips"], [-1]) > 0, tf.int64),
        }
''')


@pytest.fixture(scope="session")
def module_run(taxi_inputs, tmp_path_factory) -> TransformRun:
    """A user preprocessing module, analyzing train + eval together (AnalyzeDataset, then
    one TransformDataset for both splits), run with `--runner=DirectRunner` (mapped to
    FnApiRunner)."""
    root = str(tmp_path_factory.mktemp("module_run"))
    module_file = os.path.join(root, "user_preprocessing.py")
    with open(module_file, "w") as f:
        f.write(USER_MODULE)
    return _run(taxi_inputs, root, module_file=module_file, analyze_splits=["train", "eval"],
                beam_pipeline_args=["--runner=DirectRunner", "--direct_running_mode=in_memory"])
