"""The declarative spec: parsing, and errors that name the feature and the problem."""

import os
import textwrap

import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from components.transform.schema import ColumnType, columns_of, load_schema
from components.transform.spec import FeatureSpec, SpecError, TransformSpec, parse_spec
from components.transform.spec_loading import load_spec
from components.transform.spec_validation import validate_against_schema
from components.transform.transforms import Bucketize, Cross, Vocabulary, ZScore
from tests.components.transform.conftest import TEST_SPEC
from tests.components.transform.taxi_inputs import load_frame, make_schema

EXAMPLE_SPEC = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples",
                            "chicago_taxi", "transform_spec.yaml")


@pytest.fixture(scope="module")
def columns():
    return columns_of(make_schema(load_frame(500)))


def _spec(features: str, extra: str = "") -> str:
    return textwrap.dedent(extra) + "features:\n" + textwrap.indent(textwrap.dedent(features), "  ")


@pytest.mark.parametrize("path", [EXAMPLE_SPEC, TEST_SPEC])
def test_shipped_specs_parse_and_fit_the_taxi_schema(path, columns):
    spec = load_spec(path)
    validate_against_schema(spec, columns)
    assert spec.label == "big_tipper"


def test_example_spec_structure():
    spec = load_spec(EXAMPLE_SPEC)
    assert spec.feature("pickup_latitude").transform == Bucketize(num_buckets=10)
    assert spec.feature("pickup_cell").transform == Cross(
        inputs=("pickup_latitude", "pickup_longitude"), hash_buckets=100)
    assert spec.feature("company").transform == Vocabulary(
        top_k=1000, frequency_threshold=2, num_oov_buckets=10)
    assert spec.fill["company"] == ""
    assert "tips" in spec.raw_columns() and "tips" not in spec.serving_raw_columns


def test_source_defaults_to_the_feature_name():
    assert FeatureSpec("fare", ZScore()).source == "fare"
    assert FeatureSpec("z", ZScore(), source="fare").inputs == ("fare",)


def test_cross_inputs_resolve_through_features_to_raw_columns():
    spec = parse_spec(_spec("""\
        - {name: lat, source: pickup_latitude, transform: bucketize, num_buckets: 4}
        - {name: cell, transform: cross, inputs: [lat, company], hash_buckets: 10}
    """))
    assert spec.raw_columns([spec.feature("cell")]) == ("pickup_latitude", "company")


@pytest.mark.parametrize("features, error", [
    ("- {name: fare, transform: zscore}",
     "feature 'fare': unknown transform 'zscore'; expected one of .*did you mean 'z_score'"),
    ("- {name: company, transform: vocabulary, topk: 3}",
     "feature 'company': unknown parameter 'topk' for transform 'vocabulary'.*did you mean "
     "'top_k'"),
    ("- {name: fare, transform: bucketize}",
     "feature 'fare': transform 'bucketize' needs the parameter\\(s\\) \\['num_buckets'\\]"),
    ("- {name: fare, transform: bucketize, num_buckets: 1}",
     "feature 'fare': `num_buckets` \\(1\\) must be at least 2"),
    ("- {name: fare, transform: bucketize, num_buckets: 2.5}",
     "feature 'fare': `num_buckets` must be an integer, got 2.5"),
    ("- {name: fare, transform: bucketize, num_buckets: true}",
     "`num_buckets` must be an integer, got True"),
    ("- {name: company, transform: vocabulary, top_k: 0}", "`top_k` \\(0\\) must be at least 1"),
    ("- {name: company, transform: vocabulary, num_oov_buckets: 0}",
     "`num_oov_buckets` \\(0\\) must be at least 1 so that every id is in \\[0, num_buckets\\)"),
    ("- {name: fare, transform: min_max, output_min: 1, output_max: 1}",
     "`output_min` \\(1\\) must be less than `output_max` \\(1\\)"),
    ("- {name: hour, transform: identity, num_buckets: 24, default_value: 24}",
     "`default_value` \\(24\\) must be less than `num_buckets` \\(24\\)"),
    ("- {name: c, transform: cross, inputs: [company], hash_buckets: 5}",
     "`inputs` \\(\\['company'\\]\\) must name at least two"),
    ("- {name: c, transform: cross, inputs: [a, b], hash_buckets: 5, source: a}",
     "`source` \\('a'\\) does not apply to the 'cross' transform, which reads its `inputs`"),
    ("- {name: e, transform: expression, expression: 'open(\"/etc/passwd\")'}",
     "feature 'e': .*unknown function 'open'"),
    ("- {name: e, transform: expression, expression: '1 > 0'}", "reads no column"),
    ("- {name: 'bad name', transform: z_score}", "`name` \\('bad name'\\) must be a name"),
    ("- {name: fare, transform: z_score}\n- {name: fare, transform: min_max}",
     "feature 'fare': defined more than once"),
    ("- {name: a, transform: cross, inputs: [b, company], hash_buckets: 5}\n"
     "- {name: b, transform: cross, inputs: [a, company], hash_buckets: 5}",
     "feature 'a': its cross inputs form a cycle \\(a -> b -> a\\)"),
    ("- fare", "features\\[0\\]: must be a mapping with `name` and `transform`"),
])
def test_structural_errors_name_the_feature_and_the_problem(features, error):
    with pytest.raises(SpecError, match=error):
        parse_spec(_spec(features))


@pytest.mark.parametrize("text, error", [
    ("features: [", "not valid YAML"),
    ("- a\n- b", "must be a mapping with `features`"),
    ("feature:\n  - {name: fare, transform: z_score}",
     "unknown top-level key 'feature'.*did you mean 'features'"),
    ("features: []", "`features` is empty"),
    ("label: tip\nfeatures:\n  - {name: tips, transform: z_score}",
     "`label` \\('tip'\\) is not a feature of the spec.*did you mean 'tips'"),
    ("version: 2\nfeatures:\n  - {name: tips, transform: z_score}", "`version` \\(2\\)"),
])
def test_top_level_errors(text, error):
    with pytest.raises(SpecError, match=error):
        parse_spec(text)


def test_every_problem_is_reported_at_once():
    with pytest.raises(SpecError) as raised:
        parse_spec(_spec("""\
            - {name: a, transform: zscore}
            - {name: b, transform: bucketize, num_buckets: 0}
            - {name: c, transform: hash}
        """), origin="spec.yaml")
    assert len(raised.value.problems) == 3
    assert str(raised.value).startswith("Invalid transform spec 'spec.yaml':\n  - feature 'a'")


@pytest.mark.parametrize("features, extra, error", [
    ("- {name: farez, transform: z_score}", "",
     "feature 'farez': source column 'farez' is not a column of the schema \\(did you mean "
     "'fare'\\?\\)"),
    ("- {name: company, transform: z_score}", "",
     "feature 'company': 'z_score' needs a float/int column, but 'company' is a string column"),
    ("- {name: fare, transform: vocabulary}", "",
     "'vocabulary' needs a int/string column, but 'fare' is a float column"),
    ("- {name: company, transform: identity, num_buckets: 3}", "",
     "'identity' needs a int column, but 'company' is a string column"),
    ("- {name: c, transform: cross, inputs: [fare, company], hash_buckets: 9}", "",
     "'cross' needs a int/string column, but 'fare' is a float column. Bucketize it first"),
    ("- {name: z, source: fare, transform: z_score}\n"
     "- {name: c, transform: cross, inputs: [z, company], hash_buckets: 9}", "",
     "feature 'c': cross input 'z' is a 'z_score' feature; crosses take categorical features"),
    ("- {name: e, transform: expression, expression: 'tips > 0.2 * fares'}", "",
     "feature 'e': the expression reads 'fares', which is not a column of the schema"),
    ("- {name: e, transform: expression, expression: 'company > payment_type'}", "",
     "feature 'e': .*'>' needs numbers"),
    ("- {name: company, transform: hash, hash_buckets: 8}", "fill:\n  company: 0\n",
     "`fill` for 'company': 0 must be a string for a string column"),
    ("- {name: trip_seconds, transform: z_score}", "fill:\n  trip_seconds: 1.5\n",
     "`fill` for 'trip_seconds': 1.5 must be an integer for an int column"),
    ("- {name: company, transform: hash, hash_buckets: 8}", "fill:\n  company: mean\n",
     "`fill` for 'company': 'mean' needs a numeric column"),
    ("- {name: fare, transform: z_score}", "fill:\n  fares: 0\n",
     "`fill` for 'fares': not a column of the schema \\(did you mean 'fare'\\?\\)"),
    ("- {name: fare, transform: z_score}", "fill:\n  tips: 0\n",
     "`fill` for 'tips': no feature reads this column"),
])
def test_schema_errors_name_the_feature_and_the_problem(features, extra, error, columns):
    spec = parse_spec(_spec(features, extra))
    with pytest.raises(SpecError, match=error):
        validate_against_schema(spec, columns)


def test_multivalent_columns_are_refused():
    schema = text_format.Parse("""
        feature { name: "tags" type: BYTES value_count { min: 1 max: 5 } }
    """, schema_pb2.Schema())
    columns = columns_of(schema)
    assert columns["tags"].type is ColumnType.STRING and not columns["tags"].scalar
    with pytest.raises(SpecError, match="'tags' may hold several values per example"):
        validate_against_schema(parse_spec(_spec("- {name: tags, transform: hash, "
                                                 "hash_buckets: 4}")), columns)


def test_spec_objects_validate_at_construction():
    with pytest.raises(TypeError, match="`transform` must be one of"):
        FeatureSpec("fare", "z_score")
    with pytest.raises(SpecError, match="`label` \\('y'\\) is not a feature"):
        TransformSpec((FeatureSpec("fare", ZScore()),), label="y")


def test_load_schema_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No schema at"):
        load_schema(str(tmp_path))
    (tmp_path / "schema.pbtxt").write_text("feature { nam: 'x' }")
    with pytest.raises(ValueError, match="is not a tensorflow_metadata Schema text proto"):
        load_schema(str(tmp_path))
