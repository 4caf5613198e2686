"""The public surface of components.pusher: every name in __all__ resolves; layers stay apart."""

import importlib
import subprocess
import sys

import pytest

import components.pusher as pusher

MODULES = ["components.pusher", "components.pusher.cli",
           "components.pusher.component", "components.pusher.config",
           "components.pusher.executor", "components.pusher.fingerprint",
           "components.pusher.history", "components.pusher.infra_validation",
           "components.pusher.rollback", "components.pusher.versions"]


@pytest.mark.parametrize("module", MODULES)
def test_every_name_in_all_resolves(module):
    imported = importlib.import_module(module)
    assert [name for name in imported.__all__ if not hasattr(imported, name)] == []
    assert sorted(imported.__all__) == imported.__all__


def test_layers_import_only_what_they_need():
    code = ("import sys; import components.pusher, components.pusher.cli; "
            "light = 'tensorflow' in sys.modules or 'kfp' in sys.modules; "
            "import components.pusher.executor, components.pusher.rollback; "
            "print(light, 'kfp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False"]
    assert pusher.__all__ == ["PusherConfig", "PusherSettings"]
