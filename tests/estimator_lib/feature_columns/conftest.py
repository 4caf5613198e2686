"""Every test starts Keras's layer-name counters afresh, so default names are predictable."""

import pytest

from estimator_lib import _variables


@pytest.fixture(autouse=True)
def fresh_layer_names():
    with _variables.fresh_keras_names():
        yield
