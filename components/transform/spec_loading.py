"""Reading a transform spec file: YAML, or Python with estimator_lib feature columns.

Example:
    >>> spec = load_spec("examples/chicago_taxi/transform_spec.yaml")
    >>> spec.label
    'big_tipper'
"""

from __future__ import annotations

from components.transform.python_spec import load_python_spec
from components.transform.spec import TransformSpec, parse_spec

__all__ = ["is_python_spec", "load_spec"]


def load_spec(path: str) -> TransformSpec:
    """Reads and parses the spec at `path` (a local path or a URI TensorFlow can read).

    A path ending in `.py` is a Python spec (feature columns, see `python_spec.py`); anything
    else is YAML.
    """
    if is_python_spec(path):
        return load_python_spec(path)
    import tensorflow as tf  # Lazily: building a pipeline parses specs without TensorFlow.

    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"No transform spec at {path!r}.")
    with tf.io.gfile.GFile(path, "r") as f:
        return parse_spec(f.read(), origin=path)


def is_python_spec(path: str) -> bool:
    """Whether `path` names a Python spec (`.py`) rather than a YAML one."""
    return path.endswith(".py")
