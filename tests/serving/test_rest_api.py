"""REST API as TF Serving's: status, metadata, predict (row and columnar), classify,
regress, and errors with TF Serving's HTTP statuses."""

import base64

import numpy as np
import pytest

from tests.serving import models
from tests.serving.helpers import rest


@pytest.fixture(scope="module")
def url(server):
    return server.rest_url


@pytest.fixture(scope="module")
def taxi_examples():
    return [models.taxi_example(row) for _, row in models.taxi_rows(4).iterrows()]


def test_model_status(url):
    status, body = rest(url, "/v1/models/toy")
    assert status == 200
    assert body == {"model_version_status": [
        {"version": v, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        for v in ("2", "1")]}
    assert rest(url, "/v1/models/toy/versions/1")[1]["model_version_status"][0]["version"] == "1"
    assert rest(url, "/v1/models/toy/labels/stable")[1]["model_version_status"][0]["version"] == "1"


def test_metadata(url, taxi_version):
    status, body = rest(url, "/v1/models/taxi/metadata")
    assert status == 200
    assert body["model_spec"] == {"name": "taxi", "signature_name": "", "version": str(taxi_version)}
    signatures = body["metadata"]["signature_def"]["signature_def"]
    assert signatures["classification"]["method_name"] == "tensorflow/serving/classify"
    assert signatures["predict"]["inputs"]["examples"]["dtype"] == "DT_STRING"


def test_predict_row_format(url):
    status, body = rest(url, "/v1/models/toy:predict", {"instances": [
        {"x": [1, 2, 3], "tag": "ab"}, {"x": [1, 1, 1], "tag": {"b64": "AAE="}}]})
    assert status == 200
    first, second = body["predictions"]
    assert first == {"y": [12.0], "tag_length": 2, "tag_bytes": {"b64": "YWI="}}
    assert second["tag_length"] == 2 and second["y"] == [6.0]


def test_predict_row_format_single_input_and_output(url):
    status, body = rest(url, "/v1/models/toy/versions/1:predict",
                        {"signature_name": "single", "instances": [[1, 2, 3], [0, 0, 1]]})
    assert (status, body) == (200, {"predictions": [[6.0], [1.0]]})


def test_predict_columnar_format(url):
    status, body = rest(url, "/v1/models/toy/labels/canary:predict",
                        {"inputs": {"x": [[1, 2, 3]], "tag": ["abc"]}})
    assert status == 200
    assert body["outputs"]["y"] == [[12.0]] and body["outputs"]["tag_length"] == [3]
    status, body = rest(url, "/v1/models/toy:predict",
                        {"signature_name": "single", "inputs": [[1, 2, 3]]})
    assert (status, body) == (200, {"outputs": [[12.0]]})


def test_predict_serialized_examples_as_b64(url, taxi_examples):
    from serving import make_example

    serialized = [make_example(e).SerializeToString() for e in taxi_examples]
    status, body = rest(url, "/v1/models/taxi:predict", {
        "signature_name": "predict",
        "instances": [{"b64": base64.b64encode(s).decode()} for s in serialized]})
    assert status == 200
    assert len(body["predictions"]) == len(taxi_examples)
    assert body["predictions"][0]["all_classes"] == ["0", "1"]


def test_classify_and_regress_equal_grpc(url, client, taxi_examples):
    status, body = rest(url, "/v1/models/taxi:classify", {"examples": taxi_examples})
    assert status == 200
    expected = client.classify("taxi", taxi_examples)
    assert [[label for label, _ in item] for item in body["result"]] == [["0", "1"]] * 4
    np.testing.assert_allclose([[s for _, s in item] for item in body["result"]],
                               [[s for _, s in item] for item in expected], rtol=1e-5)
    status, body = rest(url, "/v1/models/taxi:regress",
                        {"signature_name": "regression", "examples": taxi_examples})
    assert status == 200
    np.testing.assert_allclose(body["result"], client.regress("taxi", taxi_examples), rtol=1e-5)


def test_classify_with_context(url, taxi_examples):
    shared = {"company": taxi_examples[0]["company"]}
    own = [{k: v for k, v in e.items() if k != "company"} for e in taxi_examples]
    with_context = rest(url, "/v1/models/taxi:classify", {"context": shared, "examples": own})
    merged = rest(url, "/v1/models/taxi:classify",
                  {"examples": [{**e, **shared} for e in own]})
    assert with_context == merged and with_context[0] == 200


@pytest.mark.parametrize("method, path, body, status, message", [
    ("GET", "/v1/models/nope", None, 404, "not served"),
    ("POST", "/v1/models/nope:predict", {"instances": [1]}, 404, "not served"),
    ("POST", "/v1/models/toy/versions/9:predict", {"instances": [1]}, 404, "Specific(toy, 9)"),
    ("POST", "/v1/models/toy/versions/x:predict", {"instances": [1]}, 400, "Failed to convert version"),
    ("GET", "/v1/models/toy/versions/9", None, 404, "Could not find version 9"),
    ("POST", "/v1/models/toy/labels/beta:predict", {"instances": [1]}, 400, "Unrecognized servable version label"),
    ("POST", "/v1/models/..%2Ftoy:predict", {"instances": [1]}, 404, "not served"),
    ("GET", "/v2/models/toy", None, 404, "Malformed request"),
    ("GET", "/v1/models/toy:predict", None, 405, "takes POST"),
    ("POST", "/v1/models/toy:predict", {}, 400, "Missing 'inputs' or 'instances'"),
    ("POST", "/v1/models/toy:predict", {"instances": [], "inputs": []}, 400, "Both 'inputs' and 'instances'"),
    ("POST", "/v1/models/toy:predict", {"instances": [[1, 2, 3]]}, 400, "has 2 inputs"),
    ("POST", "/v1/models/toy:predict", {"instances": [{"x": [1, 2, 3]}]}, 400, "Missing but required: ['tag']"),
    ("POST", "/v1/models/toy:predict", {"instances": [{"x": [1, 2], "tag": "a"}]}, 400, "has shape [1, 2]"),
    ("POST", "/v1/models/toy:predict", {"instances": [{"x": [1, 2, 3], "tag": "a"}, {"x": [1, 2, 3]}]}, 400, "same inputs"),
    ("POST", "/v1/models/toy:predict", {"instances": [{"x": ["a", "b", "c"], "tag": "a"}]}, 400, "received the string \"a\" at [0][0] where a number is expected"),
    ("POST", "/v1/models/toy:predict", {"signature_name": "mean", "instances": [[1, 2, 3]]}, 400, "Use the columnar format"),
    # TF Serving's type checks: null and booleans are no numbers (issue 17, item 8).
    ("POST", "/v1/models/toy:predict", {"instances": [{"x": [1, None, 3], "tag": "a"}]}, 400, "input 'x': received null at [0][1] where a number is expected; the input is float"),
    ("POST", "/v1/models/toy:predict", {"instances": [{"x": [1, True, 3], "tag": "a"}]}, 400, "input 'x': received true at [0][1] where a number"),
    ("POST", "/v1/models/toy:predict", {"inputs": {"x": [[1, 2, 3]], "tag": [None]}}, 400, "input 'tag': received null at [0] where text or"),
    ("POST", "/v1/models/toy:predict", {"inputs": {"x": [[1, 2, 3], [4, 5]], "tag": ["a", "b"]}}, 400, "input 'x': the nested lists are ragged"),
    ("POST", "/v1/models/toy:predict", {"inputs": {"x": [[1, 2, 16777217]], "tag": ["a"]}}, 400, "16777217 to float without loss of precision"),
    ("POST", "/v1/models/toy:predict", {"signature_name": "nope", "instances": [1]}, 400, "Serving signature key 'nope' not found"),
    ("POST", "/v1/models/taxi:classify", {"examples": []}, 400, "non-empty list"),
    ("POST", "/v1/models/taxi:classify", {"examples": [{"trip_miles": 1.0}]}, 400, "is required but could not be found"),
    ("POST", "/v1/models/taxi:regress", {"examples": [{"fare": 1.0}]}, 400, "to be tensorflow/serving/regress"),
])
def test_errors(url, method, path, body, status, message):
    got_status, got = rest(url, path, body, method=method)
    assert got_status == status, got
    assert message in got["error"]


def test_deeply_nested_json_is_a_bad_request(url):
    """100,000 levels: 400 (not 500 RecursionError), and the server keeps serving."""
    for body in (b"[" * 100_000 + b"]" * 100_000,
                 b'{"instances":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_001):
        status, answer = rest(url, "/v1/models/toy:predict", raw=body, method="POST")
        assert status == 400
        assert answer["error"].startswith("JSON Parse error: the body nests lists or objects "
                                          "too deeply")
    nested = {"signature_name": "single", "inputs": [[[[[[1.0]]]]]]}  # Parsed, then refused.
    status, answer = rest(url, "/v1/models/toy:predict", nested)
    assert status == 400 and "has shape [1, 1, 1, 1, 1, 1]" in answer["error"]
    assert rest(url, "/v1/models/toy/versions/1:predict",
                {"signature_name": "single", "instances": [[1, 2, 3]]})[0] == 200


@pytest.mark.parametrize("method, path, allowed", [
    ("PATCH", "/v1/models/toy:predict", "POST"),
    ("PUT", "/v1/models/toy:predict", "POST"),
    ("DELETE", "/v1/models/toy", "GET"),
    ("OPTIONS", "/v1/models/toy/metadata", "GET"),
    ("POST", "/v1/models/toy", "GET"),
    ("GET", "/v1/models/toy:classify", "POST"),
])
def test_unsupported_methods_answer_405_in_json(server, method, path, allowed):
    import http.client
    import json

    connection = http.client.HTTPConnection("127.0.0.1", server.rest_port, timeout=20)
    try:
        connection.request(method, path, body=b"{}" if method != "GET" else None)
        response = connection.getresponse()
        assert response.status == 405
        assert response.getheader("Allow") == allowed
        assert response.getheader("Content-Type") == "application/json"
        assert json.loads(response.read()) == {"error": f"Method {method} is not allowed on "
                                                        f"{path}; this endpoint takes {allowed}."}
        connection.request("HEAD", "/v1/models/toy")  # No body, as HEAD requires.
        response = connection.getresponse()
        assert (response.status, response.getheader("Allow"), response.read()) == (
            405, "GET", b"")
    finally:
        connection.close()


def test_unknown_methods_and_chunked_bodies_answer_in_json(server):
    import http.client
    import json

    for method, path, headers, status in (
            ("BREW", "/v1/models/toy:predict", {}, 501),
            ("PATCH", "/v2/models/toy", {}, 404),
            ("POST", "/v1/models/toy:predict", {"Transfer-Encoding": "chunked"}, 411)):
        connection = http.client.HTTPConnection("127.0.0.1", server.rest_port, timeout=20)
        try:
            connection.putrequest(method, path)
            for key, value in headers.items():
                connection.putheader(key, value)
            connection.endheaders(b"0\r\n\r\n" if headers else None)
            response = connection.getresponse()
            assert response.status == status
            assert response.getheader("Content-Type") == "application/json"
            assert "error" in json.loads(response.read())
        finally:
            connection.close()


def test_malformed_json(url):
    status, body = rest(url, "/v1/models/toy:predict", raw=b"{not json", method="POST")
    assert status == 400 and body["error"].startswith("JSON Parse error")
    status, body = rest(url, "/v1/models/toy:predict", raw=b"[1, 2]", method="POST")
    assert status == 400 and "JSON object" in body["error"]


def test_mean_signature_works_in_columnar_format(url):
    status, body = rest(url, "/v1/models/toy/versions/1:predict",
                        {"signature_name": "mean", "inputs": [[1, 2, 3], [3, 4, 5]]})
    assert status == 200
    assert body["outputs"]["mean"] == pytest.approx(3.0)
    np.testing.assert_allclose(body["outputs"]["y"], models.toy_y([[1, 2, 3], [3, 4, 5]], 1))


def test_keep_alive_connection_serves_many_requests(server):
    import http.client
    import json

    connection = http.client.HTTPConnection("127.0.0.1", server.rest_port, timeout=20)
    try:
        for i in range(5):
            payload = json.dumps({"signature_name": "single", "instances": [[i, 0, 0]]})
            connection.request("POST", "/v1/models/toy/versions/1:predict", payload)
            response = connection.getresponse()
            assert response.status == 200
            assert json.loads(response.read()) == {"predictions": [[float(i)]]}
    finally:
        connection.close()
