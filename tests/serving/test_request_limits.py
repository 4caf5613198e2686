"""Request limits on loopback: the probes of issue 17 are refused before the server spends
memory on them, with TF Serving's codes, and the server keeps serving.

The running server (conftest `server`) has the default limits. Memory is the peak resident
set of this process, which holds the server, measured around each probe.
"""

import json

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from serving import RequestLimits, ServerOptions, ServingError
from tests.serving.helpers import TIMEOUT_S, Stubs, peak_rss_growth_mb, rest, tensor_proto

MAX_GROWTH_MB = 200  # Generous: the refused probes cost a few MB; unbounded cost GBs.
X = np.array([[1, 2, 3]], np.float32)


@pytest.fixture(scope="module")
def stubs(server):
    opened = Stubs(server.grpc_address)
    yield opened
    opened.close()


def _request(signature="single", **inputs):
    request = predict_pb2.PredictRequest()
    request.model_spec.name, request.model_spec.signature_name = "toy", signature
    for name, proto in inputs.items():
        request.inputs[name].CopyFrom(proto)
    return request


def _refused(stubs, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        stubs.prediction.Predict(request, timeout=TIMEOUT_S)
    return raised.value


def _still_serves(stubs):
    response = stubs.prediction.Predict(_request(x=tf.make_tensor_proto(X)), timeout=TIMEOUT_S)
    assert tf.make_ndarray(response.outputs["y"]).tolist() == [[12.0]]  # Version 2: 2 * 6.


def test_defaults_and_validation():
    limits = RequestLimits()
    assert (limits.max_request_bytes, limits.max_request_elements) == (16 * 2**20, 2 * 2**20)
    assert ServerOptions().request_limits == limits
    for kwargs, match in (({"max_request_bytes": 0}, "positive integer"),
                          ({"max_request_elements": 1.5}, "positive integer"),
                          ({"max_request_bytes": 2**31}, "below 2 GiB")):
        with pytest.raises(ValueError, match=match):
            RequestLimits(**kwargs)
    with pytest.raises(TypeError, match="must be serving.RequestLimits"):
        ServerOptions(request_limits={"max_request_bytes": 1})


@pytest.mark.parametrize("shape", [[12_500_000, 8], [25_000_000, 9]])
def test_grpc_claimed_shape_is_refused_before_it_is_expanded(stubs, shape):
    """The probe: a ~40-byte request claiming shape [12.5M, 8] with one value."""
    request = _request(x=tensor_proto(tf.float32, shape, float_val=[1.0]))
    assert request.ByteSize() < 64

    error, growth = peak_rss_growth_mb(lambda: _refused(stubs, request))
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    count = shape[0] * shape[1]
    assert f"input 'x' has shape {shape}, {count:,} elements" in error.details()
    assert "at most 2,097,152 tensor elements per request" in error.details()
    assert "max_request_elements" in error.details()
    assert growth < MAX_GROWTH_MB, f"the refused claim cost {growth:.0f} MB"
    _still_serves(stubs)


def test_grpc_elements_are_counted_over_all_inputs(stubs):
    half = RequestLimits().max_request_elements // 2 + 1
    request = _request("serving_default", x=tensor_proto(tf.float32, [half, 1], float_val=[1.0]),
                       tag=tensor_proto(tf.string, [half], string_val=[b"a"]))
    error = _refused(stubs, request)
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert f"(after {half:,} in the inputs before it)" in error.details()


def test_grpc_padding_a_long_string_is_bounded_by_bytes(stubs):
    """One 1 MiB string claimed a thousand times would be a GB once TF expands it."""
    request = _request("serving_default", x=tensor_proto(tf.float32, [1000, 3], float_val=[1.0]),
                       tag=tensor_proto(tf.string, [1000], string_val=[b"a" * 2**20]))
    error, growth = peak_rss_growth_mb(lambda: _refused(stubs, request))
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "repeating its last value to fill it would add 1,047,527,424 bytes" in error.details()
    assert growth < MAX_GROWTH_MB
    _still_serves(stubs)


def test_grpc_padding_within_the_limits_is_served_as_tensorflow_reads_it(stubs):
    """TF's TensorProto: values missing at the end repeat the last one (none: zeros)."""
    request = _request(x=tensor_proto(tf.float32, [3, 3], float_val=[1.0, 2.0]))
    response = stubs.prediction.Predict(request, timeout=TIMEOUT_S)
    # x = [[1, 2, 2], [2, 2, 2], [2, 2, 2]]; version 2 answers 2 * sum per row.
    assert tf.make_ndarray(response.outputs["y"]).tolist() == [[10.0], [12.0], [12.0]]
    response = stubs.prediction.Predict(_request(x=tensor_proto(tf.float32, [2, 3])), timeout=TIMEOUT_S)
    assert tf.make_ndarray(response.outputs["y"]).tolist() == [[0.0], [0.0]]


@pytest.mark.parametrize("proto, match", [
    (tensor_proto(tf.float32, [1, 3], float_val=[1.0] * 4), "4 entries in float_val are more than"),
    (tensor_proto(tf.float32, [1, 3], tensor_content=b"\0" * 8), "needs 12 bytes of tensor_content"),
    (tensor_proto(tf.float32, [1, -3], float_val=[1.0]), "negative dimension"),
    (tensor_proto(tf.int64, [1, 3], int64_val=[1]), "to be float but int64 is provided"),
    (tensor_proto(tf.float32, [1, 4], float_val=[1.0]), "has shape [1, 4] but the signature expects"),
])
def test_grpc_malformed_claims_are_invalid_argument(stubs, proto, match):
    error = _refused(stubs, _request(x=proto))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert match in error.details()


def test_grpc_message_over_max_request_bytes(stubs):
    count = RequestLimits().max_request_bytes // 4 // 3 + 1
    x = np.ones([count, 3], np.float32)
    error = _refused(stubs, _request(x=tf.make_tensor_proto(x)))
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in error.details()  # gRPC's own check, before any parsing.
    _still_serves(stubs)


def test_rest_20mb_list_is_refused_unread(server):
    """The probe: a 20 MB JSON list (TF Serving would parse all of it)."""
    row = b"[0.5,0.5,0.5],"
    body = (b'{"signature_name":"single","instances":[' + row * (20_000_000 // len(row))
            + b"[1,1,1]]}")
    assert len(body) > 20_000_000
    (status, answer), growth = peak_rss_growth_mb(
        lambda: rest(server.rest_url, "/v1/models/toy:predict", raw=body, method="POST"))
    assert status == 413
    assert "this server takes at most 16,777,216 bytes per request" in answer["error"]
    assert growth < MAX_GROWTH_MB, f"the refused body cost {growth:.0f} MB"
    assert rest(server.rest_url, "/v1/models/toy/versions/2:predict",
                {"signature_name": "single", "instances": [[1, 2, 3]]}) == (
                    200, {"predictions": [[12.0]]})


def test_rest_expect_100_continue_is_refused_before_the_upload(server):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server.rest_port, timeout=20)
    try:
        connection.putrequest("POST", "/v1/models/toy:predict")
        connection.putheader("Content-Length", str(20_000_000))
        connection.putheader("Expect", "100-continue")
        connection.endheaders()  # No body sent: the server answers from the headers.
        response = connection.getresponse()
        assert response.status == 413
        assert "has 20,000,000 bytes" in json.loads(response.read())["error"]
    finally:
        connection.close()
    body = json.dumps({"signature_name": "single", "instances": [[1, 2, 3]]}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", server.rest_port, timeout=20)
    try:  # A body within the limit: 100 Continue, then the answer.
        connection.putrequest("POST", "/v1/models/toy/versions/1:predict")
        connection.putheader("Content-Length", str(len(body)))
        connection.putheader("Expect", "100-continue")
        connection.endheaders(body)
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())) == (200, {"predictions": [[6.0]]})
    finally:
        connection.close()


def test_rest_elements_over_the_limit(server):
    """Under the byte limit, over the element limit: refused before it is converted."""
    count = RequestLimits().max_request_elements + 3
    body = b'{"signature_name":"single","inputs":[' + b"1," * (count - 1) + b"1]}"
    (status, answer), growth = peak_rss_growth_mb(
        lambda: rest(server.rest_url, "/v1/models/toy:predict", raw=body, method="POST"))
    assert status == 413
    assert f"input 'x' has shape [{count}], {count:,} elements" in answer["error"]
    assert growth < MAX_GROWTH_MB


def test_rest_json_containers_are_counted_before_parsing(server):
    count = RequestLimits().max_request_elements
    body = b'{"signature_name":"single","inputs":[' + b"[]," * count + b"[]]}"
    (status, answer), growth = peak_rss_growth_mb(
        lambda: rest(server.rest_url, "/v1/models/toy:predict", raw=body, method="POST"))
    assert status == 413
    # The object, the outer list and count + 1 empty lists.
    assert f"The JSON body has {count + 3:,} '[' and '{{' characters" in answer["error"]
    assert growth < MAX_GROWTH_MB


def test_limits_apply_to_the_api_without_sockets():
    from serving.rest_api import RestApi

    api = RestApi(manager=None, limits=RequestLimits(max_request_bytes=100))
    status, answer = api.handle("POST", "/v1/models/toy:predict",
                                json.dumps({"instances": [[0.0] * 40]}).encode())
    assert status == 413 and "at most 100 bytes" in answer["error"]


def test_element_budget_error_is_resource_exhausted_and_413():
    budget = RequestLimits(max_request_elements=5).element_budget()
    budget.take(5, "input 'a'", [5])
    with pytest.raises(ServingError) as raised:
        budget.take(1, "input 'b'", [1])
    assert raised.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert raised.value.http_status == 413


def test_server_options_set_both_front_ends(toy_base):
    from serving import ModelConfig, ModelServer

    limits = RequestLimits(max_request_bytes=2000, max_request_elements=9)
    options = ServerOptions(port=0, rest_port=0, file_system_poll_wait_seconds=0,
                            request_limits=limits)
    with ModelServer([ModelConfig("toy", str(toy_base))], options=options) as server:
        stubs = Stubs(server.grpc_address)
        try:
            _still_serves(stubs)
            error = _refused(stubs, _request(x=tf.make_tensor_proto(np.ones([4, 3], np.float32))))
            assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "at most 9 tensor elements" in error.details()
            error = _refused(stubs, _request(x=tensor_proto(tf.float32, [1, 3],
                                                      tensor_content=b"\0" * 2400)))
            assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED  # gRPC: over 2000 bytes.
        finally:
            stubs.close()
        status, answer = rest(server.rest_url, "/v1/models/toy:predict",
                              {"signature_name": "single", "instances": [[1, 2, 3]] * 4})
        assert status == 413 and "at most 9 tensor elements" in answer["error"]
        status, answer = rest(server.rest_url, "/v1/models/toy:predict",
                              {"signature_name": "single", "instances": [[1.5, 2.5, 3.5]] * 200})
        assert status == 413 and "at most 2,000 bytes" in answer["error"]
