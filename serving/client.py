"""ServingClient: a small client for TF Serving's gRPC API (the real server or ours).

It wraps the tensorflow_serving stubs: predict on raw tensors or tf.Examples, classify,
regress, model metadata, model status, config reload, health. Inputs are cast to the
signature's dtypes (read once from the model's metadata), so `{"x": [[1, 2, 3]]}` works
for a float input. Failed calls raise `grpc.RpcError` with TF Serving's status code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import grpc
import numpy as np
import tensorflow as tf
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)

from serving import model_config, tf_example

MAX_MESSAGE_BYTES = 256 * 1024 * 1024


class ServingClient:
    """A client for TF Serving's PredictionService and ModelService.

    Args:
        target: "host:port" of the gRPC server (default "127.0.0.1:8500").
        timeout_s: Deadline of each call in seconds (default 10).
        channel: An existing `grpc.Channel` to use instead of opening one.

    Example:
        >>> with ServingClient("127.0.0.1:8500") as client:
        ...     client.predict("toy", {"x": [[1.0, 2.0, 3.0]]})["y"]
        ...     client.classify("taxi", [{"fare": 12.5, "company": "Flash Cab"}])
    """

    def __init__(self, target: str = "127.0.0.1:8500", *, timeout_s: float = 10.0,
                 channel: grpc.Channel | None = None):
        if timeout_s <= 0:
            raise ValueError(f"`timeout_s` ({timeout_s!r}) must be positive.")
        self.target = target
        self.timeout_s = timeout_s
        self._own_channel = channel is None
        self._channel = channel or grpc.insecure_channel(target, options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)])
        self._predict = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._models = model_service_pb2_grpc.ModelServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)
        self._input_dtypes: dict[tuple, dict[str, tf.DType]] = {}

    # Inference.

    def predict(self, model: str, inputs: Mapping[str, object], *,
                signature_name: str = "serving_default", version: int | None = None,
                label: str | None = None, output_filter: Sequence[str] = (),
                cast: bool = True) -> dict[str, np.ndarray]:
        """Runs a signature on raw tensors; returns its outputs as numpy arrays.

        Args:
            model: The model name.
            inputs: Input name to array-like (lists, numpy arrays, bytes/str for strings).
            signature_name: The signature (default "serving_default").
            version: A specific version (default: the newest); or `label`.
            output_filter: Only these outputs (default: all).
            cast: Cast inputs to the signature's dtypes, read from the model metadata.

        Example:
            >>> client.predict("toy", {"x": np.ones([2, 3])}, output_filter=["y"])
        """
        request = self.predict_request(model, inputs, signature_name=signature_name,
                                       version=version, label=label,
                                       output_filter=output_filter, cast=cast)
        response = self._predict.Predict(request, timeout=self.timeout_s)
        return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}

    def predict_request(self, model: str, inputs: Mapping[str, object], *,
                        signature_name: str = "serving_default", version: int | None = None,
                        label: str | None = None, output_filter: Sequence[str] = (),
                        cast: bool = True) -> predict_pb2.PredictRequest:
        """The PredictRequest `predict` sends (for benchmarks, warm-up files, logs)."""
        dtypes = self._dtypes(model, signature_name, version, label) if cast else {}
        request = predict_pb2.PredictRequest()
        _set_spec(request.model_spec, model, signature_name, version, label)
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(_tensor_proto(value, dtypes.get(name)))
        request.output_filter.extend(output_filter)
        return request

    def predict_examples(self, model: str, examples: Iterable, *, input_key: str = "examples",
                         signature_name: str = "predict", version: int | None = None,
                         label: str | None = None) -> dict[str, np.ndarray]:
        """Predict on tf.Examples (Example messages, bytes or feature dicts).

        Example:
            >>> client.predict_examples("taxi", [{"fare": 12.5, "trip_miles": 3.1}])
        """
        serialized = [tf_example.as_example(e).SerializeToString() for e in examples]
        return self.predict(model, {input_key: np.array(serialized, dtype=object)},
                            signature_name=signature_name, version=version, label=label,
                            cast=False)

    def classify(self, model: str, examples: Iterable, *, context=None,
                 signature_name: str = "", version: int | None = None,
                 label: str | None = None) -> list[list[tuple[str, float]]]:
        """Classifies tf.Examples; returns [(label, score), ...] per example.

        Example:
            >>> client.classify("taxi", [{"fare": 12.5}], context={"company": "Flash Cab"})
            [[('0', 0.31), ('1', 0.69)]]
        """
        request = classification_pb2.ClassificationRequest()
        _set_spec(request.model_spec, model, signature_name, version, label)
        request.input.CopyFrom(tf_example.make_input(examples, context))
        response = self._predict.Classify(request, timeout=self.timeout_s)
        return [[(c.label, c.score) for c in item.classes]
                for item in response.result.classifications]

    def regress(self, model: str, examples: Iterable, *, context=None,
                signature_name: str = "regression", version: int | None = None,
                label: str | None = None) -> np.ndarray:
        """Regresses tf.Examples; returns one float per example."""
        request = regression_pb2.RegressionRequest()
        _set_spec(request.model_spec, model, signature_name, version, label)
        request.input.CopyFrom(tf_example.make_input(examples, context))
        response = self._predict.Regress(request, timeout=self.timeout_s)
        return np.array([r.value for r in response.result.regressions], dtype=np.float32)

    # Models.

    def metadata(self, model: str, *, version: int | None = None,
                 label: str | None = None) -> get_model_metadata_pb2.SignatureDefMap:
        """The model's signature defs (GetModelMetadata's `signature_def` field)."""
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        _set_spec(request.model_spec, model, "", version, label)
        response = self._predict.GetModelMetadata(request, timeout=self.timeout_s)
        signatures = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signatures)
        return signatures

    def status(self, model: str, *, version: int | None = None,
               label: str | None = None) -> list[tuple[int, str]]:
        """(version, state) of the model's versions, newest first; state e.g. "AVAILABLE"."""
        request = get_model_status_pb2.GetModelStatusRequest()
        _set_spec(request.model_spec, model, "", version, label)
        response = self._models.GetModelStatus(request, timeout=self.timeout_s)
        state = get_model_status_pb2.ModelVersionStatus.State
        return [(s.version, state.Name(s.state)) for s in response.model_version_status]

    def reload_config(self, configs: Sequence[model_config.ModelConfig]) -> None:
        """Replaces the served models (HandleReloadConfigRequest).

        Raises:
            RuntimeError: The server reported a failed load in its response status.
        """
        request = model_management_pb2.ReloadConfigRequest()
        request.config.CopyFrom(model_config.to_server_config(configs))
        response = self._models.HandleReloadConfigRequest(request, timeout=self.timeout_s)
        if response.status.error_code:
            raise RuntimeError(f"Reloading the config failed: {response.status.error_message}")
        self._input_dtypes.clear()

    def health(self, service: str = "") -> str:
        """The gRPC health status of `service` ("" for the server): "SERVING", ..."""
        response = self._health.Check(health_pb2.HealthCheckRequest(service=service),
                                      timeout=self.timeout_s)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    def wait_until_available(self, model: str, *, version: int | None = None,
                             timeout_s: float = 30.0) -> None:
        """Blocks until the server serves `model` (a version of it). Raises TimeoutError."""
        import time

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                states = self.status(model, version=version)
                if any(state == "AVAILABLE" for _, state in states):
                    return
            except grpc.RpcError as exc:
                if exc.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE):
                    raise
            if time.monotonic() > deadline:
                raise TimeoutError(f"Model {model!r} was not available at {self.target} "
                                   f"within {timeout_s} s.")
            time.sleep(0.1)

    def close(self) -> None:
        """Closes the channel (if this client opened it)."""
        if self._own_channel:
            self._channel.close()

    def __enter__(self) -> ServingClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _dtypes(self, model, signature_name, version, label) -> dict[str, tf.DType]:
        key = (model, signature_name or "serving_default", version, label)
        if key not in self._input_dtypes:
            signatures = self.metadata(model, version=version, label=label).signature_def
            signature = signatures.get(key[1])
            self._input_dtypes[key] = ({name: tf.as_dtype(info.dtype)
                                        for name, info in signature.inputs.items()}
                                       if signature is not None else {})
        return self._input_dtypes[key]


def _set_spec(spec, model, signature_name, version, label) -> None:
    spec.name = model
    spec.signature_name = signature_name or ""
    if version is not None and label:
        raise ValueError("Pass either `version` or `label`, not both.")
    if version is not None:
        spec.version.value = int(version)
    elif label:
        spec.version_label = label


def _tensor_proto(value, dtype: tf.DType | None):
    if dtype == tf.string:
        array = np.asarray(value, dtype=object)
        array = np.vectorize(lambda v: v.encode() if isinstance(v, str) else v,
                             otypes=[object])(array) if array.size else array
        return tf.make_tensor_proto(array, dtype=tf.string)
    if dtype is not None:
        return tf.make_tensor_proto(np.asarray(value, dtype=dtype.as_numpy_dtype))
    return tf.make_tensor_proto(value)
