"""Loads a user's preprocessing module: the alternative to a declarative spec.

The module file defines `preprocessing_fn(inputs) -> dict` (tf.Transform's contract: raw
features in, transformed features out) and may set `LABEL_KEY = "<feature name>"` so that
`feature_columns.json` marks the label for the trainer.

Example:
    >>> module = load_user_module("examples/chicago_taxi/preprocessing.py")
    >>> module.preprocessing_fn, module.label_key
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import tensorflow as tf

from components.common.user_modules import import_file

PREPROCESSING_FN = "preprocessing_fn"
LABEL_KEY = "LABEL_KEY"


@dataclasses.dataclass(frozen=True)
class UserModule:
    """What the transform step takes from a user module.

    Attributes:
        path: Where the module was read from.
        preprocessing_fn: The module's `preprocessing_fn`.
        label_key: The module's `LABEL_KEY`, or None.
    """

    path: str
    preprocessing_fn: Callable
    label_key: str | None


def load_user_module(module_file: str) -> UserModule:
    """Imports `module_file` (a local path or a URI TensorFlow can read) and checks it.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it defines no callable `preprocessing_fn`, or a non-string `LABEL_KEY`.
    """
    if not tf.io.gfile.exists(module_file):
        raise FileNotFoundError(f"No preprocessing module at {module_file!r}.")
    module = import_file(module_file, prefix="_transform_user_module")
    _pickle_by_value(module)
    fn = getattr(module, PREPROCESSING_FN, None)
    if not callable(fn):
        functions = sorted(n for n, v in vars(module).items()
                           if callable(v) and not n.startswith("_"))
        raise ValueError(f"{module_file!r} defines no callable `{PREPROCESSING_FN}` (it defines "
                         f"{functions}); the transform step calls "
                         f"`{PREPROCESSING_FN}(inputs) -> dict` with the raw features.")
    label_key = getattr(module, LABEL_KEY, None)
    if label_key is not None and not isinstance(label_key, str):
        raise ValueError(f"`{LABEL_KEY}` in {module_file!r} must be a feature name (a string), "
                         f"got {label_key!r}.")
    return UserModule(module_file, fn, label_key)


def _pickle_by_value(module) -> None:
    """Makes Beam ship the module's functions by value.

    tf.Transform traces `preprocessing_fn` inside a DoFn, so Beam pickles it to its workers.
    Pickled by reference (the default for a module in `sys.modules`), the workers would have to
    import this module, which only exists in this process: multi-processing and remote runners
    fail with "No module named '_transform_user_module_...'". By value, the workers need only
    what the module itself imports (TensorFlow, tf.Transform).
    """
    from apache_beam.internal.cloudpickle import cloudpickle  # Beam's own (default) pickler.

    cloudpickle.register_pickle_by_value(module)
