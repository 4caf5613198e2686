"""ModelService (GetModelStatus, HandleReloadConfigRequest) and the gRPC health service."""

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tensorflow_serving.apis import get_model_status_pb2, model_management_pb2

from serving import ModelConfig, ModelServer, ServerOptions, ServingClient, VersionPolicy
from tests.serving.helpers import TIMEOUT_S, Stubs


def test_get_model_status(client):
    assert client.status("toy") == [(2, "AVAILABLE"), (1, "AVAILABLE")]
    assert client.status("toy", version=1) == [(1, "AVAILABLE")]
    assert client.status("toy", label="canary") == [(2, "AVAILABLE")]


def test_get_model_status_errors(server):
    stubs = Stubs(server.grpc_address)
    try:
        for name, version, code in (("nope", None, grpc.StatusCode.NOT_FOUND),
                                    ("toy", 5, grpc.StatusCode.NOT_FOUND),
                                    ("", None, grpc.StatusCode.INVALID_ARGUMENT)):
            request = get_model_status_pb2.GetModelStatusRequest()
            request.model_spec.name = name
            if version:
                request.model_spec.version.value = version
            with pytest.raises(grpc.RpcError) as raised:
                stubs.model.GetModelStatus(request, timeout=TIMEOUT_S)
            assert raised.value.code() == code
    finally:
        stubs.close()


def test_health(client):
    assert client.health() == "SERVING"
    assert client.health("tensorflow.serving.PredictionService") == "SERVING"
    assert client.health("taxi") == "SERVING"
    with pytest.raises(grpc.RpcError) as raised:
        client.health("nope")
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.fixture
def own_server(toy_base):
    options = ServerOptions(port=0, rest_port=None, file_system_poll_wait_seconds=0)
    with ModelServer([ModelConfig("toy", str(toy_base))], options=options) as running:
        yield running


def test_reload_config(own_server, toy_base, tmp_path):
    with ServingClient(own_server.grpc_address, timeout_s=TIMEOUT_S) as client:
        assert client.status("toy") == [(2, "AVAILABLE")]
        client.reload_config([
            ModelConfig("toy", str(toy_base), version_policy=VersionPolicy.specific(1)),
            ModelConfig("empty", str(tmp_path / "nothing"))])
        assert client.status("toy") == [(2, "END"), (1, "AVAILABLE")]
        assert client.predict("toy", {"x": [[1, 1, 1]]}, signature_name="single")["y"][0, 0] == 3
        assert client.health() == "NOT_SERVING"  # "empty" has no version.
        assert client.health("toy") == "SERVING"
        client.reload_config([ModelConfig("toy2", str(toy_base))])
        with pytest.raises(grpc.RpcError) as raised:
            client.status("toy")
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
        assert client.health() == "SERVING"


def test_reload_with_an_invalid_config_is_rejected(own_server):
    stubs = Stubs(own_server.grpc_address)
    try:
        request = model_management_pb2.ReloadConfigRequest()
        request.config.model_config_list.config.add(name="../x", base_path="/tmp")
        with pytest.raises(grpc.RpcError) as raised:
            stubs.model.HandleReloadConfigRequest(request, timeout=TIMEOUT_S)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "Invalid model name '../x'" in raised.value.details()
        health = health_pb2_grpc.HealthStub(stubs.channel)
        assert health.Check(health_pb2.HealthCheckRequest(service="toy"),
                            timeout=TIMEOUT_S).status == health_pb2.HealthCheckResponse.SERVING
    finally:
        stubs.close()
