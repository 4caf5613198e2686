"""`numpy_input_fn`: an input_fn over numpy arrays (legacy `tf.estimator.inputs`).

Example:
    >>> input_fn = numpy_input_fn({"age": np.arange(4.0)}, np.array([0, 1, 0, 1]),
    ...                           batch_size=2, shuffle=False)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import tensorflow as tf

from estimator_lib.inputs._in_memory import (
    _check_common_in_memory_args,
    _collect_arrays,
    _make_in_memory_input_fn,
)

__all__ = ["numpy_input_fn"]


def numpy_input_fn(
    x: Mapping[str, Any],
    y: Any = None,
    batch_size: int = 128,
    num_epochs: int | None = 1,
    shuffle: bool | None = None,
    queue_capacity: int = 1000,
    num_threads: int = 1,
) -> Callable[..., tf.data.Dataset]:
    """Returns an input_fn that feeds dicts of numpy arrays to an Estimator.

    The returned ``input_fn`` builds a ``tf.data.Dataset`` of ``(features, labels)``
    batches, or of ``features`` alone when ``y`` is None. The last batch of the last
    epoch may be smaller than ``batch_size``; batches run across epoch boundaries.

    Args:
        x: Dict mapping feature names to arrays (or array-likes). Every array's first
            dimension indexes examples.
        y: Labels: an array, a dict of arrays, or None (for prediction).
        batch_size: Number of examples per batch.
        num_epochs: Times to go through the data; None repeats forever.
        shuffle: Whether to shuffle. Must be given explicitly: True for training,
            False for evaluation and prediction (yields the examples in order).
        queue_capacity: Shuffle buffer size, in examples. The data are reshuffled
            every epoch.
        num_threads: Accepted for compatibility with ``tf.estimator.inputs``. The
            pipeline's parallelism is tuned by ``tf.data.AUTOTUNE`` and its order is
            deterministic whenever ``shuffle`` is False, whatever this value.

    Returns:
        A function ``input_fn(input_context=None)`` returning a ``tf.data.Dataset``.
        With an ``input_context`` it reads only its shard of the examples and uses the
        per-replica batch size.

    Raises:
        TypeError: If ``x`` is not a dict, or an array holds non-string objects.
        ValueError: If ``shuffle`` is not a bool, an argument is out of range, or the
            arrays differ in length.

    Example:
        >>> input_fn = numpy_input_fn(
        ...     x={"age": np.array([21.0, 35.0, 52.0])},
        ...     y=np.array([0, 1, 1]),
        ...     batch_size=2,
        ...     num_epochs=1,
        ...     shuffle=False,
        ... )
        >>> [labels.numpy().tolist() for _, labels in input_fn()]
        [[0, 1], [1]]
    """
    if not isinstance(x, Mapping):
        raise TypeError(
            f"`x` must be a dict of numpy arrays, got {type(x).__name__}. Wrap the array "
            "in a dict keyed by feature name, e.g. `numpy_input_fn(x={'x': array}, ...)`."
        )
    if not x:
        raise ValueError("`x` is an empty dict. Pass at least one feature array.")
    shuffle = _check_common_in_memory_args(
        batch_size, num_epochs, shuffle, queue_capacity, num_threads
    )
    features, labels, num_examples = _collect_arrays(x, y)
    return _make_in_memory_input_fn(
        features,
        labels,
        num_examples,
        batch_size=batch_size,
        num_epochs=num_epochs,
        shuffle=shuffle,
        queue_capacity=queue_capacity,
    )
