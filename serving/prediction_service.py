"""The gRPC PredictionService: Predict, Classify, Regress, MultiInference, GetModelMetadata.

Implements tensorflow_serving.apis.prediction_service_pb2_grpc.PredictionServiceServicer
over a ModelManager. Every failure becomes a gRPC status with a message (NOT_FOUND,
INVALID_ARGUMENT, ...); an unexpected exception is logged and answered INTERNAL, so no
request can take the server down.
"""

from __future__ import annotations

import functools
import logging

import grpc
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    inference_pb2,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)

from serving import errors, inference, tensor_codec, tf_example
from serving.manager import ModelManager
from serving.request_limits import RequestLimits

logger = logging.getLogger("serving")

SIGNATURE_DEF_FIELD = "signature_def"


def handle_errors(method):
    """Turns ServingErrors (and any other exception) into gRPC statuses."""

    @functools.wraps(method)
    def wrapper(self, request, context: grpc.ServicerContext):
        try:
            return method(self, request, context)
        except errors.ServingError as exc:
            logger.debug("%s failed: %s %s", method.__name__, exc.code.name, exc.message)
            context.abort(exc.code, exc.message)
        except Exception as exc:  # noqa: BLE001  (a bug must not kill the server)
            error = errors.from_exception(exc)
            if error.code is grpc.StatusCode.INTERNAL:
                logger.exception("%s failed unexpectedly", method.__name__)
            context.abort(error.code, error.message)

    return wrapper


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    """TF Serving's PredictionService over a ModelManager.

    Args:
        manager: The ModelManager that holds the served models.
        limits: The bounds on one request (default `RequestLimits()`); the server also
            gives gRPC `limits.max_request_bytes` as its largest message.

    Example:
        >>> server = grpc.server(futures.ThreadPoolExecutor(8))
        >>> prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        ...     PredictionService(manager), server)
    """

    def __init__(self, manager: ModelManager, limits: RequestLimits | None = None):
        self._manager = manager
        self._limits = limits or RequestLimits()

    @handle_errors
    def Predict(self, request: predict_pb2.PredictRequest, context) -> predict_pb2.PredictResponse:
        """See base class."""
        servable = inference.resolve(self._manager, request.model_spec)
        key, outputs = inference.predict_protos(servable, request.model_spec.signature_name,
                                                request.inputs, list(request.output_filter),
                                                self._limits)
        response = predict_pb2.PredictResponse()
        response.model_spec.CopyFrom(inference.model_spec(servable, key))
        for name, value in outputs.items():
            response.outputs[name].CopyFrom(tensor_codec.to_tensor_proto(value))
        return response

    @handle_errors
    def Classify(self, request: classification_pb2.ClassificationRequest,
                 context) -> classification_pb2.ClassificationResponse:
        """See base class."""
        servable = inference.resolve(self._manager, request.model_spec)
        key, result = inference.classify(servable, request.model_spec.signature_name,
                                         tf_example.serialized_examples(request.input))
        response = classification_pb2.ClassificationResponse(result=result)
        response.model_spec.CopyFrom(inference.model_spec(servable, key))
        return response

    @handle_errors
    def Regress(self, request: regression_pb2.RegressionRequest,
                context) -> regression_pb2.RegressionResponse:
        """See base class."""
        servable = inference.resolve(self._manager, request.model_spec)
        key, result = inference.regress(servable, request.model_spec.signature_name,
                                        tf_example.serialized_examples(request.input))
        response = regression_pb2.RegressionResponse(result=result)
        response.model_spec.CopyFrom(inference.model_spec(servable, key))
        return response

    @handle_errors
    def MultiInference(self, request: inference_pb2.MultiInferenceRequest,
                       context) -> inference_pb2.MultiInferenceResponse:
        """See base class."""
        return inference.multi_inference(self._manager, list(request.tasks),
                                         tf_example.serialized_examples(request.input))

    @handle_errors
    def GetModelMetadata(self, request: get_model_metadata_pb2.GetModelMetadataRequest,
                         context) -> get_model_metadata_pb2.GetModelMetadataResponse:
        """See base class."""
        fields = list(request.metadata_field)
        if not fields:
            raise errors.invalid_argument(
                "GetModelMetadataRequest must specify at least one metadata_field "
                f"(supported: {SIGNATURE_DEF_FIELD!r}).")
        for field in fields:
            if field != SIGNATURE_DEF_FIELD:
                raise errors.invalid_argument(
                    f"Metadata field {field!r} is not supported (supported: "
                    f"{SIGNATURE_DEF_FIELD!r}).")
        servable = inference.resolve(self._manager, request.model_spec)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.CopyFrom(inference.model_spec(servable))
        response.metadata[SIGNATURE_DEF_FIELD].Pack(servable.metadata())
        return response
