"""ModelServer: the local server that speaks TF Serving's gRPC and REST protocols.

One process serves the models of a base path or a models.config: gRPC PredictionService,
ModelService and the standard health service on `port`, the REST API on `rest_port`. It
binds 127.0.0.1 unless told otherwise. Production runs the real `tensorflow_model_server`
on the same base path (see serving.deploy); clients cannot tell the two apart.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

from serving import model_config
from serving.batching import BatchingOptions
from serving.manager import ModelManager
from serving.model_config import ModelConfig
from serving.model_service import ModelService
from serving.prediction_service import PredictionService
from serving.request_limits import RequestLimits
from serving.rest_api import RestServer

logger = logging.getLogger("serving")

MAX_RESPONSE_BYTES = 256 * 1024 * 1024  # Outputs are the model's; only requests are bounded.
PREDICTION_SERVICE = "tensorflow.serving.PredictionService"
MODEL_SERVICE = "tensorflow.serving.ModelService"


@dataclasses.dataclass(frozen=True)
class ServerOptions:
    """Where and how the server listens and follows the models.

    Args:
        host: Address to bind (default 127.0.0.1; "0.0.0.0" to accept remote clients).
        port: gRPC port (default 8500; 0 picks a free one).
        rest_port: REST port (default 8501; 0 picks a free one; None: no REST API).
        file_system_poll_wait_seconds: How often to look for new versions (default 1;
            0: only at start and on reload).
        model_config_file_poll_wait_seconds: How often to re-read the model config file
            (default 0: read once).
        batching: Server-side batching options, or None (default) for no batching.
        grpc_max_threads: gRPC worker threads (default 16).
        request_limits: The largest request, in bytes and in tensor elements (default
            `RequestLimits()`: 16 MiB, 2,097,152 elements).
        max_num_load_retries: How often a failed load is retried while its files stay
            unchanged (default 5, TF Serving's `--max_num_load_retries`); a change to its
            files always brings a new attempt.
        load_retry_interval_seconds: Seconds between those retries (default 60, TF
            Serving's load retry interval); retries need file-system polling.

    Example:
        >>> ServerOptions(port=0, rest_port=0, batching=BatchingOptions(max_batch_size=64),
        ...               request_limits=RequestLimits(max_request_bytes=64 * 2**20))
    """

    host: str = "127.0.0.1"
    port: int = 8500
    rest_port: int | None = 8501
    file_system_poll_wait_seconds: float = 1.0
    model_config_file_poll_wait_seconds: float = 0.0
    batching: BatchingOptions | None = None
    grpc_max_threads: int = 16
    request_limits: RequestLimits = RequestLimits()
    max_num_load_retries: int = 5
    load_retry_interval_seconds: float = 60.0

    def __post_init__(self):
        for field in ("port", "rest_port"):
            value = getattr(self, field)
            if value is None and field == "rest_port":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 65536:
                raise ValueError(f"`{field}` ({value!r}) must be a port number in [0, 65535].")
        for field in ("file_system_poll_wait_seconds", "model_config_file_poll_wait_seconds"):
            if getattr(self, field) < 0:
                raise ValueError(f"`{field}` ({getattr(self, field)!r}) must be >= 0.")
        if self.grpc_max_threads < 1:
            raise ValueError(f"`grpc_max_threads` ({self.grpc_max_threads!r}) must be positive.")
        if self.batching is not None and not isinstance(self.batching, BatchingOptions):
            raise TypeError(f"`batching` must be BatchingOptions; received {self.batching!r}.")
        if not isinstance(self.request_limits, RequestLimits):
            raise TypeError("`request_limits` must be serving.RequestLimits; received "
                            f"{self.request_limits!r}.")
        if (not isinstance(self.max_num_load_retries, int)
                or isinstance(self.max_num_load_retries, bool) or self.max_num_load_retries < 0):
            raise ValueError(f"`max_num_load_retries` ({self.max_num_load_retries!r}) must be "
                             "an integer >= 0.")
        if not self.load_retry_interval_seconds >= 0:
            raise ValueError("`load_retry_interval_seconds` "
                             f"({self.load_retry_interval_seconds!r}) must be >= 0.")


class ModelServer:
    """Serves models over TF Serving's gRPC and REST APIs.

    Give the models as ModelConfigs or as a models.config file. `start()` loads the
    versions found on disk, then listens; `stop()` ends it. Use it as a context manager
    in tests.

    Args:
        models: The models to serve.
        model_config_file: Path of a models.config (ModelServerConfig text proto), instead
            of `models`.
        options: `ServerOptions` (ports, polling, batching).

    Example:
        >>> options = ServerOptions(port=0, rest_port=0)
        >>> with ModelServer([ModelConfig("taxi", "/serving/taxi")], options=options) as server:
        ...     client = ServingClient(server.grpc_address)
    """

    def __init__(self, models: Sequence[ModelConfig] | None = None, *,
                 model_config_file: str | None = None, options: ServerOptions | None = None):
        if (models is None) == (model_config_file is None):
            raise ValueError("Pass exactly one of `models` and `model_config_file`.")
        self.options = options or ServerOptions()
        self._config_file = model_config_file
        self._config_text = None
        configs = list(models) if models is not None else self._read_config_file()
        self._health = health.HealthServicer()
        self._health_names: set[str] = set()
        self.manager = ModelManager(
            configs, batching=self.options.batching, on_change=self._update_health,
            max_num_load_retries=self.options.max_num_load_retries,
            load_retry_interval_s=self.options.load_retry_interval_seconds)
        self._grpc: grpc.Server | None = None
        self._rest: RestServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()
        self.grpc_port: int | None = None
        self.rest_port: int | None = None

    @property
    def grpc_address(self) -> str:
        """host:port of the gRPC server (after start)."""
        return f"{self.options.host}:{self.grpc_port}"

    @property
    def rest_url(self) -> str:
        """http://host:port of the REST server (after start)."""
        return f"http://{self.options.host}:{self.rest_port}"

    def start(self) -> ModelServer:
        """Loads the models' versions, then starts listening. Returns self."""
        self.manager.poll()
        self._update_health()
        limits = self.options.request_limits
        options = [("grpc.max_receive_message_length", limits.max_request_bytes),
                   ("grpc.max_send_message_length", MAX_RESPONSE_BYTES),
                   ("grpc.so_reuseport", 0)]  # Fail, don't share, if the port is taken.
        server = grpc.server(futures.ThreadPoolExecutor(self.options.grpc_max_threads,
                                                        thread_name_prefix="grpc"),
                             options=options)
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            PredictionService(self.manager, limits), server)
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(self.manager),
                                                                  server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        try:
            port = server.add_insecure_port(f"{self.options.host}:{self.options.port}")
        except RuntimeError as exc:
            port, cause = 0, exc
        else:
            cause = None
        if not port:
            raise OSError(f"Could not bind the gRPC port {self.options.host}:"
                          f"{self.options.port} (in use?).") from cause
        server.start()
        self._grpc, self.grpc_port = server, port
        if self.options.rest_port is not None:
            try:
                self._rest = RestServer((self.options.host, self.options.rest_port), self.manager,
                                        limits)
            except OSError:
                server.stop(0)
                raise
            self.rest_port = self._rest.port
            self._spawn(self._rest.serve_forever, "rest")
        if self.options.file_system_poll_wait_seconds:
            self.manager.start_polling(self.options.file_system_poll_wait_seconds)
        if self._config_file and self.options.model_config_file_poll_wait_seconds:
            self._spawn(self._poll_config_file, "config-poll")
        logger.info("Serving %s: gRPC on %s:%d%s", sorted(self.manager.configs),
                    self.options.host, self.grpc_port,
                    f", REST on {self.rest_url}" if self._rest else "")
        return self

    def stop(self, grace_s: float = 2.0) -> None:
        """Stops listening (in-flight requests get `grace_s` seconds) and unloads models."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._health.enter_graceful_shutdown()
        if self._rest is not None:
            self._rest.shutdown()
            self._rest.server_close()
        if self._grpc is not None:
            self._grpc.stop(grace_s).wait(grace_s + 5)
        self.manager.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        logger.info("Server stopped")

    def wait(self, timeout_s: float | None = None) -> bool:
        """Blocks until `stop()` (or the timeout); returns whether it stopped."""
        return self._stopped.wait(timeout_s)

    def __enter__(self) -> ModelServer:
        return self.start() if self.grpc_port is None else self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _spawn(self, target, name):
        thread = threading.Thread(target=target, name=f"serving-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _read_config_file(self) -> list[ModelConfig]:
        import tensorflow as tf

        with tf.io.gfile.GFile(self._config_file, "r") as f:
            text = f.read()
        configs = model_config.parse_model_config(text)
        self._config_text = text
        return configs

    def _poll_config_file(self) -> None:
        while not self._stopped.wait(self.options.model_config_file_poll_wait_seconds):
            try:
                previous = self._config_text
                configs = self._read_config_file()
                if self._config_text != previous:
                    logger.info("Model config file changed; now serving %s",
                                sorted(c.name for c in configs))
                    self.manager.reload(configs)
            except Exception as exc:  # noqa: BLE001  (keep serving the last good config)
                logger.error("Reading the model config file %s failed: %s; keeping the "
                             "current models.", self._config_file, exc)

    def _update_health(self) -> None:
        serving = health_pb2.HealthCheckResponse.SERVING
        not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
        ready = self.manager.is_ready()
        for service in ("", PREDICTION_SERVICE):
            self._health.set(service, serving if ready else not_serving)
        self._health.set(MODEL_SERVICE, serving)
        names = set(self.manager.configs)
        for name in names:  # Per model: the service name is the model name.
            self._health.set(name, serving if self.manager.is_ready(name) else not_serving)
        for name in self._health_names - names:  # Dropped by a config reload.
            self._health.set(name, health_pb2.HealthCheckResponse.SERVICE_UNKNOWN)
        self._health_names = names
