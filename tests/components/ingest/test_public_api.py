"""The public surface of components.ingest: every name in __all__ resolves."""

from __future__ import annotations

import importlib

import pytest

import components.ingest as ingest


@pytest.mark.parametrize("module", [
    "components.ingest", "components.ingest.anomalies", "components.ingest.config",
    "components.ingest.decoder", "components.ingest.executor", "components.ingest.parsing",
    "components.ingest.pipeline", "components.ingest.quarantine", "components.ingest.schema",
    "components.ingest.sources", "components.ingest.spans", "components.ingest.splitting",
    "components.ingest.statistics", "components.ingest.statistics_html",
    "components.ingest.component",
])
def test_every_name_in_all_resolves(module):
    imported = importlib.import_module(module)
    assert [name for name in imported.__all__ if not hasattr(imported, name)] == []


def test_the_executor_does_not_import_kfp():
    import subprocess
    import sys

    code = ("import sys; import components.ingest.executor; "
            "print('kfp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
    assert sorted(ingest.__all__) == ingest.__all__
