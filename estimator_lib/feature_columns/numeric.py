"""`numeric_column`: a real-valued feature, or a fixed-shape array of them."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from estimator_lib.feature_columns import _inputs
from estimator_lib.feature_columns.base import DenseColumn


@dataclasses.dataclass(frozen=True)
class NumericColumn(DenseColumn):
    """Numbers read from feature `key`; see `numeric_column`.

    Example:
        >>> numeric_column("age").dense_tensor({"age": tf.constant([31.0, 45.0])})
        ... # [[31.0], [45.0]]
    """

    key: str
    shape: tuple[int, ...] = (1,)
    default_value: tuple | None = None
    dtype: tf.DType = tf.float32
    normalizer_fn: Callable[[tf.Tensor], tf.Tensor] | None = None

    def __post_init__(self):
        _inputs.check_key(self.key, "numeric_column")
        shape = (self.shape,) if isinstance(self.shape, int) else self.shape
        try:
            shape = tuple(int(d) for d in shape)
        except (TypeError, ValueError):
            shape = None
        if not shape or any(d < 1 for d in shape):
            raise ValueError(
                f"`shape` of numeric column {self.key!r} must be a positive integer or a tuple of "
                f"them; received {self.shape!r}."
            )
        object.__setattr__(self, "shape", shape)
        try:
            dtype = tf.as_dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype is None or not (dtype.is_floating or dtype.is_integer):
            raise ValueError(
                f"`dtype` of numeric column {self.key!r} must be a float or integer type; "
                f"received {self.dtype!r}."
            )
        object.__setattr__(self, "dtype", dtype)
        if self.normalizer_fn is not None and not callable(self.normalizer_fn):
            raise TypeError(
                f"`normalizer_fn` of numeric column {self.key!r} must be callable; received "
                f"{self.normalizer_fn!r}."
            )
        if self.default_value is not None:
            object.__setattr__(self, "default_value", self._default_tuple())

    def _default_tuple(self) -> tuple:
        value = np.asarray(self.default_value)
        if value.dtype.kind not in "fiub":
            raise TypeError(
                f"`default_value` of numeric column {self.key!r} must be numbers; received "
                f"{self.default_value!r}."
            )
        if value.ndim == 0:
            value = np.full(self.shape, value)
        elif value.shape != self.shape and value.size != math.prod(self.shape):
            raise ValueError(
                f"`default_value` of numeric column {self.key!r} has shape {value.shape}; it "
                f"must be a scalar or have the column's shape {self.shape}."
            )
        value = value.reshape(self.shape).astype(self.dtype.as_numpy_dtype)
        return tuple(value.reshape(-1).tolist())

    @property
    def name(self) -> str:
        """See base class."""
        return self.key

    @property
    def parse_example_spec(self):
        """See base class."""
        return {self.key: tf.io.FixedLenFeature(self.shape, self.dtype, self.default_value)}

    @property
    def output_dimension(self) -> int:
        """See base class."""
        return math.prod(self.shape)

    def values(self, features: Mapping[str, Any]) -> tf.Tensor:
        """The normalized float32 values, shaped `[batch, *shape]`."""
        value = _inputs.get_feature(features, self.key, self.name)
        if isinstance(value, tf.SparseTensor | tf.RaggedTensor):
            raise TypeError(
                f"Numeric column {self.name!r} needs a dense tensor in feature {self.key!r}; "
                f"received a {type(value).__name__}. Densify it (e.g. tf.sparse.to_dense) or "
                "parse it with a FixedLenFeature."
            )
        value = tf.convert_to_tensor(value)
        if not (value.dtype.is_floating or value.dtype.is_integer or value.dtype.is_bool):
            raise TypeError(
                f"Numeric column {self.name!r} needs numbers in feature {self.key!r}; received "
                f"{value.dtype.name}. Use a categorical column for strings."
            )
        if value.shape.rank == 0:
            raise ValueError(
                f"Numeric column {self.name!r} needs a batch of values (rank >= 1); received "
                "a scalar. Batch the input."
            )
        if value.shape.rank == 1:
            value = value[:, tf.newaxis]
        per_example = value.shape[1:].num_elements()
        if per_example is not None and per_example != self.output_dimension:
            raise ValueError(
                f"Numeric column {self.name!r} has shape {self.shape} ({self.output_dimension} "
                f"values per example), but feature {self.key!r} has shape {value.shape} "
                f"({per_example} per example). Fix the column's `shape` or the input."
            )
        if self.normalizer_fn is not None:
            value = self.normalizer_fn(value)
        value = tf.cast(value, tf.float32)
        # Reshape only when needed, and from static shapes when known: a trace costs per op.
        if value.shape[1:] == self.shape:
            return value
        if value.shape[1:].num_elements() == self.output_dimension:
            return tf.reshape(value, [-1, *self.shape])  # Examples cannot mix.
        return tf.reshape(value, tf.concat([tf.shape(value)[:1], self.shape], axis=0))

    def dense_tensor(self, features, weights=None) -> tf.Tensor:
        """See base class."""
        values = self.values(features)
        if values.shape[1:] == (self.output_dimension,):
            return values
        return tf.reshape(values, [-1, self.output_dimension])


def numeric_column(key: str, shape=(1,), default_value=None, dtype=tf.float32,
                   normalizer_fn: Callable | None = None) -> NumericColumn:
    """A column of real numbers read from feature `key`.

    Args:
        key: The feature name.
        shape: Shape of the values per example: an int or a tuple. Default `(1,)`. Inputs
            may be `[batch]` for shape `(1,)`, else `[batch, *shape]`.
        default_value: Used by `make_parse_example_spec` for examples that lack the
            feature: a scalar (filled to `shape`) or an array of `shape`. Default None
            (parsing fails on examples without the feature).
        dtype: Type of the feature, a float or integer type. Default `tf.float32`; the
            column's output is always float32.
        normalizer_fn: Optional `fn(tensor) -> tensor` applied to the `[batch, *shape]`
            values (before the cast to float32), e.g. `lambda x: (x - mean) / std`.

    Returns:
        A `NumericColumn`.

    Raises:
        ValueError: For a bad `shape`, `dtype` or `default_value`.
        TypeError: If `key` is not a string or `normalizer_fn` not callable.

    Example:
        >>> price = numeric_column("price", normalizer_fn=lambda x: x / 100.0)
        >>> DenseFeatures([price])({"price": tf.constant([150.0, 20.0])})  # [[1.5], [0.2]]
    """
    return NumericColumn(key, shape, default_value, dtype, normalizer_fn)
