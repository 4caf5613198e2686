"""Fixtures shared by the component tests."""

import pytest

from tests.components.taxi_pipeline_data import TaxiData, make_taxi_data


@pytest.fixture(scope="session")
def taxi_data(tmp_path_factory) -> TaxiData:
    """The taxi sample, ingested and transformed once per session (tens of seconds)."""
    return make_taxi_data(str(tmp_path_factory.mktemp("taxi_data")))
