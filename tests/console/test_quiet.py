"""TensorFlow's start-up noise: kept out of the terminal by an explicit call, and only by it."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _python(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "ESTIMATOR_LIB_VERBOSE_TF")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120, check=True)


def test_the_call_imports_tensorflow_with_nothing_on_stderr():
    result = _python("from console import quiet_tensorflow; quiet_tensorflow(); "
                     "import estimator_lib, tensorflow as tf; print(tf.constant(2).numpy())")
    assert result.stdout.strip() == "2"
    assert result.stderr == ""


def test_importing_the_project_changes_nothing_about_tensorflow():
    # No side effect of an import: TensorFlow's own settings are left as the user has them.
    result = _python("import os, sys, estimator_lib, components.trainer.executor; "
                     "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'), "
                     "'console.quiet' in sys.modules)")
    assert result.stdout.split() == ["None", "False"]


def test_the_command_line_starts_quietly():
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.startswith("usage: estpipe")
    assert result.stderr == ""
