"""Argument checks and dataset steps every input_fn builder shares."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

_AUTOTUNE = tf.data.AUTOTUNE


def _check_positive_int(name: str, value: Any, *, allow_none: bool = False) -> None:
    """Raises if `value` is not a positive int (or None when `allow_none`)."""
    if value is None and allow_none:
        return
    is_int = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    if not is_int or value <= 0:
        expected = "a positive int or None" if allow_none else "a positive int"
        raise ValueError(f"`{name}` must be {expected}, got {value!r}. Pass e.g. `{name}=1`.")


def _check_autotunable(name: str, value: Any, *, allow_none: bool = False) -> None:
    """Raises if `value` is neither a positive int nor `tf.data.AUTOTUNE` (nor None)."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool) and value == _AUTOTUNE:
        return
    _check_positive_int(name, value, allow_none=allow_none)


def _check_shuffle(shuffle: Any) -> bool:
    """Returns `shuffle` as a bool; raises unless it was given explicitly as one."""
    if not isinstance(shuffle, bool | np.bool_):
        raise ValueError(
            f"`shuffle` must be given explicitly as a bool, got {shuffle!r}. Pass "
            "`shuffle=True` for training and `shuffle=False` for evaluation and prediction."
        )
    return bool(shuffle)


def _check_input_context(input_context: Any) -> None:
    if input_context is not None and not isinstance(input_context, tf.distribute.InputContext):
        raise TypeError(
            "`input_context` must be a `tf.distribute.InputContext` or None, got "
            f"{type(input_context).__name__} {input_context!r}. Let the Estimator or "
            "`strategy.distribute_datasets_from_function` pass it, or omit it."
        )


def _per_pipeline_batch_size(batch_size: int, input_context: Any) -> int:
    if input_context is None:
        return batch_size
    return input_context.get_per_replica_batch_size(batch_size)


def _maybe_repeat(dataset: tf.data.Dataset, num_epochs: int | None) -> tf.data.Dataset:
    if num_epochs is None:
        return dataset.repeat()
    if num_epochs > 1:
        return dataset.repeat(num_epochs)
    return dataset
