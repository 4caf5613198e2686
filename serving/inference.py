"""The inference APIs on a servable: Predict, Classify, Regress, MultiInference, metadata.

Shared by the gRPC and REST front ends and by warm-up, so every way in checks requests
the same way. Classify and Regress follow TF Serving's contract: the signature's method is
tensorflow/serving/classify (regress), its single string input takes serialized
tf.Examples, and its outputs are `classes`/`scores` ([batch, num_classes]) or `outputs`
([batch] or [batch, 1]).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import (
    classification_pb2,
    inference_pb2,
    model_pb2,
    regression_pb2,
)

from serving import errors, tensor_codec
from serving.request_limits import RequestLimits
from serving.servable import CLASSIFY_METHOD, REGRESS_METHOD, Servable, Signature

if TYPE_CHECKING:  # a type only: the manager imports warm-up, which runs this module
    from serving.manager import ModelManager


def model_spec(servable: Servable, signature_name: str = "") -> model_pb2.ModelSpec:
    """The ModelSpec a response carries: name, the version that answered, the signature."""
    spec = model_pb2.ModelSpec(name=servable.name, signature_name=signature_name)
    spec.version.value = servable.version
    return spec


def resolve(manager: ModelManager, spec: model_pb2.ModelSpec) -> Servable:
    """The servable a request's ModelSpec names."""
    if not spec.name:
        raise errors.invalid_argument("Missing ModelSpec: set model_spec.name.")
    which = spec.WhichOneof("version_choice")
    version = spec.version.value if which == "version" else None
    label = spec.version_label if which == "version_label" else None
    return manager.resolve(spec.name, version, label)


def predict(servable: Servable, signature_name: str,
            inputs: Mapping[str, np.ndarray | tf.Tensor],
            output_filter: Sequence[str] = ()) -> tuple[str, dict[str, np.ndarray]]:
    """Runs any signature on raw tensors; returns (signature key, outputs)."""
    signature = servable.signature(signature_name)
    return signature.key, servable.run(signature.key, inputs, output_filter)


def predict_protos(servable: Servable, signature_name: str, protos: Mapping[str, object],
                   output_filter: Sequence[str] = (),
                   limits: RequestLimits | None = None) -> tuple[str, dict[str, np.ndarray]]:
    """Runs a signature on TensorProto inputs (gRPC Predict, warm-up).

    What each proto claims (dtype, shape, element count) is checked against its content,
    the request limits and the signature before any tensor is built, so a short request
    that claims a huge shape costs nothing. `limits` None bounds nothing (warm-up records,
    which come with the model).

    Raises:
        ServingError: INVALID_ARGUMENT for a malformed proto or a mismatch with the
            signature; RESOURCE_EXHAUSTED for more elements than `limits` allow.

    Example:
        >>> predict_protos(servable, "serving_default", request.inputs, limits=RequestLimits())
        ('serving_default', {'y': array([[6.]], dtype=float32)})
    """
    signature = servable.signature(signature_name)
    budget = limits.element_budget() if limits is not None else None
    claims = {}
    for name, proto in protos.items():
        where = f"input {name!r}"
        dtype, shape = tensor_codec.check_tensor_proto(proto, where)
        if limits is not None:
            budget.take(math.prod(shape), where, shape)
            limits.check_padding(tensor_codec.padding_bytes(proto, dtype, shape), where, shape)
        claims[name] = (tensor_codec.dtype_name(dtype), shape)
    signature.check_claims(claims)
    inputs = {name: tensor_codec.to_tensor(proto, f"input {name!r}")
              for name, proto in protos.items()}
    return signature.key, servable.run(signature.key, inputs, output_filter)


def _examples_signature(servable: Servable, signature_name: str, method: str,
                        api: str) -> tuple[Signature, str]:
    signature = servable.signature(signature_name)
    if signature.method_name != method:
        raise errors.invalid_argument(
            f"Expected {api} signature method_name to be {method}. Was: "
            f"{signature.method_name} (signature {signature.key!r}). Use Predict for it, or a "
            f"{api} signature.")
    strings = [k for k, s in signature.inputs.items() if s.dtype.name == "string"]
    if len(signature.inputs) != 1 or len(strings) != 1:
        raise errors.invalid_argument(
            f"The {api} signature {signature.key!r} must take one string input (serialized "
            f"tf.Examples); it takes {sorted(signature.inputs)}.")
    return signature, strings[0]


def _check_batch(name: str, value: np.ndarray, batch: int, signature: str) -> None:
    if np.ndim(value) == 0 or np.shape(value)[0] != batch:
        raise errors.invalid_argument(
            f"Output {name!r} of signature {signature!r} has shape {list(np.shape(value))}; "
            f"expected {batch} rows, one per example.")


def classify(servable: Servable, signature_name: str,
             serialized: Sequence[bytes]) -> tuple[str, classification_pb2.ClassificationResult]:
    """Classifies serialized tf.Examples; returns (signature key, ClassificationResult)."""
    signature, key = _examples_signature(servable, signature_name, CLASSIFY_METHOD,
                                         "classification")
    classes_ok, scores_ok = "classes" in signature.outputs, "scores" in signature.outputs
    if not classes_ok and not scores_ok:
        raise errors.invalid_argument(
            f"Expected classification signature {signature.key!r} outputs to contain at least "
            "one of 'classes' or 'scores'.")
    batch = len(serialized)
    outputs = servable.run(signature.key, {key: np.array(serialized, dtype=object)},
                           [k for k in ("classes", "scores") if k in signature.outputs])
    classes, scores = outputs.get("classes"), outputs.get("scores")
    for name, value in (("classes", classes), ("scores", scores)):
        if value is not None:
            _check_batch(name, value, batch, signature.key)
            if np.ndim(value) != 2:
                raise errors.invalid_argument(
                    f"Expected {name!r} of shape [batch_size, num_classes]; got "
                    f"{list(np.shape(value))}.")
    if classes is not None and scores is not None and classes.shape != scores.shape:
        raise errors.invalid_argument(
            f"'classes' {list(classes.shape)} and 'scores' {list(scores.shape)} differ in shape.")
    num_classes = (classes if classes is not None else scores).shape[1]
    result = classification_pb2.ClassificationResult()
    for row in range(batch):
        classifications = result.classifications.add()
        for column in range(num_classes):
            item = classifications.classes.add()
            if classes is not None:
                label = classes[row, column]
                item.label = label.decode("utf-8", "replace") if isinstance(label, bytes) else str(label)
            if scores is not None:
                item.score = float(scores[row, column])
    return signature.key, result


def regress(servable: Servable, signature_name: str,
            serialized: Sequence[bytes]) -> tuple[str, regression_pb2.RegressionResult]:
    """Regresses serialized tf.Examples; returns (signature key, RegressionResult)."""
    signature, key = _examples_signature(servable, signature_name, REGRESS_METHOD, "regression")
    if "outputs" not in signature.outputs:
        raise errors.invalid_argument(
            f"No regression outputs found in signature {signature.key!r}: it needs an output "
            f"named 'outputs'; it has {sorted(signature.outputs)}.")
    batch = len(serialized)
    values = servable.run(signature.key, {key: np.array(serialized, dtype=object)},
                          ["outputs"])["outputs"]
    _check_batch("outputs", values, batch, signature.key)
    if np.ndim(values) == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if np.ndim(values) != 1:
        raise errors.invalid_argument(
            f"Expected regression 'outputs' of shape [batch_size] or [batch_size, 1]; got "
            f"{list(np.shape(values))}.")
    result = regression_pb2.RegressionResult()
    for value in values.tolist():
        result.regressions.add(value=float(value))
    return signature.key, result


def multi_inference(manager: ModelManager, tasks: Sequence[inference_pb2.InferenceTask],
                    serialized: Sequence[bytes]) -> inference_pb2.MultiInferenceResponse:
    """Runs several classify/regress signatures of one model version on the same examples."""
    if not tasks:
        raise errors.invalid_argument("MultiInferenceRequest has no tasks.")
    names = {t.model_spec.name for t in tasks}
    if len(names) != 1:
        raise errors.invalid_argument(
            f"All ModelSpecs in a MultiInferenceRequest must access the same model name; "
            f"got {sorted(names)}.")
    versions = {(t.model_spec.WhichOneof("version_choice"), t.model_spec.version.value,
                 t.model_spec.version_label) for t in tasks}
    if len(versions) != 1:
        raise errors.invalid_argument(
            "All ModelSpecs in a MultiInferenceRequest must access the same model version.")
    servable = resolve(manager, tasks[0].model_spec)
    seen = set()
    response = inference_pb2.MultiInferenceResponse()
    for task in tasks:
        key = task.model_spec.signature_name or "serving_default"
        if key in seen:
            raise errors.invalid_argument(f"Duplicate evaluation of signature: {key}.")
        seen.add(key)
        result = response.results.add()
        if task.method_name == CLASSIFY_METHOD:
            key, classification = classify(servable, key, serialized)
            result.classification_result.CopyFrom(classification)
        elif task.method_name == REGRESS_METHOD:
            key, regression = regress(servable, key, serialized)
            result.regression_result.CopyFrom(regression)
        else:
            raise errors.invalid_argument(
                f"Unsupported signature method_name {task.method_name!r}; MultiInference runs "
                f"{CLASSIFY_METHOD} and {REGRESS_METHOD} signatures.")
        result.model_spec.CopyFrom(model_spec(servable, key))
    return response
