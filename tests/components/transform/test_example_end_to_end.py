"""The shipped taxi spec and preprocessing module on all 15,002 rows, with Beam's
multi-processing mode (two workers): the two paths agree where they compute the same thing."""

import json
import os

import numpy as np
import pytest

from components.artifacts import transform_graph
from tests.components.transform.conftest import _run
from tests.components.transform.taxi_inputs import load_frame, write_inputs

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "chicago_taxi")
MULTI_PROCESSING = ["--runner=DirectRunner", "--direct_running_mode=multi_processing",
                    "--direct_num_workers=2"]


@pytest.mark.slow
def test_example_spec_and_module_on_the_full_data(tmp_path_factory):
    inputs = write_inputs(str(tmp_path_factory.mktemp("full")), load_frame())
    spec_run = _run(inputs, str(tmp_path_factory.mktemp("spec")),
                    spec_file=os.path.join(EXAMPLES, "transform_spec.yaml"),
                    beam_pipeline_args=MULTI_PROCESSING)
    module_run = _run(inputs, str(tmp_path_factory.mktemp("module")),
                      module_file=os.path.join(EXAMPLES, "preprocessing.py"),
                      beam_pipeline_args=MULTI_PROCESSING)
    total = len(inputs.train) + len(inputs.eval)
    assert total == 15002
    for run in (spec_run, module_run):
        assert sum(run.result.rows.values()) == total
        assert run.result.runner == "FnApiRunner"
    # Same label, same z-scores, same vocabulary for payment_type on both paths.
    train_rows = len(inputs.train)
    assert spec_run.train["big_tipper"].sum() == module_run.train["big_tipper"].sum()
    assert len(spec_run.train) == train_rows
    np.testing.assert_allclose(np.sort(spec_run.train["fare"]), np.sort(module_run.train["fare"]),
                               rtol=1e-5, atol=1e-5)
    for run in (spec_run, module_run):
        z = run.train["trip_miles"]
        assert abs(z.mean()) < 1e-4 and abs(z.std(ddof=0) - 1) < 1e-3
    with open(os.path.join(spec_run.config.transform_graph_uri, transform_graph.FEATURE_COLUMNS_FILE)) as f:
        described = json.load(f)
    assert described["features"]["company"]["num_buckets"] == (
        described["features"]["company"]["vocabulary_size"] + 10)
