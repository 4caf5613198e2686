"""The user-module path: a preprocessing_fn file instead of a spec."""

import json
import os

import numpy as np
import pytest

from components.artifacts import transform_graph
from components.transform.user_module import load_user_module

EXAMPLE_MODULE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples",
                              "chicago_taxi", "preprocessing.py")


def test_module_run_writes_its_features(module_run):
    train, eval_ = module_run.inputs.train, module_run.inputs.eval
    assert dict(module_run.result.rows) == {"train": len(train), "eval": len(eval_)}
    assert module_run.result.label_key == "tipped"
    np.testing.assert_array_equal(module_run.train["tipped"], (train["tips"] > 0).astype(int))


def test_analyzing_train_and_eval_together(module_run):
    """The analyzers saw both splits: z-scores are standard over train + eval together."""
    result = module_run.result
    assert result.analyze_splits == ("train", "eval")
    assert result.analyzed_rows == len(module_run.inputs.train) + len(module_run.inputs.eval)
    fare = np.concatenate([module_run.inputs.train["fare"], module_run.inputs.eval["fare"]])
    fare = fare.astype(np.float32).astype(np.float64)
    z = np.concatenate([module_run.train["fare_z"], module_run.eval["fare_z"]])
    np.testing.assert_allclose(z, (fare - fare.mean()) / fare.std(), rtol=1e-4, atol=1e-4)


def test_directrunner_runs_on_the_fnapirunner(module_run):
    assert module_run.result.runner == "FnApiRunner"


def test_module_feature_columns_come_from_the_transformed_schema(module_run):
    graph = module_run.config.transform_graph_uri
    with open(os.path.join(graph, transform_graph.FEATURE_COLUMNS_FILE)) as f:
        described = json.load(f)
    features = described["features"]
    vocabulary_size = module_run.train["payment_type"].max()  # at most size + 1 OOV id - 1
    assert described["label_key"] == "tipped"
    assert described["serving_raw_columns"] is None  # unknown for code
    assert features["fare_z"] == {"kind": "numeric", "dtype": "float32", "shape": []}
    assert features["payment_type"]["kind"] == "categorical_identity"
    assert features["payment_type"]["num_buckets"] >= vocabulary_size + 1
    assert features["tipped"] == {"kind": "label", "dtype": "int64", "shape": []}
    assert features["row_id"]["kind"] == "numeric"
    assert os.path.exists(os.path.join(graph, transform_graph.MODULE_COPY_FILE))
    # Without a spec the graph reads every raw column.
    assert "pickup_census_tract" in module_run.tft_output.raw_feature_spec()


def test_load_user_module_reads_the_example_module():
    module = load_user_module(EXAMPLE_MODULE)
    assert callable(module.preprocessing_fn)
    assert module.label_key == "big_tipper"


def test_a_module_without_preprocessing_fn_is_named(tmp_path):
    path = tmp_path / "module.py"
    path.write_text("def preprocess(inputs):\n    return inputs\n")
    with pytest.raises(ValueError, match=r"defines no callable `preprocessing_fn` \(it defines "
                                         r"\['preprocess'\]\)"):
        load_user_module(str(path))


def test_a_bad_label_key_is_named(tmp_path):
    path = tmp_path / "module.py"
    path.write_text("LABEL_KEY = 3\ndef preprocessing_fn(inputs):\n    return inputs\n")
    with pytest.raises(ValueError, match="`LABEL_KEY` .* must be a feature name"):
        load_user_module(str(path))


def test_a_missing_module_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="No preprocessing module at"):
        load_user_module(str(tmp_path / "nope.py"))
