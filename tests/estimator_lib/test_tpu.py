"""Tests for `el.distribute.make_strategy("tpu", ...)` (estimator_lib/_tpu.py).

This machine has no TPU. What runs for real here: argument checks, finding the TPU from
arguments and the environment, the bounded wait on an address that refuses connections
(a loopback port nothing listens on), TensorFlow's own TPU initialization failing on a
machine without TPU chips, and a Cloud TPU name that cannot be looked up. Only
`test_a_reachable_tpu_is_connected_initialized_and_wrapped` uses test doubles, for the
three calls that need a TPU runtime (connect, initialize, TPUStrategy).
"""

from __future__ import annotations

import socket
import time

import pytest
import tensorflow as tf

import estimator_lib as el
from estimator_lib import _tpu
from estimator_lib.distribute import ClusterInfo

pytestmark = pytest.mark.usefixtures("no_tf_config")


@pytest.fixture(autouse=True)
def no_tpu_environment(monkeypatch):
    for variable in _tpu.TPU_ENVIRONMENT_VARIABLES + ("TPU_CONFIG",):
        monkeypatch.delenv(variable, raising=False)


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster(task_type, **jobs):
    return ClusterInfo.from_tf_config({
        "cluster": {job: [f"127.0.0.1:{1000 + i}" for i in range(n)] for job, n in jobs.items()},
        "task": {"type": task_type, "index": 0}})


# -- which TPU ----------------------------------------------------------------------------------
@pytest.mark.parametrize("tpu, expected", [
    ("local", "local"),
    ("my-tpu", "my-tpu"),
    ("10.0.0.2:8470", "grpc://10.0.0.2:8470"),
    ("grpc://10.0.0.2:8470", "grpc://10.0.0.2:8470"),
    ("10.0.0.2:8470, 10.0.0.3:8470", "grpc://10.0.0.2:8470,grpc://10.0.0.3:8470"),
])
def test_resolve_tpu_from_the_argument(tpu, expected):
    assert _tpu.resolve_tpu(tpu) == (expected, "tpu=")


def test_resolve_tpu_from_the_environment_in_tensorflows_order(monkeypatch):
    monkeypatch.setenv("TPU_NAME", "my-tpu")
    assert _tpu.resolve_tpu() == ("my-tpu", "$TPU_NAME")
    monkeypatch.setenv("KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS", "grpc://10.0.0.2:8470")
    assert _tpu.resolve_tpu() == ("grpc://10.0.0.2:8470", "$KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS")
    assert _tpu.resolve_tpu("local") == ("local", "tpu=")  # The argument comes first.


def test_tpu_endpoints():
    assert _tpu.tpu_endpoints("local") == [] and _tpu.tpu_endpoints("my-tpu") == []
    assert _tpu.tpu_endpoints("grpc://10.0.0.2:8470,grpc://h:1") == [("10.0.0.2", 8470),
                                                                     ("h", 1)]
    assert _tpu.tpu_endpoints("grpc://10.0.0.2") == [("10.0.0.2", 8470)]
    with pytest.raises(ValueError, match=r"TPU address 'grpc://h:port' is not 'grpc://host:port'"):
        _tpu.tpu_endpoints("grpc://h:port")


@pytest.mark.parametrize("kwargs, error, match", [
    ({}, ValueError, r"No TPU named: pass make_strategy\('tpu', tpu=...\).* or set TPU_NAME"),
    ({"tpu": ""}, ValueError, r"The TPU from tpu= is empty"),
    ({"tpu": 8470}, TypeError, r"`tpu` must be a string or None; received int"),
    ({"tpu": "local", "zone": ""}, ValueError, r"`zone` \(''\) must be a non-empty string"),
    ({"tpu": "local", "startup_timeout_secs": 0}, ValueError,
     r"`startup_timeout_secs` \(0\) must be a positive number"),
])
def test_bad_tpu_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        el.distribute.make_strategy("tpu", **kwargs)


def test_tpu_arguments_only_apply_to_kind_tpu():
    with pytest.raises(ValueError, match=r"`tpu`, `zone` only apply to kind='tpu'; received "
                                         r"kind='mirrored'"):
        el.distribute.make_strategy("mirrored", tpu="local", zone="us-central2-b")


def test_tpu_strategy_and_the_cluster():
    # The evaluator evaluates on its CPU: no TPU is looked for (none is named here).
    assert el.distribute.make_strategy("tpu", cluster=cluster("evaluator")) is None
    with pytest.raises(ValueError, match="`kind='tpu'` does not use 'ps' tasks"):
        el.distribute.make_strategy("tpu", tpu="local", cluster=cluster("chief", chief=1, worker=1,
                                                                        ps=1))
    with pytest.raises(ValueError, match="trains from one program, but the TF_CONFIG cluster "
                                         "has 2 training tasks"):
        el.distribute.make_strategy("tpu", tpu="local", cluster=cluster("worker", worker=2))


# -- no TPU here: clear errors in bounded time ----------------------------------------------
def test_an_address_that_refuses_connections_is_a_clear_error_in_bounded_time(monkeypatch):
    port = refused_port()
    monkeypatch.setenv("TPU_NAME", f"127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=(
            rf"No TPU found at grpc://127.0.0.1:{port} \(Connection refused\) \(the TPU from "
            r"\$TPU_NAME\) within 1.5 s \(startup_timeout_secs\).*set TPU_NAME or pass tpu=")):
        el.distribute.make_strategy("tpu", startup_timeout_secs=1.5)
    # TensorFlow's own connect would still be waiting (measured: over 90 s).
    assert time.monotonic() - started < 10


def test_local_tpu_on_a_machine_without_one_is_a_clear_error():
    """Real TensorFlow: initialize_tpu_system finds no TPU devices on this machine."""
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"No TPU found at 'local' \(from tpu=\): TensorFlow "
                                           r"found no TPU devices.*set TPU_NAME or pass tpu="):
        el.distribute.make_strategy("tpu", tpu="local")
    assert time.monotonic() - started < 60


def test_a_cloud_tpu_name_without_zone_and_project_outside_google_cloud(monkeypatch):
    monkeypatch.setenv("GCE_METADATA_HOST", f"127.0.0.1:{refused_port()}")
    with pytest.raises(ValueError, match=r"TPU 'my-tpu' \(from tpu=\) is a Cloud TPU name.*"
                                         r"without `zone and project`.*Pass zone= and project="):
        el.distribute.make_strategy("tpu", tpu="my-tpu")
    with pytest.raises(ValueError, match="without `project`"):
        el.distribute.make_strategy("tpu", tpu="my-tpu", zone="us-central2-b")


# -- with a TPU (test doubles: there is none on this machine) ------------------------------
def test_a_reachable_tpu_is_connected_initialized_and_wrapped(monkeypatch):
    """Doubles stand in for connect, initialize and TPUStrategy, which need a TPU runtime;
    the resolver and the reachability wait are real (a loopback socket that listens)."""
    calls = []

    class FakeTPUStrategy:
        def __init__(self, resolver):
            calls.append(("strategy", resolver))

    monkeypatch.setattr(tf.config, "experimental_connect_to_cluster",
                        lambda resolver: calls.append(("connect", resolver)))
    monkeypatch.setattr(tf.tpu.experimental, "initialize_tpu_system",
                        lambda resolver: calls.append(("initialize", resolver)))
    monkeypatch.setattr(tf.distribute, "TPUStrategy", FakeTPUStrategy)
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        monkeypatch.setenv("KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS", f"grpc://127.0.0.1:{port}")
        strategy = el.distribute.make_strategy("tpu", startup_timeout_secs=5)
    assert isinstance(strategy, FakeTPUStrategy)
    assert [name for name, _ in calls] == ["connect", "initialize", "strategy"]
    resolver = calls[0][1]
    assert isinstance(resolver, tf.distribute.cluster_resolver.TPUClusterResolver)
    assert all(r is resolver for _, r in calls)
    assert resolver.master() == f"grpc://127.0.0.1:{port}"
    assert resolver.cluster_spec().as_dict() == {"worker": [f"127.0.0.1:{port}"]}
