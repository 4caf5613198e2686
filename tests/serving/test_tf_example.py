"""tf.Example helpers: feature types, TF Serving's Input with context, REST's JSON examples."""

import grpc
import pytest
import tensorflow as tf

from serving import ServingError, make_example, tf_example


def _parse(serialized, spec):
    parsed = tf.io.parse_single_example(tf.constant(serialized), spec)
    return {k: v.numpy() if v.dtype == tf.string else v.numpy().item() for k, v in parsed.items()}


def test_make_example_types():
    example = make_example({"fare": 12.5, "hour": 7, "company": "Flash Cab", "x": [1.0, 2],
                            "raw": b"\x00"})
    features = example.features.feature
    assert features["fare"].float_list.value == [12.5]
    assert features["hour"].int64_list.value == [7]
    assert features["company"].bytes_list.value == [b"Flash Cab"]
    assert features["x"].float_list.value == [1.0, 2.0]  # Mixed ints and floats: floats.
    assert features["raw"].bytes_list.value == [b"\x00"]
    with pytest.raises(TypeError, match="numbers or strings"):
        make_example({"bad": [1.0, "a"]})


def test_context_is_merged_and_examples_override_it():
    proto = tf_example.make_input([{"x": 1.0}, {"x": 2.0, "country": "FR"}],
                                  context={"country": "US"})
    spec = {"x": tf.io.FixedLenFeature([], tf.float32),
            "country": tf.io.FixedLenFeature([], tf.string)}
    first, second = tf_example.serialized_examples(proto)
    assert _parse(first, spec) == {"x": 1.0, "country": b"US"}
    assert _parse(second, spec) == {"x": 2.0, "country": b"FR"}


def test_empty_input_is_invalid_argument():
    with pytest.raises(ServingError, match="Input is empty") as raised:
        tf_example.serialized_examples(tf_example.make_input([]))
    assert raised.value.code is grpc.StatusCode.INVALID_ARGUMENT


def test_json_examples():
    (serialized,) = tf_example.json_examples([{"x": 1.5, "n": 2, "s": {"b64": "AAE="}}],
                                             context={"c": "ctx"})
    spec = {"x": tf.io.FixedLenFeature([], tf.float32), "n": tf.io.FixedLenFeature([], tf.int64),
            "s": tf.io.FixedLenFeature([], tf.string), "c": tf.io.FixedLenFeature([], tf.string)}
    assert _parse(serialized, spec) == {"x": 1.5, "n": 2, "s": b"\x00\x01", "c": b"ctx"}
    with pytest.raises(ServingError, match="non-empty list"):
        tf_example.json_examples([])
    with pytest.raises(ServingError, match="must be a JSON object"):
        tf_example.json_examples([[1, 2]])


@pytest.mark.parametrize("example, match", [
    ({"a": None}, r"Feature 'a' must be numbers or strings.*received \[None\]"),
    ({"a": [[1]]}, r"Feature 'a' must be numbers or strings"),
    ({"a": 1e39}, r"examples\[0\]\['a'\]: cannot convert the JSON value 1e\+39 to float"),
    ({"a": 2**70}, r"examples\[0\]\['a'\]: Value out of range.*int64_list holds int64"),
    ({"a": ["ok", "\ud800"]}, r"examples\[0\]\['a'\]: a string is not valid Unicode"),
])
def test_json_example_values_tf_serving_refuses(example, match):
    with pytest.raises(ServingError, match=match) as raised:
        tf_example.json_examples([example])
    assert raised.value.code is grpc.StatusCode.INVALID_ARGUMENT
