"""JSON and TensorProto conversions, as TF Serving's REST API and gRPC carry tensors."""

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2

from serving import RequestLimits, ServingError, tensor_codec
from tests.serving.helpers import tensor_proto


def test_json_numbers_to_signature_dtype():
    array = tensor_codec.json_to_tensor([[1, 2, 3], [4, 5, 6]], tf.float32).numpy()
    assert array.dtype == np.float32 and array.shape == (2, 3)
    assert tensor_codec.json_to_tensor(7, tf.int64).dtype == tf.int64


def test_json_strings_and_b64():
    array = tensor_codec.json_to_tensor(["text", {"b64": "AAE="}], tf.string).numpy()
    assert array.dtype == object and list(array) == [b"text", b"\x00\x01"]
    assert tensor_codec.json_to_tensor([], tf.string).shape == (0,)
    assert tensor_codec.json_to_tensor("x", tf.string).numpy() == b"x"
    assert tensor_codec.json_to_tensor([["é", "a"]], tf.string).numpy().tolist() == [
        ["é".encode(), b"a"]]


@pytest.mark.parametrize("value, dtype, match", [
    # Each value TF Serving's json_tensor.cc refuses for the input's type.
    ([[1.0, None, 3.0]], tf.float32, r"received null at \[0\]\[1\] where a number is expected"),
    ([1.0, True], tf.float32, r"received true at \[1\] where a number"),
    ([False], tf.float64, r"received false at \[0\] where a number.*is double"),
    (["a"], tf.float32, r"received the string \"a\" at \[0\] where a number"),
    (["1.5"], tf.float32, r"the string \"1.5\""),
    ([{"b64": "AAE="}], tf.float32, r"the object \{\"b64\": \"AAE=\"\}"),
    ([16777217], tf.float32, "16777217 to float without loss of precision"),
    ([1e39], tf.float32, "1e\\+39 to float without loss of precision"),
    ([2**53 + 1], tf.float64, "to double without loss of precision"),
    ([1.5], tf.int64, r"received the number 1.5 at \[0\] where a whole number"),
    ([2.0], tf.int32, "where a whole number"),  # TF Serving: a JSON double is no int.
    ([None], tf.int64, "received null"),
    ([True], tf.int32, "received true"),
    ([300], tf.uint8, r"300 is out of the range of uint8 \[0, 255\]"),
    ([2**63], tf.int64, "out of the range of int64"),
    ([-1], tf.uint64, "out of the range of uint64"),
    ([1], tf.bool, "received the number 1 at \\[0\\] where true or false"),
    ([None], tf.string, "received null at \\[0\\] where text or"),
    ([1.5], tf.string, "the number 1.5"),
    (None, tf.float32, "received null where a number"),
    ([[1, 2], [3]], tf.float32, r"ragged; at \[1\] found a list of 1 where a list of 2"),
    ([[1, 2], 3], tf.float32, r"ragged; at \[1\] found the number 3 where a list of 2"),
    ([1, [2]], tf.float32, r"received a nested list \[2\] at \[1\]"),
    ([[[1], [2]], [[1], [2, 3]]], tf.float32, r"at \[1\]\[1\] found a list of 2"),
    ([{"b64": "not base64!"}], tf.string, "invalid base64"),
    ([{"x": 1}], tf.string, "must be"),
    (["a", "\ud800"], tf.string, r"the string \"\\ud800\" at \[1\] is not valid Unicode"),
    ([1], tf.complex64, "cannot carry complex64 as JSON"),
])
def test_bad_json_values(value, dtype, match):
    with pytest.raises(ServingError, match=match) as raised:
        tensor_codec.json_to_tensor(value, dtype, "input 'x'")
    assert raised.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.message.startswith("input 'x': ")


def test_json_values_tf_serving_takes():
    np.testing.assert_array_equal(
        tensor_codec.json_to_tensor([16777215, -16777215, 2.5], tf.float32).numpy(),
        np.array([16777215, -16777215, 2.5], np.float32))
    special = tensor_codec.json_to_tensor([float("nan"), float("inf"), -float("inf")],
                                          tf.float32).numpy()
    assert np.isnan(special[0]) and special[1:].tolist() == [np.inf, -np.inf]
    assert tensor_codec.json_to_tensor([255, 0], tf.uint8).numpy().tolist() == [255, 0]
    assert tensor_codec.json_to_tensor([True, False], tf.bool).dtype == tf.bool
    assert tensor_codec.json_to_tensor([[]], tf.float32).shape == (1, 0)
    assert tensor_codec.json_to_tensor({"b64": "AAE="}, tf.string).numpy() == b"\x00\x01"


def test_json_lists_deeper_than_tensorflow_rank():
    value = 1.0
    for _ in range(tensor_codec.MAX_RANK + 1):
        value = [value]
    with pytest.raises(ServingError, match="nest deeper than 254 levels"):
        tensor_codec.json_to_tensor(value, tf.float32)


def test_json_element_budget_is_taken_before_converting():
    budget = RequestLimits(max_request_elements=10).element_budget()
    tensor_codec.json_to_tensor([[1, 2, 3], [4, 5, 6]], tf.float32, "input 'x'", budget)
    with pytest.raises(ServingError, match=r"input 'y' has shape \[5\], 5 elements \(after 6"
                       ) as raised:
        # Strings that would fail to convert: the budget refuses first.
        tensor_codec.json_to_tensor([None] * 5, tf.string, "input 'y'", budget)
    assert raised.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert raised.value.http_status == 413


@pytest.mark.parametrize("proto, match", [
    (tensor_proto(tf.float32, [2, 3], float_val=[1.0] * 7), "7 entries in float_val are more than"),
    (tensor_proto(tf.float32, [2, 3], tensor_content=b"\0" * 20), "needs 24 bytes of tensor_content"),
    (tensor_proto(tf.float32, [12_500_000, 8], tensor_content=b"\0" * 4), "needs 400,000,000 bytes"),
    (tensor_proto(tf.float32, [2, -3], float_val=[1.0]), "negative dimension"),
    (tensor_proto(tf.string, [1], tensor_content=b"ab"), "cannot use tensor_content"),
    (tensor_proto(tf.complex64, [1], scomplex_val=[1.0]), "needs 2 entries per element"),
    (tensor_proto(tf.resource, [1]), "does not take as input"),
])
def test_tensor_proto_claims_must_be_backed(proto, match):
    with pytest.raises(ServingError, match=match) as raised:
        tensor_codec.check_tensor_proto(proto, "input 'x'")
    assert raised.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "input 'x'" in raised.value.message


def test_tensor_proto_padding_is_legal_as_in_tensorflow():
    """TF pads missing values with the last one (none: zeros); the claim is only counted."""
    proto = tensor_proto(tf.float32, [12_500_000, 8], float_val=[1.5])
    assert tensor_codec.check_tensor_proto(proto) == (tf.float32, [12_500_000, 8])
    small = tensor_proto(tf.float32, [2, 2], float_val=[1.0, 2.0])
    np.testing.assert_array_equal(tensor_codec.to_ndarray(small), [[1, 2], [2, 2]])
    assert tensor_codec.to_ndarray(tensor_proto(tf.int64, [3])).tolist() == [0, 0, 0]
    unknown = tensor_pb2.TensorProto(dtype=tf.float32.as_datatype_enum)
    unknown.tensor_shape.unknown_rank = True
    with pytest.raises(ServingError, match="unknown rank"):
        tensor_codec.check_tensor_proto(unknown)


def test_ndarray_to_json():
    assert tensor_codec.ndarray_to_json(np.array([[1.5, 2.0]], np.float32)) == [[1.5, 2.0]]
    strings = np.array([b"ok", b"\xff"], dtype=object)
    assert tensor_codec.ndarray_to_json(strings, "labels") == ["ok", {"b64": "/w=="}]
    assert tensor_codec.ndarray_to_json(np.array([b"ok"], object), "image_bytes") == [{"b64": "b2s="}]


def test_tensor_proto_round_trip():
    for value in (np.arange(6, dtype=np.float32).reshape(2, 3),
                  np.array([b"a", b"bc"], dtype=object), np.array([True, False])):
        back = tensor_codec.to_ndarray(tensor_codec.to_tensor_proto(value))
        np.testing.assert_array_equal(back, value)


def test_http_status_follows_tf_serving():
    assert ServingError(grpc.StatusCode.NOT_FOUND, "x").http_status == 404
    assert ServingError(grpc.StatusCode.INVALID_ARGUMENT, "x").http_status == 400
    assert ServingError(grpc.StatusCode.FAILED_PRECONDITION, "x").http_status == 400
    assert ServingError(grpc.StatusCode.UNAVAILABLE, "x").http_status == 503
