"""TPUStrategy through a TPUClusterResolver, connected in bounded time.

`el.distribute.make_strategy("tpu", ...)` calls `tpu_strategy` here. Which TPU:

| `tpu` (or the environment)        | what it is                                   | how it is reached |
|-----------------------------------|----------------------------------------------|-------------------|
| "local"                           | the TPU chips attached to this VM (Cloud TPU VM, GKE TPU node) | no network |
| "grpc://10.0.0.2:8470", "10.0.0.2:8470", several joined by "," | TPU workers' gRPC addresses | TCP, waited for |
| "my-tpu"                          | a Cloud TPU name                             | the Cloud TPU API (needs zone and project, or the GCE metadata server) |

Without `tpu`, `KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS` (set by GKE) and then `TPU_NAME` (set on
Cloud TPU VMs and by TPU tooling) are read, in the order TensorFlow's own resolver reads
them. Nothing found is an error naming both, not a guess.

Why the bounds: TensorFlow's `experimental_connect_to_cluster` to an address where nothing
listens waits without a limit (measured here: still waiting after 90 s), so the addresses
are first polled over plain TCP until `startup_timeout_secs`, and a TPU runtime that finds
no chips (`initialize_tpu_system`) becomes a RuntimeError that says which TPU was asked for
and how to name another.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import urllib.parse

import tensorflow as tf

logger = logging.getLogger("estimator_lib")

# In the order TensorFlow's Cloud TPU client reads them (tensorflow/python/tpu/client).
TPU_ENVIRONMENT_VARIABLES = ("KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS", "TPU_NAME")
DEFAULT_TPU_PORT = 8470  # The TPU worker's gRPC port.
_METADATA_HOST = "metadata.google.internal"


def resolve_tpu(tpu: str | None = None) -> tuple[str, str]:
    """Which TPU to use, and where that came from.

    Args:
        tpu: "local", a Cloud TPU name, or gRPC addresses; None reads the environment.

    Returns:
        `(tpu, source)`: the TPU ("host:port" addresses get "grpc://") and a phrase for
        messages such as "tpu=" or "$TPU_NAME".

    Raises:
        TypeError: If `tpu` is not a string.
        ValueError: If `tpu` is empty, or None and no variable of
            `TPU_ENVIRONMENT_VARIABLES` is set.

    Example:
        >>> resolve_tpu("10.0.0.2:8470")
        ('grpc://10.0.0.2:8470', 'tpu=')
    """
    source = "tpu="
    if tpu is None:
        for variable in TPU_ENVIRONMENT_VARIABLES:
            if os.environ.get(variable, "").strip():
                tpu, source = os.environ[variable], f"${variable}"
                break
        else:
            raise ValueError(
                "No TPU named: pass make_strategy('tpu', tpu=...) ('local' on a Cloud TPU VM, "
                "a Cloud TPU name, or 'grpc://host:8470'), or set TPU_NAME "
                f"(also read: {TPU_ENVIRONMENT_VARIABLES[0]}, as GKE sets it)."
            )
    if not isinstance(tpu, str):
        raise TypeError(f"`tpu` must be a string or None; received {type(tpu).__name__}.")
    tpu = tpu.strip()
    if not tpu:
        raise ValueError(f"The TPU from {source} is empty; give 'local', a Cloud TPU name or "
                         "'grpc://host:8470'.")
    if tpu != "local" and ":" in tpu:
        tpu = ",".join(_with_scheme(part.strip()) for part in tpu.split(","))
    return tpu, source


def _with_scheme(address: str) -> str:
    return address if address.startswith("grpc://") else f"grpc://{address}"


def tpu_endpoints(tpu: str) -> list[tuple[str, int]]:
    """The `(host, port)` of each gRPC address in `tpu` ([] for "local" or a name).

    Raises:
        ValueError: For an address that is not `grpc://host:port`.
    """
    if tpu == "local" or "://" not in tpu:
        return []
    endpoints = []
    for address in tpu.split(","):
        parsed = urllib.parse.urlsplit(address)
        try:
            port = parsed.port or DEFAULT_TPU_PORT
        except ValueError:
            port = None
        if parsed.scheme != "grpc" or not parsed.hostname or port is None or parsed.path:
            raise ValueError(f"TPU address {address!r} is not 'grpc://host:port', e.g. "
                             f"'grpc://10.0.0.2:{DEFAULT_TPU_PORT}'.")
        endpoints.append((parsed.hostname, port))
    return endpoints


def wait_for_endpoints(endpoints, timeout_secs: float, where: str,
                       poll_secs: float = 0.5) -> None:
    """Polls each TPU worker's address over TCP until all answer or time runs out.

    Raises:
        RuntimeError: "No TPU found at ...", naming the addresses that did not answer.
    """
    deadline = time.monotonic() + timeout_secs
    while True:
        failures = {}
        for host, port in endpoints:
            try:
                with socket.create_connection((host, port), timeout=min(2.0, timeout_secs)):
                    pass
            except OSError as error:
                failures[f"{host}:{port}"] = error.strerror or type(error).__name__
        if not failures:
            return
        if time.monotonic() + poll_secs > deadline:
            described = ", ".join(f"grpc://{a} ({why})" for a, why in failures.items())
            raise RuntimeError(
                f"No TPU found at {described} (the TPU from {where}) within {timeout_secs:g} s "
                "(startup_timeout_secs). Check that the TPU is up and the address is right; "
                "set TPU_NAME or pass tpu= to use another ('local' on a Cloud TPU VM)."
            )
        time.sleep(poll_secs)


def _check_cloud_api_reachable(tpu: str, zone: str | None, project: str | None,
                               where: str) -> None:
    """A TPU name without zone and project is looked up through the GCE metadata server;
    outside Google Cloud that lookup would wait on a host that is not there."""
    if zone and project:
        return
    host = os.environ.get("GCE_METADATA_HOST") or os.environ.get("GCE_METADATA_IP") or \
        _METADATA_HOST
    name, _, port = host.rpartition(":") if ":" in host else (host, "", "80")
    try:
        with socket.create_connection((name, int(port)), timeout=2):
            return
    except (OSError, ValueError) as error:
        missing = " and ".join(n for n, v in (("zone", zone), ("project", project)) if not v)
        raise ValueError(
            f"TPU {tpu!r} (from {where}) is a Cloud TPU name, looked up through the Cloud TPU "
            f"API; without `{missing}` that needs the GCE metadata server ({host}), which did "
            f"not answer ({getattr(error, 'strerror', None) or error}). Pass zone= and "
            "project=, or give the TPU's address: tpu='grpc://host:8470' (or 'local' on a "
            "Cloud TPU VM)."
        ) from None


def tpu_strategy(tpu: str | None = None, *, zone: str | None = None,
                 project: str | None = None,
                 startup_timeout_secs: float = 300) -> tf.distribute.TPUStrategy:
    """Resolves the TPU, connects, initializes the TPU system, and returns a TPUStrategy.

    See `el.distribute.make_strategy("tpu", ...)`, the public entry point, and the module
    docstring for what `tpu` may be.

    Raises:
        ValueError: If no TPU is named, or a name cannot be looked up here.
        RuntimeError: If the TPU does not answer within `startup_timeout_secs`, or has no
            TPU devices.
    """
    tpu, where = resolve_tpu(tpu)
    for name, value in (("zone", zone), ("project", project)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"`{name}` ({value!r}) must be a non-empty string or None.")
    endpoints = tpu_endpoints(tpu)
    if tpu != "local" and not endpoints:
        _check_cloud_api_reachable(tpu, zone, project, where)
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
        tpu=tpu, zone=zone, project=project)
    if tpu != "local":
        if not endpoints:  # A name: the Cloud TPU API gives the workers' addresses.
            endpoints = [tuple(a.rsplit(":", 1)) for a in
                         resolver.cluster_spec().as_dict().get(resolver.task_type, [])]
            endpoints = [(host, int(port)) for host, port in endpoints]
        wait_for_endpoints(endpoints, startup_timeout_secs, where)
        tf.config.experimental_connect_to_cluster(resolver)
    try:
        topology = tf.tpu.experimental.initialize_tpu_system(resolver)
    except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError,
            tf.errors.UnavailableError, tf.errors.InternalError) as error:
        raise RuntimeError(
            f"No TPU found at {tpu!r} (from {where}): TensorFlow found no TPU devices to "
            f"initialize. Run on a machine with TPUs ('local' on a Cloud TPU VM), or set "
            f"TPU_NAME or pass tpu= to name one. TensorFlow said: {str(error)[:300]}"
        ) from None
    logger.info("TPU %s (from %s): %d cores on %d host(s).", tpu, where,
                getattr(topology, "num_tasks", 0) * getattr(topology, "num_tpus_per_task", 0),
                getattr(topology, "num_tasks", 0))
    return tf.distribute.TPUStrategy(resolver)
