"""Expression functions: what is refused (and when), and the values the transform graph
computes, checked against numpy through real TensorFlow."""

import json
import os
import textwrap

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from components.artifacts import transform_graph
from components.transform.expression import FUNCTIONS, ExpressionError, parse_expression
from components.transform.preprocessing import build_preprocessing_fn, evaluate_expression
from components.transform.schema import ColumnType, columns_of
from components.transform.spec import SpecError, parse_spec
from components.transform.spec_validation import validate_against_schema
from tests.components.transform.conftest import _run
from tests.components.transform.taxi_inputs import load_frame, make_schema, to_example

TYPES = {"fare": ColumnType.FLOAT, "trips": ColumnType.INT, "company": ColumnType.STRING}
F32_MAX = float(np.finfo(np.float32).max)


# --- Refused at parse time: needs no schema, so found when the pipeline is built. ------------


@pytest.mark.parametrize("text, error", [
    ("lg(fare)", ": unknown function 'lg' (did you mean 'log'?); the functions are abs, clip, "
                 "exp, log, log1p, max, min, pow, sqrt, where."),
    ("logp1(fare)", ": unknown function 'logp1' (did you mean 'log1p'?)"),
    ("open(fare)", ": unknown function 'open'; the functions are"),
    ("log(fare, 10)", ": log(x) takes 1 argument, got 2."),
    ("clip(fare, 0)", ": clip(x, lo, hi) takes 3 arguments, got 2."),
    ("where(fare > 0, 1)", ": where(cond, a, b) takes 3 arguments, got 2."),
    ("min(fare)", ": min(a, b, ...) takes at least 2 arguments, got 1."),
    ("pow(x=fare, y=2)", ": pow() takes positional arguments only, as in pow(x, y)."),
    ("log('fare')", ": log() needs a number for its argument x, but `'fare'` is a string."),
    ("sqrt(fare > 0)", ": sqrt() needs a number for its argument x, but `fare > 0` is a bool."),
    ("max(fare, 0, 'a')", ": max() needs a number for its argument 3, but `'a'` is a string."),
    ("where(fare, 1, 0)", ": where() needs a condition (a comparison such as `fare > 0`) for "
                          "its argument cond, but `fare` is a number or string."),
    ("where(fare > 0, 'big', 0)", ": where() needs its arguments a and b to have one type, "
                                  "but `'big'` is a string and `0` is a number."),
    ("where(fare > 0, fare > 1, fare)", "`fare > 1` is a bool and `fare` is a number or string."),
    ("where(fare > 0, 'big', 'small')", " computes a string;"),
    ("clip(fare, 10, -1)", ": clip() needs lo <= hi, got lo=10 and hi=-1."),
    ("fare.log()", ": 'fare.log()' is not allowed."),
])
def test_refused_when_parsing(text, error):
    with pytest.raises(ExpressionError) as raised:
        parse_expression(text)
    message = str(raised.value)
    assert message.startswith(repr(text)) and error in message, message


@pytest.mark.parametrize("text, error", [
    ("log(company)", "log\\(\\) needs a number for its argument x, but `company` is a string"),
    ("clip(fare, 0, company)", "clip\\(\\) needs a number for its argument hi, but `company`"),
    ("where(company, 1, 0)", "for its argument cond, but `company` is a"),
    ("where(fare > 0, company, fare)",
     "where\\(\\) needs its arguments a and b to have one type, but `company` is a string and "
     "`fare` is a number"),
    ("where(fare > 0, company, 'none')", "computes a string"),
])
def test_refused_against_the_schema(text, error):
    with pytest.raises(ExpressionError, match=error):
        parse_expression(text).result_type(TYPES)


@pytest.mark.parametrize("text, result", [
    ("log1p(fare)", "number"),
    ("pow(trips, 2) + sqrt(abs(fare))", "number"),
    ("max(fare, trips, 1) > min(fare, 0)", "bool"),
    ("where(trips > 1, fare / trips, fare)", "number"),
    ("where(fare > 10, company, 'cheap') == 'Acme'", "bool"),
    ("where(fare > 0, trips > 1, fare < -1)", "bool"),
    ("clip(fare, -1, 1)", "number"),
    ("exp(-fare)", "number"),
])
def test_types_of_valid_calls(text, result):
    expression = parse_expression(text)
    assert expression.result_type(TYPES).value == result


def test_a_column_may_share_a_function_name():
    assert parse_expression("log(log)").columns == {"log"}


def test_spec_errors_name_the_feature_and_the_argument():
    """At parse (pipeline build) for what needs no schema, at validation for the rest."""
    with pytest.raises(SpecError, match="feature 'y': 'logg\\(fare\\)': unknown function "
                                        "'logg' \\(did you mean 'log'\\?\\)"):
        parse_spec("label: y\nfeatures:\n"
                   "  - {name: y, transform: expression, expression: 'logg(fare)'}\n")
    spec = parse_spec("label: y\nfeatures:\n"
                      "  - {name: y, transform: expression, expression: 'log(company)'}\n")
    with pytest.raises(SpecError, match="feature 'y': 'log\\(company\\)': log\\(\\) needs a "
                                        "number for its argument x, but `company` is a string"):
        validate_against_schema(spec, columns_of(make_schema(load_frame(50))))


# --- Values: the ops preprocessing builds, against numpy. ------------------------------------

X = np.array([-1e30, -3, -1, -0.5, 0, 1e-6, 0.5, 1, 2.5, 88, 89, 700, 1e30], np.float32)
Y = np.array([-2, -0.5, 0, 0.5, 1, 2, 3], np.float32)


def _undefined_is_0(valid, compute):
    """The language's rule: 0 where the real result does not exist."""
    with np.errstate(all="ignore"):
        return np.where(valid, compute(), 0.0)


def _pow_reference(x, y):
    undefined = ((x < 0) & (y != np.floor(y))) | ((x == 0) & (y < 0))
    with np.errstate(all="ignore"):
        return np.where(undefined, 0.0, np.power(x, y))


# Each function's expression, and its value computed by numpy in float64 from the columns x, y.
CASES = {
    "abs": ("abs(x)", lambda x, y: np.abs(x)),
    "exp": ("exp(x)", lambda x, y: _undefined_is_0(True, lambda: np.exp(x))),
    "log": ("log(x)", lambda x, y: _undefined_is_0(x > 0, lambda: np.log(x))),
    "log1p": ("log1p(x)", lambda x, y: _undefined_is_0(x > -1, lambda: np.log1p(x))),
    "sqrt": ("sqrt(x)", lambda x, y: _undefined_is_0(x >= 0, lambda: np.sqrt(x))),
    "pow": ("pow(x, y)", _pow_reference),
    "min": ("min(x, y, 0.25)", lambda x, y: np.minimum(np.minimum(x, y), 0.25)),
    "max": ("max(x, y)", lambda x, y: np.maximum(x, y)),
    "clip": ("clip(x, -1, y)", lambda x, y: np.clip(x, -1, y)),
    "where": ("where(x > y, x - y, y * 2)", lambda x, y: np.where(x > y, x - y, y * 2)),
}


def _evaluate(text: str, columns: dict[str, np.ndarray]) -> np.ndarray:
    """`text` through `evaluate_expression` in a tf.function, as the transform graph runs it."""
    expression = parse_expression(text)
    signature = {name: tf.TensorSpec([None], tf.as_dtype(v.dtype)) for name, v in columns.items()}
    graph = tf.function(lambda c: evaluate_expression(expression, c.__getitem__),
                        input_signature=[signature])
    return graph({name: tf.constant(v) for name, v in columns.items()}).numpy()


def test_every_function_has_a_numeric_case():
    assert set(CASES) == set(FUNCTIONS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_function_values_match_numpy_and_stay_finite(name):
    text, reference = CASES[name]
    x, y = (a.ravel() for a in np.meshgrid(X, Y))
    got = _evaluate(text, {"x": x, "y": y})
    with np.errstate(over="ignore"):
        want = np.clip(reference(x.astype(np.float64), y.astype(np.float64)),
                       -F32_MAX, F32_MAX).astype(np.float32)
    assert got.dtype == np.float32 and np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)


@pytest.mark.parametrize("text, want", [
    ("log(x)", [0, 0, 0, 0, np.log(2)]),  # at x = -3, -1, -0.5, 0, 2
    ("log1p(x)", [0, 0, np.log1p(-0.5), 0, np.log1p(2)]),
    ("sqrt(x)", [0, 0, 0, 0, np.sqrt(2)]),
    ("pow(x, -1)", [-1 / 3, -1, -2, 0, 0.5]),  # pow(0, -1) is 0, like 1 / 0
    ("pow(x, 0.5)", [0, 0, 0, 0, np.sqrt(2)]),
    ("exp(x * 1000) - exp(x * 1000)", [0, 0, 0, 0, 0]),  # not inf - inf = nan
    ("exp(x * 50)", [np.exp(-150), np.exp(-50), np.exp(-25), 1, F32_MAX]),
])
def test_domain_edges_are_finite(text, want):
    got = _evaluate(text, {"x": np.array([-3, -1, -0.5, 0, 2], np.float32)})
    np.testing.assert_allclose(got, np.float32(want), rtol=1e-6)


def test_int_columns_and_string_branches():
    columns = {"n": np.array([0, 1, 2, 2**40], np.int64),
               "s": np.array([b"a", b"b", b"c", b"d"])}
    np.testing.assert_array_equal(_evaluate("where(n > 1, s, 'z') == 'c'", columns),
                                  np.array([0, 0, 1, 0], np.int64))
    np.testing.assert_allclose(_evaluate("log(n) + pow(2, n / 549755813888)", columns),
                               np.float32([1, 1, np.log(2) + 1, 40 * np.log(2) + 4]),
                               rtol=1e-6)


# --- A regression label in a YAML spec, through the transform step's own path. ---------------

REGRESSION_SPEC = textwrap.dedent("""\
    label: log_fare
    fill:
      dropoff_latitude: 41.9
    features:
      - {name: log_fare, transform: expression, expression: "log1p(fare)"}
      - {name: log_miles, transform: expression, expression: "log(trip_miles)"}
      - {name: mph, transform: expression,
         expression: "clip(trip_miles / (trip_seconds / 3600), 0, 80)"}
      - {name: tip_root, transform: expression,
         expression: "sqrt(where(fare > 0, tips / fare, -1))"}
      - {name: north, transform: expression,
         expression: "pow(abs(dropoff_latitude - 41.9) * 10, 1.5) * exp(-trip_miles)"}
      - {name: spread, transform: expression, expression: "max(fare, tips, 1) - min(fare, tips)"}
      - {name: cash_or_unknown, transform: expression,
         expression: "where(payment_type == 'Cash', 'cash', company) == 'cash'"}
      - {name: row_id, transform: passthrough}
    """)


def _expected_features(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The spec's features by numpy on the raw values as tf.Examples store them."""
    def number(name, fill=0.0):
        return frame[name].fillna(fill).to_numpy(np.float32).astype(np.float64)

    fare, tips, miles = number("fare"), number("tips"), number("trip_miles")
    seconds, latitude = number("trip_seconds"), number("dropoff_latitude", 41.9)
    with np.errstate(all="ignore"):
        speed = np.where(seconds != 0, miles / (seconds / 3600), 0.0)
        tip_share = np.where(fare > 0, tips / np.where(fare > 0, fare, 1), -1.0)
        return {
            "log_fare": np.log1p(fare),
            "log_miles": np.where(miles > 0, np.log(miles), 0.0),
            "mph": np.clip(speed, 0, 80),
            "tip_root": np.where(tip_share >= 0, np.sqrt(tip_share), 0.0),
            "north": np.power(np.abs(latitude - 41.9) * 10, 1.5) * np.exp(-miles),
            "spread": np.maximum(np.maximum(fare, tips), 1) - np.minimum(fare, tips),
            "cash_or_unknown": ((frame["payment_type"] == "Cash")
                                | (frame["company"].fillna("") == "cash")).to_numpy(np.int64),
        }


def _tfxio_inputs(frame: pd.DataFrame, schema_columns) -> dict:
    """The raw columns as TFXIO hands them to preprocessing_fn: dense `[batch, 1]` when always
    present, else a SparseTensor with the missing rows left out."""
    dtypes = {ColumnType.INT: np.int64, ColumnType.FLOAT: np.float32, ColumnType.STRING: object}
    inputs = {}
    for name, column in schema_columns.items():
        values = frame[name]
        present = values.notna().to_numpy()
        data = values[present].to_numpy(dtypes[column.type])
        if column.type is ColumnType.STRING:
            data = data.astype(str).astype(bytes)
        if present.all():
            inputs[name] = tf.constant(data.reshape(-1, 1))
        else:
            rows = np.flatnonzero(present)
            inputs[name] = tf.SparseTensor(np.stack([rows, np.zeros_like(rows)], 1),
                                           tf.constant(data), [len(frame), 1])
    return inputs


def test_regression_label_through_the_spec_and_preprocessing_fn():
    """parse_spec -> validate_against_schema -> build_preprocessing_fn, traced as a graph."""
    frame = load_frame(2000)
    columns = columns_of(make_schema(frame))
    spec = parse_spec(REGRESSION_SPEC)
    validate_against_schema(spec, columns)
    assert spec.label == "log_fare"
    preprocessing_fn = tf.function(build_preprocessing_fn(spec, columns))
    outputs = {k: v.numpy() for k, v in preprocessing_fn(_tfxio_inputs(frame, columns)).items()}
    for name, want in _expected_features(frame).items():
        assert np.isfinite(outputs[name]).all(), name
        np.testing.assert_allclose(outputs[name], want.astype(outputs[name].dtype), rtol=1e-5,
                                   atol=1e-6, err_msg=name)
    assert outputs["log_fare"].dtype == np.float32
    assert (frame["trip_miles"] <= 0).any()  # log's domain edge is exercised


@pytest.fixture(scope="module")
def regression_run(taxi_inputs, tmp_path_factory):
    """The regression spec through the transform step (Beam + tf.Transform; about 10 s)."""
    root = tmp_path_factory.mktemp("regression_run")
    spec_file = root / "transform_spec.yaml"
    spec_file.write_text(REGRESSION_SPEC)
    return _run(taxi_inputs, str(root), spec_file=str(spec_file))


def test_regression_label_through_the_transform_step_is_served_the_same(regression_run):
    run = regression_run
    train = run.inputs.train.sort_values("row_id").reset_index(drop=True)
    for name, want in _expected_features(train).items():
        np.testing.assert_allclose(run.train[name], want.astype(run.train[name].dtype),
                                   rtol=1e-5, atol=1e-6, err_msg=name)
    with open(os.path.join(run.config.transform_graph_uri, transform_graph.FEATURE_COLUMNS_FILE)) as f:
        described = json.load(f)
    assert described["label_key"] == "log_fare"
    assert described["features"]["log_fare"]["kind"] == "label"
    assert described["features"]["log_fare"]["dtype"] == "float32"
    assert "num_classes" not in described["features"]["log_fare"]
    # Serving: the graph's transform layer on raw eval examples gives the transformed rows.
    eval_ = run.inputs.eval.sort_values("row_id").reset_index(drop=True)
    examples = [_example(row) for row in eval_.to_dict("records")]
    parsed = tf.io.parse_example(tf.constant(examples), run.tft_output.raw_feature_spec())
    served = {k: v.numpy() for k, v in run.tft_output.transform_features_layer()(parsed).items()}
    order = np.argsort(served["row_id"])
    for name in _expected_features(eval_):
        np.testing.assert_allclose(served[name][order], run.eval[name], rtol=1e-6, err_msg=name)


def _example(row: dict) -> bytes:
    return to_example(row).SerializeToString()
