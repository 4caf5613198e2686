"""Session fixtures for the model steps: the taxi data ingested and transformed once.

The trainer, evaluator and pusher tests start from what the data steps write, made by the
real steps (the ingest format via `taxi_inputs.write_inputs`, then the transform step with the
taxi example's spec), on a sample small enough for the default test run.
"""

from __future__ import annotations

import dataclasses
import os

from components.transform.executor import TransformConfig
from components.transform.executor import run as run_transform
from tests.components.transform.taxi_inputs import load_frame, write_inputs

TAXI_SPEC = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "chicago_taxi",
                         "transform_spec.yaml")
TRAINER_MODULE = os.path.join(os.path.dirname(__file__), "..", "..", "examples",
                              "chicago_taxi", "trainer_module.py")


@dataclasses.dataclass(frozen=True)
class TaxiData:
    """The raw (ingest-format) and transformed taxi sample."""

    raw_examples_uri: str
    schema_uri: str
    transformed_examples_uri: str
    transform_graph_uri: str


def make_taxi_data(root: str, num_rows: int = 3000) -> TaxiData:
    """Writes the ingest-format sample and runs the transform step on it."""
    inputs = write_inputs(os.path.join(root, "ingest"), load_frame(num_rows))
    config = TransformConfig(
        examples_uri=inputs.examples_uri, schema_uri=inputs.schema_uri,
        transformed_examples_uri=os.path.join(root, "transformed_examples"),
        transform_graph_uri=os.path.join(root, "transform_graph"), spec_file=TAXI_SPEC)
    run_transform(config)
    return TaxiData(inputs.examples_uri, inputs.schema_uri, config.transformed_examples_uri,
                    config.transform_graph_uri)
