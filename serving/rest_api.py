"""TF Serving's REST API over a ModelManager, on the standard library's HTTP server.

    GET  /v1/models/{name}[/versions/{v}|/labels/{l}]            model status
    GET  /v1/models/{name}[/versions/{v}|/labels/{l}]/metadata   signature defs
    POST /v1/models/{name}[/versions/{v}|/labels/{l}]:predict    {"instances": [...]} or {"inputs": ...}
    POST /v1/models/{name}[/versions/{v}|/labels/{l}]:classify   {"examples": [...], "context": {...}}
    POST /v1/models/{name}[/versions/{v}|/labels/{l}]:regress    {"examples": [...], "context": {...}}

Responses and errors have TF Serving's shapes: `{"predictions": [...]}` (row format),
`{"outputs": ...}` (columnar), `{"result": [...]}` (classify/regress), `{"error": "..."}`
with the HTTP status of the error's gRPC code. Every error is JSON, including those of the
HTTP layer itself (405 for a method an endpoint does not take, 413 for a body over
`RequestLimits.max_request_bytes`, 501 for an unknown method).
"""

from __future__ import annotations

import http.server
import json
import logging
import re
import socketserver
import sys
import urllib.parse

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import json_format

from serving import errors, inference, tensor_codec, tf_example
from serving.manager import ModelManager
from serving.request_limits import RequestLimits

logger = logging.getLogger("serving")

_DRAIN_FACTOR = 8  # Oversized bodies up to 8x the limit are read (and dropped) before a 413.

_PATH = re.compile(
    r"/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
    r"(?P<suffix>/metadata|:predict|:classify|:regress)?/?")


def _parse_path(path: str):
    match = _PATH.fullmatch(urllib.parse.urlsplit(path).path)
    if match is None:
        return None
    version = match.group("version")
    if version is not None:
        if not re.fullmatch(r"[0-9]{1,18}", version):
            raise errors.invalid_argument(f"Failed to convert version: {version} to numeric.")
        version = int(version)
    label = match.group("label")
    return (urllib.parse.unquote(match.group("name")), version,
            urllib.parse.unquote(label) if label else None, match.group("suffix") or "")


class RestApi:
    """Answers REST requests: `handle(method, path, body) -> (http status, JSON object)`.

    Kept apart from the HTTP server so it can be tested and reused without sockets.

    Args:
        manager: The ModelManager that holds the served models.
        limits: The bounds on one request (default `RequestLimits()`).

    Example:
        >>> RestApi(manager).handle("POST", "/v1/models/taxi:predict",
        ...                         b'{"instances": [[1.0, 2.0, 3.0]]}')
        (200, {'predictions': [...]})
    """

    def __init__(self, manager: ModelManager, limits: RequestLimits | None = None):
        self._manager = manager
        self.limits = limits or RequestLimits()

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, object]:
        """The HTTP status and JSON-ready response for one request; never raises."""
        try:
            return 200, self._dispatch(method, path, body)
        except errors.ServingError as exc:
            logger.debug("%s %s failed: %s %s", method, path, exc.code.name, exc.message)
            return exc.http_status, {"error": exc.message}
        except Exception as exc:  # noqa: BLE001  (a bug must not kill the server)
            error = errors.from_exception(exc)
            if error.http_status >= 500:
                logger.exception("%s %s failed unexpectedly", method, path)
            return error.http_status, {"error": error.message}

    def _dispatch(self, method: str, path: str, body: bytes):
        parsed = _parse_path(path)
        if parsed is None:
            raise errors.not_found(
                f"Malformed request: {method} {path}. Use /v1/models/<name>[/versions/<v>]"
                "[/metadata|:predict|:classify|:regress].")
        name, version, label, suffix = parsed
        expected = allowed_method(path)
        if method != expected:
            raise errors.ServingError(
                grpc.StatusCode.UNIMPLEMENTED,
                f"Method {method} is not allowed on {path}; this endpoint takes {expected}.",
                http_status=405)
        if suffix == "":
            return self._status(name, version, label)
        if method == "POST":  # Before anything else is done for it.
            self.limits.check_bytes(len(body))
            self.limits.check_json_containers(body)
        servable = self._manager.resolve(name, version, label)
        if suffix == "/metadata":
            spec = inference.model_spec(servable)
            return {"model_spec": json_format.MessageToDict(spec, preserving_proto_field_name=True)
                    | {"signature_name": ""},
                    "metadata": {"signature_def": json_format.MessageToDict(
                        servable.metadata(), preserving_proto_field_name=True)}}
        request = _parse_json(body)
        signature_name = request.get("signature_name", "")
        if not isinstance(signature_name, str):
            raise errors.invalid_argument("\"signature_name\" must be a string.")
        if suffix == ":predict":
            return self._predict(servable, signature_name, request)
        serialized = tf_example.json_examples(request.get("examples"), request.get("context"))
        if suffix == ":classify":
            _, result = inference.classify(servable, signature_name, serialized)
            return {"result": [[[c.label, c.score] for c in item.classes]
                               for item in result.classifications]}
        _, result = inference.regress(servable, signature_name, serialized)
        return {"result": [r.value for r in result.regressions]}

    def _status(self, name, version, label):
        statuses = self._manager.model_status(name, version, label)
        return {"model_version_status": [
            {"version": str(s.version), "state": s.state.value,
             "status": {"error_code": "UNKNOWN" if s.error else "OK",
                        "error_message": s.error}} for s in statuses]}

    def _predict(self, servable, signature_name, request):
        signature = servable.signature(signature_name)
        has_rows, has_columns = "instances" in request, "inputs" in request
        if has_rows == has_columns:
            raise errors.invalid_argument(
                "Missing 'inputs' or 'instances' key" if not has_rows else
                "Both 'inputs' and 'instances' are specified; send one: \"instances\" (row "
                "format) or \"inputs\" (columnar format).")
        budget = self.limits.element_budget()
        if has_rows:
            inputs = _rows_to_inputs(request["instances"], signature, budget)
        else:
            inputs = _columns_to_inputs(request["inputs"], signature, budget)
        outputs = servable.run(signature.key, inputs)
        if has_columns:
            converted = {k: tensor_codec.ndarray_to_json(v, k) for k, v in outputs.items()}
            return {"outputs": next(iter(converted.values())) if len(converted) == 1
                    else converted}
        sizes = {k: (np.shape(v)[0] if np.ndim(v) else None) for k, v in outputs.items()}
        batch = next(iter(sizes.values()))
        if batch is None or any(s != batch for s in sizes.values()):
            raise errors.invalid_argument(
                f"Output sizes differ ({sizes}); the row format needs every output to have "
                "one row per instance. Use the columnar format (\"inputs\") instead.")
        rows = {k: tensor_codec.ndarray_to_json(v, k) for k, v in outputs.items()}
        if len(rows) == 1:
            return {"predictions": next(iter(rows.values()))}
        return {"predictions": [{k: rows[k][i] for k in rows} for i in range(batch)]}


def allowed_method(path: str) -> str:
    """The one method an endpoint takes: POST for :predict/:classify/:regress, else GET.

    Example:
        >>> allowed_method("/v1/models/taxi:predict")
        'POST'
    """
    return "POST" if re.search(r":(predict|classify|regress)/?$",
                               urllib.parse.urlsplit(path).path) else "GET"


def _parse_json(body: bytes) -> dict:
    try:
        request = json.loads(body or b"null")
    except RecursionError:
        raise errors.invalid_argument(
            "JSON Parse error: the body nests lists or objects too deeply (the limit is "
            f"about {sys.getrecursionlimit()} levels).") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.invalid_argument(f"JSON Parse error: {exc}") from exc
    if not isinstance(request, dict):
        raise errors.invalid_argument("The request body must be a JSON object.")
    return request


def _convert(value, signature, name, budget):
    spec = signature.inputs.get(name)
    where = f"input {name!r}"
    if spec is None:  # Let the signature check report every unexpected name at once.
        return np.asarray(0)
    return tensor_codec.json_to_tensor(value, spec.dtype, where, budget)


def _single_input(signature) -> str:
    if len(signature.inputs) != 1:
        raise errors.invalid_argument(
            f"Signature {signature.key!r} has {len(signature.inputs)} inputs "
            f"{sorted(signature.inputs)}; send each instance (or \"inputs\") as an object "
            "keyed by input name.")
    return next(iter(signature.inputs))


def _rows_to_inputs(instances, signature, budget) -> dict[str, tf.Tensor]:
    if not isinstance(instances, list) or not instances:
        raise errors.invalid_argument("\"instances\" must be a non-empty JSON list.")
    named = [isinstance(r, dict) and not tensor_codec.is_b64_object(r) for r in instances]
    if any(named) and not all(named):
        raise errors.invalid_argument(
            "Mixed instances: every instance must be an object keyed by input name, or none.")
    if not named[0]:
        name = _single_input(signature)
        return {name: _convert(instances, signature, name, budget)}
    keys = set(instances[0])
    for index, row in enumerate(instances):
        if set(row) != keys:
            raise errors.invalid_argument(
                f"instances[{index}] has the inputs {sorted(row)} but instances[0] has "
                f"{sorted(keys)}; every instance needs the same inputs.")
    return {k: _convert([row[k] for row in instances], signature, k, budget) for k in keys}


def _columns_to_inputs(inputs, signature, budget) -> dict[str, tf.Tensor]:
    if isinstance(inputs, dict) and not tensor_codec.is_b64_object(inputs):
        return {k: _convert(v, signature, k, budget) for k, v in inputs.items()}
    name = _single_input(signature)
    return {name: _convert(inputs, signature, name, budget)}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # Keep-alive: clients reuse connections.
    server_version = "estpipe-serving"
    timeout = 120  # Close idle keep-alive connections.
    api: RestApi

    def do_GET(self):  # noqa: N802  (http.server's names)
        self._skip_body()
        self._respond("GET", b"")

    def do_POST(self):  # noqa: N802
        length = self._body_length()
        if length is None:
            self.close_connection = True  # The unread body would corrupt the next request.
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                self._send(411, {"error": "Chunked request bodies are not supported; send a "
                                          "Content-Length."})
            else:
                self._send(400, {"error": "Bad Content-Length "
                                          f"{self.headers.get('Content-Length')!r}."})
            return
        try:
            self.api.limits.check_bytes(length)
        except errors.ServingError as exc:
            self._discard(length)
            self.close_connection = True
            self._send(exc.http_status, {"error": exc.message})
            return
        self._respond("POST", self.rfile.read(length))

    def handle_expect_100(self):
        """`Expect: 100-continue` (curl sends it for large bodies): refuse an oversized body
        before the client uploads it."""
        length = self._body_length()
        if self.command == "POST" and length is not None:
            try:
                self.api.limits.check_bytes(length)
            except errors.ServingError as exc:
                self.close_connection = True
                self._send(exc.http_status, {"error": exc.message})
                return False
        return super().handle_expect_100()

    def _other_method(self):
        """PUT, DELETE, PATCH, OPTIONS, HEAD: 405 (with Allow) on an endpoint, else 404."""
        self._skip_body()
        self._respond(self.command, b"")

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _other_method

    def _body_length(self) -> int | None:
        """The body's declared length; None for a chunked or malformed one."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        return length if length >= 0 else None

    def _discard(self, length):
        """Reads and drops a body (an oversized one, so the client gets to read the 413: a
        client still sending when the server closes sees a reset instead). Bodies far over
        the limit are not drained, and the connection is closed."""
        if length > _DRAIN_FACTOR * self.api.limits.max_request_bytes:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                self.close_connection = True
                return
            length -= len(chunk)

    def _skip_body(self):
        """Drops the body of a request that takes none, so the connection stays in step."""
        length = self._body_length()
        if length is None:
            self.close_connection = True
        elif length:
            self._discard(length)

    def send_error(self, code, message=None, explain=None):
        """http.server's own errors (unknown method, bad request line) as JSON too."""
        self.close_connection = True
        try:
            self._send(int(code), {"error": message or explain or http.HTTPStatus(code).phrase})
        except OSError:  # The client is gone.
            pass

    def _respond(self, method, body):
        status, payload = self.api.handle(method, self.path, body)
        self._send(status, payload, {"Allow": allowed_method(self.path)} if status == 405 else {})

    def _send(self, status, payload, headers=()):
        data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in dict(headers).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format, *args):  # noqa: A002  (quiet: debug only)
        logger.debug("REST %s - %s", self.address_string(), format % args)


class RestServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """A threaded HTTP server for `RestApi`; `serve_forever()` in a thread, `shutdown()`.

    Args:
        address: (host, port); port 0 picks a free port (see `port`).
        manager: The ModelManager that holds the served models.
        limits: The bounds on one request (default `RequestLimits()`).

    Example:
        >>> server = RestServer(("127.0.0.1", 0), manager)
        >>> threading.Thread(target=server.serve_forever, daemon=True).start()
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, manager: ModelManager, limits: RequestLimits | None = None):
        handler = type("Handler", (_Handler,), {"api": RestApi(manager, limits)})
        super().__init__(address, handler)

    @property
    def port(self) -> int:
        return self.server_address[1]
