"""Warm-up: replay the requests a model ships before it takes traffic (TF Serving's format).

A SavedModel may carry `assets.extra/tf_serving_warmup_requests`, a TFRecord file of
`PredictionLog` records. Each is run once after loading and before the version is made
available, so the first real requests do not pay for lazy initialization. A failing
warm-up request fails the load, as in TF Serving.
"""

from __future__ import annotations

import logging
import os

import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from serving import inference, tf_example
from serving.servable import Servable

logger = logging.getLogger("serving")

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
MAX_WARMUP_RECORDS = 1000


def run(servable: Servable) -> int:
    """Replays the servable's warm-up records; returns how many ran."""
    path = os.path.join(servable.path, WARMUP_FILE)
    if not tf.io.gfile.exists(path):
        return 0
    count = 0
    for record in tf.data.TFRecordDataset(path).take(MAX_WARMUP_RECORDS):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        kind = log.WhichOneof("log_type")
        if kind == "predict_log":
            request = log.predict_log.request
            inference.predict_protos(servable, request.model_spec.signature_name,
                                     request.inputs, list(request.output_filter),
                                     limits=None)  # The model's own records: no bounds.
        elif kind == "classify_log":
            request = log.classify_log.request
            inference.classify(servable, request.model_spec.signature_name,
                               tf_example.serialized_examples(request.input))
        elif kind == "regress_log":
            request = log.regress_log.request
            inference.regress(servable, request.model_spec.signature_name,
                              tf_example.serialized_examples(request.input))
        else:
            raise ValueError(f"Unsupported warm-up record type {kind!r} in {path}.")
        count += 1
    logger.info("Warmed up model %r version %d with %d requests", servable.name,
                servable.version, count)
    return count


def write_warmup_requests(export_dir: str, requests) -> str:
    """Writes warm-up records into a SavedModel before it is pushed; returns the file.

    Args:
        export_dir: The SavedModel directory.
        requests: PredictRequest, ClassificationRequest or RegressionRequest messages.

    Example:
        >>> request = predict_pb2.PredictRequest()
        >>> request.inputs["examples"].CopyFrom(tf.make_tensor_proto([example_bytes]))
        >>> write_warmup_requests(export_dir, [request])
    """
    from tensorflow_serving.apis import classification_pb2, predict_pb2, regression_pb2

    path = os.path.join(export_dir, WARMUP_FILE)
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.TFRecordWriter(path) as writer:
        for request in requests:
            log = prediction_log_pb2.PredictionLog()
            if isinstance(request, predict_pb2.PredictRequest):
                log.predict_log.request.CopyFrom(request)
            elif isinstance(request, classification_pb2.ClassificationRequest):
                log.classify_log.request.CopyFrom(request)
            elif isinstance(request, regression_pb2.RegressionRequest):
                log.regress_log.request.CopyFrom(request)
            else:
                raise TypeError(
                    "Warm-up requests must be PredictRequest, ClassificationRequest or "
                    f"RegressionRequest messages; received {type(request).__name__}.")
            writer.write(log.SerializeToString())
    return path
