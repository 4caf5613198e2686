"""`pandas_input_fn`: an input_fn over a pandas DataFrame (legacy `tf.estimator.inputs`).

Example:
    >>> input_fn = pandas_input_fn(frame, frame.pop("label"), batch_size=32, shuffle=True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from estimator_lib.inputs._in_memory import (
    _check_common_in_memory_args,
    _collect_arrays,
    _make_in_memory_input_fn,
)

__all__ = ["pandas_input_fn"]


def _series_to_array(series: Any, where: str) -> np.ndarray:
    """Converts a pandas Series to a numpy array TF can hold (numbers, bools, strings)."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        series = series.astype(dtype.categories.dtype)
        dtype = series.dtype
    if pd.api.types.is_numeric_dtype(dtype):  # Includes bool.
        if isinstance(dtype, pd.api.extensions.ExtensionDtype):
            if series.isna().any():
                raise ValueError(
                    f"{where} has dtype {dtype} and contains missing values; TensorFlow has "
                    "no missing-value marker for it. Fill them first, e.g. "
                    "`df[col] = df[col].fillna(0)`."
                )
            return series.to_numpy(dtype=dtype.numpy_dtype)
        return series.to_numpy()
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind in ("string", "bytes", "empty"):
        if series.isna().any():
            raise ValueError(
                f"{where} is a string column with missing values; TensorFlow has no "
                "missing-value marker for strings. Fill them first, e.g. "
                "`df[col] = df[col].fillna('')`."
            )
        return series.to_numpy(dtype=object)
    raise TypeError(
        f"{where} has dtype {dtype} (inferred {kind!r}); expected a numeric, bool or "
        "string column. Convert it first, e.g. with `.astype(str)` or `.astype('int64')`."
    )


def _frame_to_arrays(frame: Any, name: str) -> dict[str, np.ndarray]:
    arrays = {}
    for column in frame.columns:
        if not isinstance(column, str):
            raise TypeError(
                f"`{name}` has a column named {column!r} of type {type(column).__name__}; "
                f"feature names must be strings. Rename it, e.g. "
                f"`{name}.columns = {name}.columns.astype(str)`."
            )
        arrays[column] = _series_to_array(frame[column], f"`{name}[{column!r}]`")
    return arrays


def pandas_input_fn(
    x: Any,
    y: Any = None,
    batch_size: int = 128,
    num_epochs: int | None = 1,
    shuffle: bool | None = None,
    queue_capacity: int = 1000,
    num_threads: int = 1,
    target_column: str = "target",
) -> Callable[..., tf.data.Dataset]:
    """Returns an input_fn that feeds a pandas DataFrame to an Estimator.

    Each column of ``x`` becomes a feature named after the column: numeric and bool
    columns keep their dtype, string (``str``/``object``) columns become ``tf.string``,
    categorical columns become their categories' dtype.

    Args:
        x: A ``pandas.DataFrame`` of features, one row per example.
        y: Labels: a ``pandas.Series`` (yields a label tensor), a ``pandas.DataFrame``
            (yields a dict of label tensors keyed by column), or None for prediction.
            Its index must equal ``x``'s index.
        batch_size: Number of examples per batch.
        num_epochs: Times to go through the data; None repeats forever.
        shuffle: Whether to shuffle; must be given explicitly as a bool.
        queue_capacity: Shuffle buffer size, in examples.
        num_threads: Accepted for compatibility; see ``numpy_input_fn``.
        target_column: Accepted for compatibility with ``tf.estimator.inputs``, where
            it named the label column inside the queue. Labels are kept apart from the
            features here, so it never clashes with a feature column.

    Returns:
        A function ``input_fn(input_context=None)`` returning a ``tf.data.Dataset`` of
        ``(features, labels)`` batches, or of ``features`` when ``y`` is None.

    Raises:
        TypeError: If ``x`` is not a DataFrame, ``y`` is not a Series/DataFrame/None, or
            a column has an unsupported dtype.
        ValueError: If ``shuffle`` is not a bool, the indexes of ``x`` and ``y`` differ,
            or an argument is out of range.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"age": [21, 35, 52], "city": ["Oslo", "Rome", "Lima"]})
        >>> input_fn = pandas_input_fn(
        ...     df, pd.Series([0, 1, 1]), batch_size=3, shuffle=False)
        >>> features, labels = next(iter(input_fn()))
        >>> features["city"].numpy().tolist()
        [b'Oslo', b'Rome', b'Lima']
    """
    import pandas as pd

    if not isinstance(x, pd.DataFrame):
        raise TypeError(
            f"`x` must be a pandas DataFrame, got {type(x).__name__}. Build one with "
            "`pd.DataFrame(...)`, or use `numpy_input_fn` for dicts of arrays."
        )
    if x.shape[1] == 0:
        raise ValueError("`x` has no columns. Pass a DataFrame with at least one feature.")
    if not isinstance(target_column, str):
        raise TypeError(f"`target_column` must be a str, got {target_column!r}.")
    shuffle = _check_common_in_memory_args(
        batch_size, num_epochs, shuffle, queue_capacity, num_threads
    )

    features = _frame_to_arrays(x, "x")
    labels: dict[str, np.ndarray] | np.ndarray | None
    if y is None:
        labels = None
    else:
        if not isinstance(y, pd.Series | pd.DataFrame):
            raise TypeError(
                f"`y` must be a pandas Series, a DataFrame or None, got {type(y).__name__}. "
                "Pass e.g. `y=df.pop('label')`."
            )
        if not x.index.equals(y.index):
            raise ValueError(
                "The indexes of `x` and `y` must be equal, got "
                f"x.index={x.index!r} and y.index={y.index!r}. Align them, e.g. with "
                "`y = y.reindex(x.index)`, or reset both with `.reset_index(drop=True)`."
            )
        if isinstance(y, pd.DataFrame):
            labels = _frame_to_arrays(y, "y")
        else:
            labels = _series_to_array(y, "`y`")

    features, labels, num_examples = _collect_arrays(features, labels)
    return _make_in_memory_input_fn(
        features,
        labels,
        num_examples,
        batch_size=batch_size,
        num_epochs=num_epochs,
        shuffle=shuffle,
        queue_capacity=queue_capacity,
    )
