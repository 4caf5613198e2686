"""Session fixtures: one taxi export, toy SavedModels, and one running server for all tests.

Every server binds 127.0.0.1 on ephemeral ports and is stopped when its fixture ends.
"""

from __future__ import annotations

import os

import pytest

from serving import ModelConfig, ModelServer, ServerOptions, ServingClient
from tests.serving import models

TOY_VERSIONS = (1, 2)


@pytest.fixture(scope="session")
def toy_base(tmp_path_factory):
    """<base>/toy/{1,2}: y = version * sum(x)."""
    base = tmp_path_factory.mktemp("serving") / "toy"
    for version in TOY_VERSIONS:
        models.save_toy(os.fspath(base / str(version)), scale=version)
    return base


@pytest.fixture(scope="session")
def taxi_base(tmp_path_factory):
    """<base>/taxi/<version>: the small taxi classifier, exported once per session."""
    root = tmp_path_factory.mktemp("taxi")
    models.export_taxi(root / "serving" / "taxi", os.fspath(root / "model_dir"))
    return root / "serving" / "taxi"


@pytest.fixture(scope="session")
def taxi_version(taxi_base):
    return int(os.listdir(taxi_base)[0])


@pytest.fixture(scope="session")
def server(toy_base, taxi_base):
    """One server for the read-only tests: `toy` (versions 1 and 2 served) and `taxi`."""
    from serving import VersionPolicy

    configs = [ModelConfig("toy", os.fspath(toy_base), version_policy=VersionPolicy.all(),
                           version_labels={"stable": 1, "canary": 2}),
               ModelConfig("taxi", os.fspath(taxi_base))]
    options = ServerOptions(port=0, rest_port=0, file_system_poll_wait_seconds=0)
    with ModelServer(configs, options=options) as running:
        yield running


@pytest.fixture(scope="session")
def client(server):
    with ServingClient(server.grpc_address, timeout_s=20) as opened:
        yield opened
