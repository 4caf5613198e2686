"""ServingError: a request failure with the gRPC status code TF Serving would return.

Both front ends (gRPC and REST) raise and catch the same error, so a bad request gets the
same code and message either way: gRPC sends the code, REST maps it to an HTTP status the
way TF Serving's HTTP server does (`http_status`).
"""

from __future__ import annotations

import re

import grpc

# TF Serving's mapping (model_servers/http_server.cc, ToHTTPStatusCode).
_HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}
# TensorFlow's error codes are gRPC's numbers (tensorflow/core/protobuf/error_codes.proto).
_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


class ServingError(Exception):
    """A failed request: a gRPC status code and a message for the caller.

    Args:
        code: A `grpc.StatusCode` (NOT_FOUND for unknown models or versions,
            INVALID_ARGUMENT for bad inputs, ...).
        message: What was wrong and, where possible, how to fix it.
        http_status: The REST status, where HTTP has a more precise one than the code's
            (413 for a request over the size limits, 405 for a wrong method); default:
            TF Serving's mapping of `code`.

    Example:
        >>> raise ServingError(grpc.StatusCode.NOT_FOUND, "Model 'taxi' is not served.")
    """

    def __init__(self, code: grpc.StatusCode, message: str, *, http_status: int | None = None):
        if not isinstance(code, grpc.StatusCode):
            raise TypeError(f"`code` must be a grpc.StatusCode; received {code!r}.")
        super().__init__(message)
        self.code = code
        self.message = message
        self._http_status = http_status

    @property
    def http_status(self) -> int:
        """The HTTP status of this error (TF Serving's mapping of the code by default)."""
        return self._http_status or _HTTP_STATUS.get(self.code, 500)

    def __repr__(self) -> str:
        return f"ServingError({self.code.name}, {self.message!r})"


def not_found(message: str) -> ServingError:
    return ServingError(grpc.StatusCode.NOT_FOUND, message)


def invalid_argument(message: str) -> ServingError:
    return ServingError(grpc.StatusCode.INVALID_ARGUMENT, message)


def failed_precondition(message: str) -> ServingError:
    return ServingError(grpc.StatusCode.FAILED_PRECONDITION, message)


def unavailable(message: str) -> ServingError:
    return ServingError(grpc.StatusCode.UNAVAILABLE, message)


def request_too_large(message: str) -> ServingError:
    """RESOURCE_EXHAUSTED (gRPC's code for a message over its size limit), HTTP 413."""
    return ServingError(grpc.StatusCode.RESOURCE_EXHAUSTED, message, http_status=413)


def internal(message: str) -> ServingError:
    return ServingError(grpc.StatusCode.INTERNAL, message)


def from_exception(exc: BaseException) -> ServingError:
    """The ServingError for any exception raised while serving a request.

    TensorFlow op errors keep their code (a tf.Example that fails to parse is
    INVALID_ARGUMENT); anything else is INTERNAL.
    """
    if isinstance(exc, ServingError):
        return exc
    import tensorflow as tf  # Late: this module is also used by the light-weight client.

    if isinstance(exc, tf.errors.OpError):
        code = _BY_NUMBER.get(exc.error_code, grpc.StatusCode.UNKNOWN)
        return ServingError(code, _first_lines(exc.message))
    return internal(f"{type(exc).__name__}: {exc}")


_NOISE = re.compile(r"^(Graph execution error:|Detected at node |<stack traces unavailable>|"
                    r"\s+File |\s+\[\[\{\{node )")


def _first_lines(message: str, limit: int = 4) -> str:
    """The lines of a TF op error that say what went wrong, without graph stack traces."""
    lines = [line.strip() for line in str(message).splitlines()
             if line.strip() and not _NOISE.match(line)]
    text = "\n".join(lines[:limit]) or str(message).strip()
    return re.sub(r"\s*\[Op:[^\]]*\]$", "", text)
