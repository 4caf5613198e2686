"""RequestLimits: how large one request may be, so that no request can exhaust the server.

Two numbers, checked before the server spends memory on a request:

- `max_request_bytes` bounds what arrives on the wire: the gRPC message (gRPC itself
  answers RESOURCE_EXHAUSTED above it) and the REST body (413 from its Content-Length; the
  body is dropped unparsed).
- `max_request_elements` bounds the tensors a request asks for, over all its inputs. A
  TensorProto may claim a larger shape than its values fill (TensorFlow pads with the last
  value, so `[1e7, 8]` with one float is legal), and a short request could otherwise
  make the server allocate gigabytes. The claim is counted from the shape, before any
  tensor is built; REST counts the shape of the JSON lists before converting them. The
  bytes that padding adds are held to `max_request_bytes` too.
- A REST body may hold at most `max_request_elements` JSON lists and objects, counted
  from its `[` and `{` characters before it is parsed: Python spends about 60 bytes on
  each, so 16 MiB of `[],[],...` would otherwise cost about 0.5 GB.

The defaults keep the worst request to a few hundred MB (bench/serving_request_memory.py
measures it; bench/RESULTS.md has the figures): one-byte strings cost this server about
100 bytes each, JSON about 10 to 20 times its size.
"""

from __future__ import annotations

import dataclasses

from serving import errors

MIB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class RequestLimits:
    """Bounds on the size of one request.

    Args:
        max_request_bytes: The largest request, in bytes: gRPC message or REST body
            (default 16 MiB; TF Serving leaves it to gRPC's channel arguments).
        max_request_elements: The most tensor elements one request may hold or claim, over
            all its inputs; also the most JSON lists and objects in a REST body
            (default 2,097,152: 8 MiB of float32).

    Example:
        >>> RequestLimits(max_request_bytes=64 * MIB, max_request_elements=16 * MIB)
    """

    max_request_bytes: int = 16 * MIB
    max_request_elements: int = 2 * MIB

    def __post_init__(self):
        for field in ("max_request_bytes", "max_request_elements"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"`{field}` ({value!r}) must be a positive integer.")
        if self.max_request_bytes >= 2**31:
            raise ValueError(f"`max_request_bytes` ({self.max_request_bytes!r}) must be below "
                             "2 GiB, gRPC's largest message.")

    def check_bytes(self, size: int, where: str = "The request") -> None:
        """Raises RESOURCE_EXHAUSTED (HTTP 413) if `size` bytes are over the limit."""
        if size > self.max_request_bytes:
            raise errors.request_too_large(
                f"{where} has {size:,} bytes; this server takes at most "
                f"{self.max_request_bytes:,} bytes per request (server option "
                "`max_request_bytes`, `estpipe serve --max-request-bytes`). Split it into "
                "smaller requests.")

    def check_json_containers(self, body: bytes) -> None:
        """Raises RESOURCE_EXHAUSTED (HTTP 413) if a JSON body may hold more lists and
        objects than `max_request_elements`; counted before parsing, as `[` and `{`
        characters (those inside strings count too)."""
        count = body.count(b"[") + body.count(b"{")
        if count > self.max_request_elements:
            raise errors.request_too_large(
                f"The JSON body has {count:,} '[' and '{{' characters (lists and objects); "
                f"this server parses at most {self.max_request_elements:,} per request "
                "(server option `max_request_elements`, `estpipe serve "
                "--max-request-elements`). Send fewer, larger lists, or use gRPC.")

    def check_padding(self, size: int, where: str, shape) -> None:
        """Raises RESOURCE_EXHAUSTED (HTTP 413) if padding a TensorProto adds more bytes
        than a whole request may carry: a claim must not expand past what sending every
        value could (one long string repeated a million times is gigabytes)."""
        if size > self.max_request_bytes:
            raise errors.request_too_large(
                f"{where} claims shape {list(shape)} with fewer values than that; repeating "
                f"its last value to fill it would add {size:,} bytes, more than the "
                f"{self.max_request_bytes:,} bytes a request may carry (server option "
                "`max_request_bytes`). Send every value, or a smaller shape.")

    def element_budget(self) -> ElementBudget:
        """A fresh count of the elements one request has used."""
        return ElementBudget(self.max_request_elements)


class ElementBudget:
    """Counts the tensor elements of one request's inputs against the limit.

    Example:
        >>> budget = RequestLimits().element_budget()
        >>> budget.take(1000, "input 'x'", [10, 100])
    """

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0

    def take(self, count: int, where: str, shape) -> None:
        """Adds `count` elements; raises RESOURCE_EXHAUSTED (HTTP 413) past the limit."""
        self.used += count
        if self.used > self.limit:
            earlier = self.used - count
            raise errors.request_too_large(
                f"{where} has shape {list(shape)}, {count:,} elements"
                + (f" (after {earlier:,} in the inputs before it)" if earlier else "")
                + f"; this server takes at most {self.limit:,} tensor elements per request "
                "(server option `max_request_elements`, `estpipe serve "
                "--max-request-elements`). Split the batch into smaller requests.")
