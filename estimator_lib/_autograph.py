"""AutoGraph for the user's model_fn, not for estimator_lib's own code.

tf.function converts (AutoGraph) every Python function it reaches that is not in
TensorFlow or Keras. Converting this library's heads, metrics, losses and feature
columns on every trace is costly (seconds per model) and buys nothing: they are written
with TensorFlow ops. The library is added to AutoGraph's do-not-convert modules, and the
Estimator converts the user's model_fn explicitly, so Python control flow on tensors
inside model_fn still works. The canned estimators' model_fns are this library's code too,
and are not converted.
"""

from __future__ import annotations

import inspect
import logging

import tensorflow as tf

logger = logging.getLogger("estimator_lib")


def _skip_library() -> None:
    try:  # AutoGraph's module rules have no public API.
        from tensorflow.python.autograph.core import config, config_lib
    except ImportError:  # pragma: no cover - conversion still works, only slower.
        return
    rule = config_lib.DoNotConvert("estimator_lib")
    if not any(str(r) == str(rule) for r in config.CONVERSION_RULES):
        config.CONVERSION_RULES = (rule,) + tuple(config.CONVERSION_RULES)


def convert(fn):
    """The AutoGraph-converted `fn` (or `fn` itself where it cannot be converted, or
    where it is this library's own code)."""
    if _in_library(fn):
        return fn
    try:
        return tf.autograph.to_graph(fn)
    except Exception as error:  # noqa: BLE001 - unconvertible callables still run.
        logger.debug("AutoGraph could not convert %r (%s); calling it as is.", fn, error)
        return fn


def _in_library(fn) -> bool:
    fn = inspect.unwrap(getattr(fn, "func", fn))  # functools.partial, decorators
    module = getattr(fn, "__module__", None) or ""
    return module == "estimator_lib" or module.startswith("estimator_lib.")


_skip_library()
