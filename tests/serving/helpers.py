"""Small helpers shared by the serving tests: REST calls, gRPC stubs with deadlines, and the
peak memory a call costs."""

from __future__ import annotations

import gc
import json
import re
import urllib.error
import urllib.request

import grpc
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

TIMEOUT_S = 20


def rest(base_url: str, path: str, body=None, *, method: str | None = None,
         raw: bytes | None = None) -> tuple[int, object]:
    """(HTTP status, decoded JSON) of one REST call."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base_url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class Stubs:
    """TF Serving's generated stubs on one channel."""

    def __init__(self, address: str):
        self.channel = grpc.insecure_channel(address)
        self.prediction = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.model = model_service_pb2_grpc.ModelServiceStub(self.channel)

    def close(self):
        self.channel.close()


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        return int(re.search(rf"{field}:\s+(\d+)", f.read()).group(1))


def peak_rss_growth_mb(call) -> tuple[object, float]:
    """(call(), how far this process's peak resident set rose above its size before, in MB).

    Resets the peak first (Linux `/proc/self/clear_refs`), so a spike inside `call` counts
    even if it is freed before `call` returns. The in-process server's memory is this
    process's memory.
    """
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _status_kb("VmRSS")
    result = call()
    return result, (_status_kb("VmHWM") - before) * 1024 / 1e6


def tensor_proto(dtype, shape, **fields) -> tensor_pb2.TensorProto:
    """A TensorProto that claims `shape` whatever its values hold (unlike
    `tf.make_tensor_proto`), as a client may send: `fields` are its value lists
    (`float_val=[...]`) or `tensor_content=bytes`."""
    proto = tensor_pb2.TensorProto(dtype=tf.as_dtype(dtype).as_datatype_enum)
    for size in shape:
        proto.tensor_shape.dim.add(size=size)
    for name, values in fields.items():
        if name == "tensor_content":
            proto.tensor_content = values
        else:
            getattr(proto, name).extend(values)
    return proto
