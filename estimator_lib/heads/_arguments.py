"""The heads' construction-time checks of their arguments (name, weight column, loss
reduction, loss_fn, thresholds, label vocabulary, number of classes): a bad argument fails
when the head is made, naming the argument.

Example:
    >>> check_thresholds(0.5)
    (0.5,)
"""

from __future__ import annotations

import inspect
import numbers

from estimator_lib.feature_columns.base import DenseColumn
from estimator_lib.losses import Reduction

_LOSS_FN_ARGS = ("labels", "logits", "features")


def check_name(name) -> str | None:
    if name is not None and (not isinstance(name, str) or not name):
        raise TypeError(f"`name` must be a non-empty string or None; received {name!r}.")
    return name


def check_weight_column(weight_column):
    """A feature key (str) or a dense column with a string `key` (e.g. a numeric column)."""
    if weight_column is None or isinstance(weight_column, str):
        return weight_column
    if isinstance(weight_column, DenseColumn) and isinstance(getattr(weight_column, "key", None),
                                                              str):
        return weight_column
    raise TypeError(
        "`weight_column` must be a feature name (str) or a numeric column with a `key` (e.g. "
        f"el.feature_columns.numeric_column('w')); received {weight_column!r}."
    )


def check_loss_reduction(loss_reduction) -> Reduction:
    reduction = Reduction.validate(loss_reduction)
    if reduction == Reduction.NONE:
        raise ValueError(
            "`loss_reduction` must reduce the loss to a scalar; received Reduction.NONE. Use "
            "Reduction.SUM_OVER_BATCH_SIZE (the default), SUM, MEAN or SUM_BY_NONZERO_WEIGHTS."
        )
    return reduction


def check_loss_fn(loss_fn) -> frozenset[str]:
    """Validates `loss_fn(labels, logits[, features])`; returns the arguments it takes."""
    if loss_fn is None:
        return frozenset()
    if not callable(loss_fn):
        raise TypeError(f"`loss_fn` must be callable or None; received {loss_fn!r}.")
    args = frozenset(inspect.signature(loss_fn).parameters)
    missing = [a for a in ("labels", "logits") if a not in args]
    unknown = sorted(args - set(_LOSS_FN_ARGS))
    if missing or unknown:
        raise ValueError(
            f"`loss_fn` must take arguments (labels, logits[, features]); it takes "
            f"{sorted(args)} (missing {missing}, unexpected {unknown})."
        )
    return args


def check_thresholds(thresholds) -> tuple[float, ...]:
    if not thresholds:
        return ()
    if isinstance(thresholds, numbers.Real):
        thresholds = (thresholds,)
    result = []
    for threshold in thresholds:
        if not isinstance(threshold, numbers.Real) or isinstance(threshold, bool):
            raise TypeError(f"`thresholds` must be floats in (0, 1); received {thresholds!r}.")
        if not 0.0 < threshold < 1.0:
            raise ValueError(
                f"`thresholds` must be in the open interval (0, 1); received {threshold!r}."
            )
        result.append(float(threshold))
    return tuple(result)


def check_vocabulary(label_vocabulary, n_classes: int, head: str) -> tuple[str, ...] | None:
    if label_vocabulary is None:
        return None
    if not isinstance(label_vocabulary, list | tuple) or not all(
            isinstance(v, str) for v in label_vocabulary):
        raise TypeError(
            f"{head}: `label_vocabulary` must be a list of strings; received "
            f"{label_vocabulary!r}."
        )
    if len(label_vocabulary) != n_classes:
        raise ValueError(
            f"{head}: `label_vocabulary` must have {n_classes} entries (one per class); "
            f"received {len(label_vocabulary)}: {list(label_vocabulary)!r}."
        )
    if len(set(label_vocabulary)) != len(label_vocabulary):
        raise ValueError(f"{head}: `label_vocabulary` has duplicates: {list(label_vocabulary)!r}.")
    return tuple(label_vocabulary)


def check_n_classes(n_classes, minimum: int, head: str, hint: str = "") -> int:
    if not isinstance(n_classes, numbers.Integral) or isinstance(n_classes, bool):
        raise TypeError(f"{head}: `n_classes` must be an integer; received {n_classes!r}.")
    if n_classes < minimum:
        raise ValueError(
            f"{head}: `n_classes` must be at least {minimum}; received {n_classes}.{hint}"
        )
    return int(n_classes)
