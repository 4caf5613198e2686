"""JSON and TensorProto conversions, as TF Serving's REST API and gRPC carry tensors."""

import grpc
import numpy as np
import pytest
import tensorflow as tf

from serving import ServingError, tensor_codec


def test_json_numbers_to_signature_dtype():
    array = tensor_codec.json_to_ndarray([[1, 2, 3], [4, 5, 6]], tf.float32)
    assert array.dtype == np.float32 and array.shape == (2, 3)
    assert tensor_codec.json_to_ndarray(7, tf.int64).dtype == np.int64


def test_json_strings_and_b64():
    array = tensor_codec.json_to_ndarray(["text", {"b64": "AAE="}], tf.string)
    assert array.dtype == object and list(array) == [b"text", b"\x00\x01"]
    assert tensor_codec.json_to_ndarray([], tf.string).shape == (0,)
    assert tensor_codec.json_to_ndarray("x", tf.string)[()] == b"x"


@pytest.mark.parametrize("value, dtype, match", [
    ([[1, 2], [3]], tf.float32, "ragged"),
    (["a"], tf.float32, "string 'a' for a numeric input"),
    ([1.5], tf.string, "for a string input"),
    ([{"b64": "not base64!"}], tf.string, "invalid base64"),
    ([{"x": 1}], tf.string, "must be"),
])
def test_bad_json_values(value, dtype, match):
    with pytest.raises(ServingError, match=match) as raised:
        tensor_codec.json_to_ndarray(value, dtype)
    assert raised.value.code is grpc.StatusCode.INVALID_ARGUMENT


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
