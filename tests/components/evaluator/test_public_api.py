"""The public surface of components.evaluator: every name in __all__ resolves."""

import importlib
import subprocess
import sys

import pytest

import components.evaluator as evaluator

MODULES = ["components.evaluator", "components.evaluator.analysis",
           "components.evaluator.baseline", "components.evaluator.charts",
           "components.evaluator.checkpoints", "components.evaluator.component",
           "components.evaluator.config", "components.evaluator.executor",
           "components.evaluator.kfp_outputs", "components.evaluator.metrics",
           "components.evaluator.metrics_log", "components.evaluator.predictions",
           "components.evaluator.raw_examples", "components.evaluator.report",
           "components.evaluator.slicing", "components.evaluator.streaming",
           "components.evaluator.thresholds", "components.evaluator.validation"]


@pytest.mark.parametrize("module", MODULES)
def test_every_name_in_all_resolves(module):
    imported = importlib.import_module(module)
    assert [name for name in imported.__all__ if not hasattr(imported, name)] == []


def test_the_executor_imports_no_kfp_and_the_config_no_tensorflow_nor_matplotlib():
    code = ("import sys; import components.evaluator; light = set(sys.modules); "
            "import components.evaluator.executor; "
            "print('tensorflow' in light, 'matplotlib' in light, 'kfp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False", "False"]
    assert sorted(evaluator.__all__) == evaluator.__all__
