"""Small helpers shared by the serving tests: REST calls and gRPC stubs with deadlines."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import grpc
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
