"""gRPC PredictionService with TF Serving's stubs: results equal the SavedModel's own, and
every bad request gets the right status while the server keeps serving."""

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    inference_pb2,
    predict_pb2,
    regression_pb2,
)

from serving import make_example, tf_example
from tests.serving import models
from tests.serving.helpers import TIMEOUT_S, Stubs

X = np.array([[1, 2, 3], [4, 5, 6]], np.float32)


@pytest.fixture(scope="module")
def stubs(server):
    opened = Stubs(server.grpc_address)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def taxi_examples():
    rows = models.taxi_rows(8)
    return [models.taxi_example(row) for _, row in rows.iterrows()]


@pytest.fixture(scope="module")
def taxi_local(taxi_base, taxi_version):
    """The taxi SavedModel loaded in this process: what the server must reproduce."""
    return tf.saved_model.load(str(taxi_base / str(taxi_version)))


def _serialized(examples):
    return tf.constant([make_example(e).SerializeToString() for e in examples])


def _predict_request(name="toy", signature="", **inputs):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    request.model_spec.signature_name = signature
    for key, value in inputs.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    return request


def test_predict_raw_tensors_newest_version(stubs):
    request = _predict_request(x=X, tag=np.array([b"ab", b"c"], object))
    response = stubs.prediction.Predict(request, timeout=TIMEOUT_S)
    assert response.model_spec.name == "toy"
    assert response.model_spec.version.value == 2  # The newest of the served versions.
    assert response.model_spec.signature_name == "serving_default"
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["y"]), models.toy_y(X, 2))
    assert tf.make_ndarray(response.outputs["tag_length"]).tolist() == [2, 1]


@pytest.mark.parametrize("choose, scale", [("version", 1), ("version", 2),
                                           ("label:stable", 1), ("label:canary", 2)])
def test_predict_a_chosen_version(stubs, choose, scale):
    request = _predict_request(signature="single", x=X)
    if choose == "version":
        request.model_spec.version.value = scale
    else:
        request.model_spec.version_label = choose.split(":")[1]
    response = stubs.prediction.Predict(request, timeout=TIMEOUT_S)
    assert response.model_spec.version.value == scale
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["y"]), models.toy_y(X, scale))


def test_output_filter(stubs):
    request = _predict_request(x=X, tag=np.array([b"a", b"b"], object))
    request.output_filter.append("tag_length")
    response = stubs.prediction.Predict(request, timeout=TIMEOUT_S)
    assert set(response.outputs) == {"tag_length"}


def test_predict_taxi_examples_equals_in_process(stubs, taxi_examples, taxi_local):
    serialized = _serialized(taxi_examples)
    request = _predict_request("taxi", "predict", examples=serialized.numpy())
    response = stubs.prediction.Predict(request, timeout=TIMEOUT_S)
    expected = taxi_local.signatures["predict"](examples=serialized)
    assert set(response.outputs) == set(expected)
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["probabilities"]),
                               expected["probabilities"].numpy(), rtol=1e-5)


def test_classify_taxi_equals_in_process(stubs, taxi_examples, taxi_local):
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "taxi"  # No signature: serving_default, a Classify signature.
    request.input.CopyFrom(tf_example.make_input(taxi_examples))
    response = stubs.prediction.Classify(request, timeout=TIMEOUT_S)
    expected = taxi_local.signatures["classification"](inputs=_serialized(taxi_examples))
    assert response.model_spec.signature_name == "serving_default"
    classifications = response.result.classifications
    assert len(classifications) == len(taxi_examples)
    assert [c.label for c in classifications[0].classes] == ["0", "1"]
    scores = [[c.score for c in item.classes] for item in classifications]
    np.testing.assert_allclose(scores, expected["scores"].numpy(), rtol=1e-5)


def test_classify_with_context(stubs, taxi_examples):
    shared = {k: v for k, v in taxi_examples[0].items() if k in models.TAXI_STRINGS}
    own = [{k: v for k, v in e.items() if k not in shared} for e in taxi_examples[:3]]
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "taxi"
    request.model_spec.signature_name = "classification"
    request.input.CopyFrom(tf_example.make_input(own, context=shared))
    with_context = stubs.prediction.Classify(request, timeout=TIMEOUT_S).result
    request.input.CopyFrom(tf_example.make_input([{**e, **shared} for e in own]))
    merged = stubs.prediction.Classify(request, timeout=TIMEOUT_S).result
    assert with_context == merged


def test_regress_taxi_equals_in_process(stubs, taxi_examples, taxi_local):
    request = regression_pb2.RegressionRequest()
    request.model_spec.name = "taxi"
    request.model_spec.signature_name = "regression"
    request.input.CopyFrom(tf_example.make_input(taxi_examples))
    response = stubs.prediction.Regress(request, timeout=TIMEOUT_S)
    expected = taxi_local.signatures["regression"](inputs=_serialized(taxi_examples))
    np.testing.assert_allclose([r.value for r in response.result.regressions],
                               expected["outputs"].numpy(), rtol=1e-5)


def test_multi_inference(stubs, taxi_examples):
    request = inference_pb2.MultiInferenceRequest()
    for signature, method in (("classification", "tensorflow/serving/classify"),
                              ("regression", "tensorflow/serving/regress")):
        task = request.tasks.add(method_name=method)
        task.model_spec.name = "taxi"
        task.model_spec.signature_name = signature
    request.input.CopyFrom(tf_example.make_input(taxi_examples[:2]))
    classify, regress = stubs.prediction.MultiInference(request, timeout=TIMEOUT_S).results
    assert len(classify.classification_result.classifications) == 2
    assert len(regress.regression_result.regressions) == 2
    np.testing.assert_allclose(  # The regression output is the positive class's score here.
        [r.value for r in regress.regression_result.regressions],
        [c.classes[1].score for c in classify.classification_result.classifications], rtol=1e-5)


def test_metadata(stubs, taxi_version):
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = "taxi"
    response = stubs.prediction.GetModelMetadata(request, timeout=TIMEOUT_S)
    assert response.model_spec.version.value == taxi_version
    signatures = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signatures)
    defs = signatures.signature_def
    assert {"serving_default", "classification", "regression", "predict"} <= set(defs)
    assert defs["classification"].method_name == "tensorflow/serving/classify"
    assert defs["regression"].method_name == "tensorflow/serving/regress"
    assert set(defs["predict"].inputs) == {"examples"}


def _bad(kind):
    """(rpc name, request) for each bad request."""
    examples = tf_example.make_input([{"trip_miles": 1.0}])
    if kind == "unknown model":
        return "Predict", _predict_request("nope", x=X)
    if kind == "unknown version":
        request = _predict_request(x=X)
        request.model_spec.version.value = 7
        return "Predict", request
    if kind == "unknown label":
        request = _predict_request(x=X)
        request.model_spec.version_label = "beta"
        return "Predict", request
    if kind == "path in model name":
        return "Predict", _predict_request("../toy", x=X)
    if kind == "no model name":
        return "Predict", _predict_request("", x=X)
    if kind == "missing input":
        return "Predict", _predict_request(x=X)
    if kind == "extra input":
        return "Predict", _predict_request(signature="single", x=X, z=X)
    if kind == "wrong dtype":
        return "Predict", _predict_request(signature="single", x=X.astype(np.float64))
    if kind == "wrong shape":
        return "Predict", _predict_request(signature="single", x=np.ones([2, 4], np.float32))
    if kind == "strings for floats":
        return "Predict", _predict_request(signature="single", x=np.array([b"a"], object))
    if kind == "unknown signature":
        return "Predict", _predict_request(signature="nope", x=X)
    if kind == "unknown output":
        request = _predict_request(signature="single", x=X)
        request.output_filter.append("nope")
        return "Predict", request
    if kind == "classify a predict signature":
        request = classification_pb2.ClassificationRequest(input=examples)
        request.model_spec.name, request.model_spec.signature_name = "taxi", "predict"
        return "Classify", request
    if kind == "regress a classify signature":
        request = regression_pb2.RegressionRequest(input=examples)
        request.model_spec.name = "taxi"
        return "Regress", request
    if kind == "empty input":
        request = classification_pb2.ClassificationRequest()
        request.model_spec.name = "taxi"
        return "Classify", request
    if kind == "example missing features":
        request = classification_pb2.ClassificationRequest(input=examples)
        request.model_spec.name = "taxi"
        return "Classify", request
    if kind == "example of the wrong type":
        request = classification_pb2.ClassificationRequest(input=tf_example.make_input(
            [{"trip_miles": "far"}]))
        request.model_spec.name = "taxi"
        return "Classify", request
    if kind == "no metadata field":
        request = get_model_metadata_pb2.GetModelMetadataRequest()
        request.model_spec.name = "taxi"
        return "GetModelMetadata", request
    if kind == "unsupported metadata field":
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["graph"])
        request.model_spec.name = "taxi"
        return "GetModelMetadata", request
    if kind == "multi inference over two models":
        request = inference_pb2.MultiInferenceRequest(input=examples)
        for name in ("taxi", "toy"):
            task = request.tasks.add(method_name="tensorflow/serving/classify")
            task.model_spec.name = name
        return "MultiInference", request
    raise AssertionError(kind)


NOT_FOUND, INVALID, PRECONDITION = (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT,
                                    grpc.StatusCode.FAILED_PRECONDITION)


@pytest.mark.parametrize("kind, code, message", [
    ("unknown model", NOT_FOUND, "model 'nope' is not served"),
    ("unknown version", NOT_FOUND, r"Specific\(toy, 7\); available versions: \[1, 2\]"),
    ("unknown label", INVALID, "Unrecognized servable version label 'beta'"),
    ("path in model name", NOT_FOUND, "'../toy' is not served"),
    ("no model name", INVALID, "Missing ModelSpec"),
    ("missing input", INVALID, r"Missing but required: \['tag'\]"),
    ("extra input", INVALID, r"Sent extra: \['z'\]"),
    ("wrong dtype", INVALID, "to be float but double is provided"),
    ("wrong shape", INVALID, r"has shape \[2, 4\] but the signature expects \[-1, 3\]"),
    ("strings for floats", INVALID, "to be float but string is provided"),
    ("unknown signature", PRECONDITION, "Serving signature key 'nope' not found"),
    ("unknown output", INVALID, "output tensor alias not found in signature"),
    ("classify a predict signature", INVALID, "Was: tensorflow/serving/predict"),
    ("regress a classify signature", INVALID, "to be tensorflow/serving/regress"),
    ("empty input", INVALID, "Input is empty"),
    ("example missing features", INVALID, "is required but could not be found"),
    ("example of the wrong type", INVALID, "Data types don't match"),
    ("no metadata field", INVALID, "at least one metadata_field"),
    ("unsupported metadata field", INVALID, "Metadata field 'graph' is not supported"),
    ("multi inference over two models", INVALID, "same model name"),
])
def test_bad_requests_get_the_right_status(stubs, kind, code, message):
    rpc, request = _bad(kind)
    with pytest.raises(grpc.RpcError) as raised:
        getattr(stubs.prediction, rpc)(request, timeout=TIMEOUT_S)
    assert raised.value.code() == code
    assert raised.value.details() and __import__("re").search(message, raised.value.details())
    # ... and the server still answers.
    ok = stubs.prediction.Predict(_predict_request(signature="single", x=X), timeout=TIMEOUT_S)
    assert ok.model_spec.version.value == 2


def test_client_casts_to_signature_dtypes(client):
    outputs = client.predict("toy", {"x": [[1, 2, 3]]}, signature_name="single", version=1)
    np.testing.assert_allclose(outputs["y"], [[6.0]])
    outputs = client.predict("toy", {"x": [[1, 2, 3]], "tag": ["héllo"]})
    assert outputs["tag_length"].tolist() == [6]  # UTF-8 bytes.


def test_client_classify_regress_examples(client, taxi_examples):
    classes = client.classify("taxi", taxi_examples[:2])
    assert [label for label, _ in classes[0]] == ["0", "1"]
    regressed = client.regress("taxi", taxi_examples[:2])
    np.testing.assert_allclose(regressed, [c[1][1] for c in classes], rtol=1e-5)
    predicted = client.predict_examples("taxi", taxi_examples[:2])
    np.testing.assert_allclose(predicted["probabilities"][:, 1], regressed, rtol=1e-5)
