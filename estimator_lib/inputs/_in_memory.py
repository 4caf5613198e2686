"""What `numpy_input_fn` and `pandas_input_fn` share: columns held in memory, embedded in
the graph as constants."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from estimator_lib.inputs._common import (
    _AUTOTUNE,
    _check_input_context,
    _check_positive_int,
    _check_shuffle,
    _maybe_repeat,
    _per_pipeline_batch_size,
)


def _to_array(value: Any, where: str) -> np.ndarray:
    """Converts one input column to a numpy array and checks that TF can hold it."""
    array = np.asarray(value)
    if array.ndim == 0:
        raise ValueError(
            f"{where} must be an array with a batch dimension, got a scalar {value!r}. "
            "Pass one value per example, e.g. `np.array([value])`."
        )
    if array.dtype == object:
        bad = next((v for v in array.ravel() if not isinstance(v, str | bytes)), None)
        if bad is not None:
            raise TypeError(
                f"{where} has dtype object and holds a {type(bad).__name__} ({bad!r}); "
                "expected numbers or strings. Convert it to a numeric or string array, "
                "e.g. `np.asarray(values, dtype=np.float32)`."
            )
    return array


def _collect_arrays(
    x: Mapping[str, Any], y: Any
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | np.ndarray | None, int]:
    """Converts `x`/`y` to numpy arrays and checks that all share dimension 0."""
    features = {key: _to_array(value, f"`x[{key!r}]`") for key, value in x.items()}
    if y is None:
        labels = None
    elif isinstance(y, Mapping):
        if not y:
            raise ValueError(
                "`y` is an empty dict. Pass at least one label array, or `y=None` for prediction."
            )
        labels = {key: _to_array(value, f"`y[{key!r}]`") for key, value in y.items()}
    else:
        labels = _to_array(y, "`y`")

    named: list[tuple[str, np.ndarray]] = [(f"x[{k!r}]", v) for k, v in features.items()]
    if isinstance(labels, dict):
        named += [(f"y[{k!r}]", v) for k, v in labels.items()]
    elif labels is not None:
        named.append(("y", labels))

    ref_name, ref = named[0]
    length = len(ref)
    for name, array in named[1:]:
        if len(array) != length:
            raise ValueError(
                "All arrays in `x` and `y` must have the same length in dimension 0, but "
                f"`{name}` has {len(array)} rows while `{ref_name}` has {length}. Make every "
                "feature and label array hold one row per example."
            )
    if length == 0:
        raise ValueError(f"`{ref_name}` has 0 rows; the input must hold at least one example.")
    return features, labels, length


def _make_in_memory_input_fn(
    features: dict[str, np.ndarray],
    labels: dict[str, np.ndarray] | np.ndarray | None,
    num_examples: int,
    *,
    batch_size: int,
    num_epochs: int | None,
    shuffle: bool,
    queue_capacity: int,
) -> Callable[..., tf.data.Dataset]:
    """Builds an input_fn over in-memory arrays.

    The pipeline shuffles and batches example *indices*, then gathers whole batches from
    the arrays with one vectorized `tf.gather` per batch, which is much cheaper than
    slicing and re-batching every example.
    """

    def input_fn(input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
        _check_input_context(input_context)
        per_batch = _per_pipeline_batch_size(batch_size, input_context)
        # Tensors are created here, not when the builder ran, so that they land in
        # whatever graph (or eager context) the caller builds the pipeline in.
        feature_tensors = {k: tf.constant(v) for k, v in features.items()}
        if labels is None:
            label_tensors = None
        elif isinstance(labels, dict):
            label_tensors = {k: tf.constant(v) for k, v in labels.items()}
        else:
            label_tensors = tf.constant(labels)

        dataset = tf.data.Dataset.range(num_examples)
        if input_context is not None and input_context.num_input_pipelines > 1:
            dataset = dataset.shard(
                input_context.num_input_pipelines, input_context.input_pipeline_id
            )
        if shuffle:
            dataset = dataset.shuffle(queue_capacity, reshuffle_each_iteration=True)
        dataset = _maybe_repeat(dataset, num_epochs)
        dataset = dataset.batch(per_batch)

        def gather(indices: tf.Tensor) -> Any:
            batch_features = {k: tf.gather(t, indices) for k, t in feature_tensors.items()}
            if label_tensors is None:
                return batch_features
            return batch_features, tf.nest.map_structure(
                lambda t: tf.gather(t, indices), label_tensors
            )

        dataset = dataset.map(gather, num_parallel_calls=_AUTOTUNE, deterministic=True)
        return dataset.prefetch(_AUTOTUNE)

    return input_fn


def _check_common_in_memory_args(
    batch_size: Any, num_epochs: Any, shuffle: Any, queue_capacity: Any, num_threads: Any
) -> bool:
    shuffle = _check_shuffle(shuffle)
    _check_positive_int("batch_size", batch_size)
    _check_positive_int("num_epochs", num_epochs, allow_none=True)
    _check_positive_int("queue_capacity", queue_capacity)
    _check_positive_int("num_threads", num_threads)
    return shuffle
