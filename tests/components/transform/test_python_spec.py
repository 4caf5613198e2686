"""The Python form of the spec: feature columns convert to the YAML's TransformSpec, run to the
same transformed data, and bad entries fail with errors that name the column."""

import os
import textwrap

import numpy as np
import pandas as pd
import pytest

import estimator_lib as el
from components.artifacts import transform_graph
from components.transform.config import TransformConfig
from components.transform.python_spec import (
    expression,
    feature,
    python_spec_from_source,
    quantile_buckets,
    spec_from_columns,
    vocabulary,
    z_score,
)
from components.transform.schema import columns_of
from components.transform.spec import SpecError, dump_spec, parse_spec, spec_from_dict, spec_to_dict
from components.transform.spec_loading import load_spec
from components.transform.spec_validation import validate_against_schema
from components.transform.transforms import Cross, HashBuckets, Identity, Passthrough
from tests.components.transform.conftest import TEST_SPEC, TESTDATA, _run
from tests.components.transform.taxi_inputs import load_frame, make_schema
from tests.components.transform.test_component import _compile

fc = el.feature_column
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "chicago_taxi")
TEST_PY_SPEC = os.path.join(TESTDATA, "taxi_test_spec.py")


@pytest.fixture(scope="module")
def columns():
    return columns_of(make_schema(load_frame(500)))


@pytest.fixture(scope="module")
def python_spec_run(taxi_inputs, tmp_path_factory):
    """The Python twin of the test spec, over the same inputs as `spec_run`."""
    return _run(taxi_inputs, str(tmp_path_factory.mktemp("python_spec_run")),
                spec_file=TEST_PY_SPEC)


@pytest.mark.parametrize("stem", [os.path.join(EXAMPLES, "transform_spec"),
                                  TEST_SPEC.removesuffix(".yaml")])
def test_python_and_yaml_specs_are_the_same_spec(stem):
    python, yaml_spec = load_spec(stem + ".py"), load_spec(stem + ".yaml")
    assert python == yaml_spec
    assert python.label == "big_tipper" and dict(python.fill) == dict(yaml_spec.fill)


def test_python_spec_transforms_the_same_data(spec_run, python_spec_run):
    assert python_spec_run.result.rows == spec_run.result.rows
    assert python_spec_run.result.label_key == "big_tipper"
    for split in ("train", "eval"):
        python, yaml_run = getattr(python_spec_run, split), getattr(spec_run, split)
        assert list(python.columns) == list(yaml_run.columns)
        differing = {name: int((~_same(python[name], yaml_run[name])).sum())
                     for name in python.columns if not _same(python[name], yaml_run[name]).all()}
        assert not differing, f"{split}: rows that differ per column: {differing}"
        # Floats up to summation order (the analyzers' combine order varies run to run).
        pd.testing.assert_frame_equal(python, yaml_run, check_exact=False, rtol=1e-5, atol=1e-6)
    assert (python_spec_run.tft_output.transformed_feature_spec()
            == spec_run.tft_output.transformed_feature_spec())
    # The graph keeps the converted spec as YAML, which reads back into the same spec.
    with open(os.path.join(python_spec_run.config.transform_graph_uri,
                           transform_graph.SPEC_COPY_FILE)) as f:
        assert parse_spec(f.read()) == load_spec(TEST_SPEC)


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    """Elementwise equality: exact for ids and strings, to float32 round-off for floats."""
    if a.dtype.kind == "f":
        return pd.Series(np.isclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True), index=a.index)
    return a == b


def test_spec_round_trips_through_yaml():
    spec = load_spec(TEST_SPEC)
    assert spec_from_dict(spec_to_dict(spec)) == spec
    assert parse_spec(dump_spec(spec)) == spec


def test_columns_map_to_transforms():
    spec = spec_from_columns([
        fc.numeric_column("fare"),
        fc.categorical_column_with_hash_bucket("company", 64),
        fc.categorical_column_with_identity("trip_start_hour", 24),
        quantile_buckets(fc.numeric_column("pickup_latitude"), num_buckets=10),
        fc.crossed_column(["pickup_latitude", fc.categorical_column_with_hash_bucket(
            "company", 64)], hash_bucket_size=100),
        expression("big_tipper", "tips > 0.2 * fare"),
    ], label="big_tipper", fill={"company": ""})
    by_name = {f.name: f for f in spec.features}
    assert by_name["fare"].transform == Passthrough()
    assert by_name["company"].transform == HashBuckets(64)
    assert by_name["trip_start_hour"].transform == Identity(24, default_value=0)
    assert by_name["company_X_pickup_latitude"].transform == Cross(
        ("pickup_latitude", "company"), 100)
    assert spec.raw_columns() == ("fare", "company", "trip_start_hour", "pickup_latitude",
                                  "tips")


@pytest.mark.parametrize("entry, message", [
    (fc.bucketized_column(fc.numeric_column("fare"), [1.0, 5.0]),
     r"feature 'fare_bucketized' \(FEATURES\[0\]\): fixed boundaries \[1.0, 5.0\] .* "
     r"quantile_buckets\('fare', num_buckets=3\)"),
    (fc.categorical_column_with_vocabulary_list("payment_type", ["Cash", "Card"]),
     r"feature 'payment_type' .*a given vocabulary .* vocabulary\('payment_type'"),
    (fc.numeric_column("fare", default_value=0.0),
     r"feature 'fare' .*`default_value`.* FILL = \{'fare': 0.0\}"),
    (fc.numeric_column("fare", shape=(2,)), r"feature 'fare' .*single-valued"),
    (fc.weighted_categorical_column(fc.categorical_column_with_hash_bucket("company", 8), "w"),
     r"feature 'company': `weight` \('w'\) is not a feature of the spec"),
    (fc.embedding_column(fc.categorical_column_with_hash_bucket("company", 8), 4, max_norm=1.0),
     r"`max_norm` \(1.0\): not kept"),
    (fc.crossed_column(["a", "b"], 10, hash_key=7), r"feature 'a_X_b' .*`hash_key`"),
    ("fare", r"FEATURES\[0\]: 'fare' is not a feature column"),
])
def test_unconvertible_columns_are_named(entry, message):
    with pytest.raises(SpecError, match=message):
        spec_from_columns([entry])


def test_cross_of_a_column_not_in_features_is_rejected():
    company = fc.categorical_column_with_hash_bucket("company", 64)
    with pytest.raises(SpecError, match=r"cross key 'company' is not an entry of FEATURES"):
        spec_from_columns([fc.crossed_column(["fare", company], 10)])
    spec_from_columns([company, fc.crossed_column(["fare", company], 10)])  # listed: fine


def test_helper_errors_name_the_feature():
    with pytest.raises(SpecError, match=r"feature 'fare': `num_buckets` \(1\) must be at least 2"):
        quantile_buckets("fare", num_buckets=1)
    with pytest.raises(SpecError, match=r"feature 'company': `num_oov_buckets` \(0\)"):
        vocabulary("company", num_oov_buckets=0)
    with pytest.raises(SpecError, match=r"feature 'big_tipper': "):
        expression("big_tipper", "tips >")
    with pytest.raises(SpecError, match=r"z_score\(...\) takes a column key"):
        z_score(fc.categorical_column_with_hash_bucket("company", 8))
    with pytest.raises(SpecError, match=r"feature 'fare_z'"):
        feature("fare_z", fc.numeric_column("fare", normalizer_fn=lambda x: x))


def test_module_errors(tmp_path):
    with pytest.raises(SpecError, match=r"(?s)'spec.py'.*defines no `FEATURES`.*\['FEATURE'\]"):
        python_spec_from_source("FEATURE = []\n", origin="spec.py")
    with pytest.raises(SpecError, match=r"`LABEL` must be a feature name"):
        python_spec_from_source("FEATURES = []\nLABEL = 3\n")
    with pytest.raises(SpecError, match=r"`label` \('tipped'\) is not a feature"):
        python_spec_from_source(textwrap.dedent("""
            from components.transform.python_spec import z_score
            LABEL = "tipped"
            FEATURES = [z_score("fare")]
        """))
    with pytest.raises(SpecError, match=r"running the module failed: NameError"):
        python_spec_from_source("FEATURES = [undefined]\n")
    path = tmp_path / "spec.py"
    path.write_text("from components.transform.python_spec import quantile_buckets\n"
                    "FEATURES = [quantile_buckets('fare', num_buckets=0)]\n")
    with pytest.raises(SpecError, match=r"(?s)spec.py.*feature 'fare': `num_buckets` \(0\)"):
        load_spec(str(path))


def test_schema_validation_names_the_column(columns):
    spec = spec_from_columns([fc.categorical_column_with_identity("company", 10),
                              fc.numeric_column("fares")])
    with pytest.raises(SpecError) as raised:
        validate_against_schema(spec, columns)
    message = str(raised.value)
    assert "feature 'company': 'identity' needs a int column" in message
    assert "feature 'fares': source column 'fares' is not a column of the schema" in message


def test_config_and_component_take_a_python_spec(tmp_path):
    py_spec = os.path.join(EXAMPLES, "transform_spec.py")
    TransformConfig(examples_uri="/e", schema_uri="/s", transformed_examples_uri="/t",
                    transform_graph_uri="/g", spec_file=py_spec)
    ir = _compile(tmp_path, spec_file=py_spec)
    parameters = ir["root"]["dag"]["tasks"]["transform-op"]["inputs"]["parameters"]
    embedded = parameters["spec_yaml"]["runtimeValue"]["constant"]
    assert parse_spec(embedded) == load_spec(os.path.join(EXAMPLES, "transform_spec.yaml"))
    bad = tmp_path / "bad.py"
    bad.write_text("import estimator_lib as el\n"
                   "FEATURES = [el.feature_column.bucketized_column("
                   "el.feature_column.numeric_column('fare'), [1.0])]\n")
    with pytest.raises(SpecError, match=r"feature 'fare_bucketized'.*fixed boundaries"):
        _compile(tmp_path, spec_file=str(bad))
