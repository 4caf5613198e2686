"""Calling user functions: model_fn and input_fn take optional arguments by name."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping

import tensorflow as tf

_MODEL_FN_REQUIRED = ("features", "labels", "mode")
_MODEL_FN_OPTIONAL = ("params", "config")
_INPUT_FN_OPTIONAL = ("params", "config", "input_context", "mode")


def _parameters(fn: Callable) -> dict[str, inspect.Parameter]:
    try:
        return dict(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return {}


def model_fn_args(model_fn: Callable) -> frozenset[str]:
    """The optional arguments model_fn accepts, checked once at construction.

    Raises:
        TypeError: If model_fn is not callable.
        ValueError: If it lacks (features, labels, mode) or takes unknown required args.
    """
    if not callable(model_fn):
        raise TypeError(f"`model_fn` must be callable; received {model_fn!r}.")
    params = _parameters(model_fn)
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return frozenset(_MODEL_FN_OPTIONAL)
    names = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    required = [n for n in names if params[n].default is inspect.Parameter.empty]
    missing = [n for n in ("features", "mode") if n not in names]
    if missing:
        raise ValueError(
            f"model_fn must take arguments (features, labels, mode[, params][, config]); "
            f"{getattr(model_fn, '__name__', model_fn)!r} lacks {missing}."
        )
    unknown = [n for n in required if n not in _MODEL_FN_REQUIRED + _MODEL_FN_OPTIONAL]
    if unknown:
        raise ValueError(
            f"model_fn has required arguments {unknown} the Estimator cannot pass; it passes "
            f"{list(_MODEL_FN_REQUIRED + _MODEL_FN_OPTIONAL)}."
        )
    return frozenset(n for n in _MODEL_FN_OPTIONAL + ("labels",) if n in names)


def call_input_fn(input_fn: Callable, *, mode, params, config, input_context=None):
    """Calls input_fn with the optional arguments it accepts."""
    if not callable(input_fn):
        raise TypeError(f"`input_fn` must be callable; received {input_fn!r}.")
    params_ = _parameters(input_fn)
    takes_any = any(p.kind == p.VAR_KEYWORD for p in params_.values())
    available = {"params": params, "config": config, "input_context": input_context, "mode": mode}
    kwargs = {k: v for k, v in available.items() if takes_any or k in params_}
    return input_fn(**kwargs)


def as_dataset(result, *, mode) -> tuple[tf.data.Dataset, bool]:
    """Normalizes what input_fn returned to (dataset of (features, labels), has_labels).

    input_fn may return a `tf.data.Dataset` of features or of (features, labels), or a
    (features, labels) tuple of tensors (one batch: repeated for training, used once
    for evaluation and prediction).

    Raises:
        TypeError: For anything else, naming what was received.
    """
    if isinstance(result, tf.data.Dataset):
        dataset = result
    elif isinstance(result, tuple) and len(result) == 2:
        dataset = tf.data.Dataset.from_tensors(result)
        if str(mode) == "train":
            dataset = dataset.repeat()
    elif isinstance(result, Mapping | tf.Tensor):
        dataset = tf.data.Dataset.from_tensors(result)
    else:
        raise TypeError(
            "input_fn must return a tf.data.Dataset of features or (features, labels), or a "
            f"(features, labels) tuple; it returned {type(result).__name__}: {result!r:.200}."
        )
    element = dataset.element_spec
    if isinstance(element, tuple):
        if len(element) != 2:
            raise TypeError(
                "input_fn's dataset must yield features or (features, labels); it yields a "
                f"tuple of {len(element)} elements: {element}."
            )
        return dataset, True
    return dataset, False
