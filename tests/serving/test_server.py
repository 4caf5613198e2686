"""ModelServer: options, binding, the models.config file, batching, warm-up, shutdown."""

import shutil
import socket
import threading
import time

import numpy as np
import pytest
from tensorflow_serving.apis import predict_pb2

from serving import (
    BatchingOptions,
    ModelConfig,
    ModelServer,
    ServerOptions,
    ServingClient,
    format_model_config,
)
from serving.servable import Servable
from serving.warmup import write_warmup_requests
from tests.serving import models
from tests.serving.helpers import TIMEOUT_S

EPHEMERAL = ServerOptions(port=0, rest_port=0, file_system_poll_wait_seconds=0)


@pytest.mark.parametrize("kwargs, match", [
    ({"port": 70000}, "must be a port number"),
    ({"rest_port": -1}, "must be a port number"),
    ({"file_system_poll_wait_seconds": -1}, "must be >= 0"),
    ({"grpc_max_threads": 0}, "must be positive"),
    ({"max_num_load_retries": -1}, "must be an integer >= 0"),
    ({"load_retry_interval_seconds": -1}, "must be >= 0"),
])
def test_invalid_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ServerOptions(**kwargs)


def test_needs_exactly_one_model_source(toy_base):
    with pytest.raises(ValueError, match="exactly one of `models` and `model_config_file`"):
        ModelServer()


def test_binds_loopback_by_default_and_refuses_a_taken_port(toy_base):
    assert ServerOptions().host == "127.0.0.1"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ModelServer([ModelConfig("toy", str(toy_base))],
                             options=ServerOptions(port=port, rest_port=None))
        with pytest.raises(OSError, match="Could not bind the gRPC port"):
            server.start()
        server.stop()


def test_model_config_file_is_polled(tmp_path, toy_base):
    config = tmp_path / "models.config"
    config.write_text(format_model_config([ModelConfig("toy", str(toy_base))]))
    options = ServerOptions(port=0, rest_port=None, file_system_poll_wait_seconds=0,
                            model_config_file_poll_wait_seconds=0.05)
    with ModelServer(model_config_file=str(config), options=options) as server:
        with ServingClient(server.grpc_address, timeout_s=TIMEOUT_S) as client:
            assert client.status("toy") == [(2, "AVAILABLE")]
            config.write_text("not a config")  # A broken edit keeps the last good config.
            time.sleep(0.2)
            assert client.status("toy") == [(2, "AVAILABLE")]
            config.write_text(format_model_config([ModelConfig("other", str(toy_base))]))
            client.wait_until_available("other", timeout_s=20)


def test_batching_server_answers_like_an_unbatched_one(toy_base):
    options = ServerOptions(port=0, rest_port=None, file_system_poll_wait_seconds=0,
                            batching=BatchingOptions(max_batch_size=8, batch_timeout_micros=20_000))
    inputs = [np.full([i % 3 + 1, 3], i, np.float32) for i in range(12)]
    results, failures = [None] * len(inputs), []
    with ModelServer([ModelConfig("toy", str(toy_base))], options=options) as server:
        def call(i):
            try:
                with ServingClient(server.grpc_address, timeout_s=TIMEOUT_S) as client:
                    results[i] = client.predict("toy", {"x": inputs[i], "tag": ["t"] * len(inputs[i])})
            except Exception as exc:  # noqa: BLE001
                failures.append(exc)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(len(inputs))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        with ServingClient(server.grpc_address, timeout_s=TIMEOUT_S) as client:
            mean = client.predict("toy", {"x": [[1, 2, 3]]}, signature_name="mean")
    assert failures == []
    for x, result in zip(inputs, results, strict=True):
        np.testing.assert_allclose(result["y"], models.toy_y(x, 2))
        assert result["tag_length"].tolist() == [1] * len(x)
    assert mean["mean"] == pytest.approx(4.0)


def test_warmup_requests_run_before_serving(tmp_path, toy_base, caplog):
    path = tmp_path / "toy" / "1"
    shutil.copytree(toy_base / "1", path)
    with ServingClient("unused:1") as client:  # Only builds the request; sends nothing.
        request = client.predict_request("toy", {"x": np.ones([1, 3], np.float32)},
                                         signature_name="single", cast=False)
    write_warmup_requests(str(path), [request, predict_pb2.PredictRequest(
        model_spec=request.model_spec, inputs=request.inputs)])
    with caplog.at_level("INFO", logger="serving"):
        with ModelServer([ModelConfig("toy", str(tmp_path / "toy"))], options=EPHEMERAL):
            pass
    assert "Warmed up model 'toy' version 1 with 2 requests" in caplog.text
    servable = Servable.load("toy", 1, str(path))
    assert servable.run("single", {"x": np.ones([1, 3], np.float32)})["y"][0, 0] == 3.0
    with pytest.raises(TypeError, match="Warm-up requests must be"):
        write_warmup_requests(str(path), ["not a request"])


def test_stop_is_idempotent_and_frees_the_ports(toy_base):
    server = ModelServer([ModelConfig("toy", str(toy_base))], options=EPHEMERAL).start()
    port = server.rest_port
    server.stop()
    server.stop()
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
