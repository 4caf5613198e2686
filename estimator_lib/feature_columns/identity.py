"""`categorical_column_with_identity`: integer values that are their own ids."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from estimator_lib import _checks
from estimator_lib.feature_columns import _inputs
from estimator_lib.feature_columns.base import CategoricalColumn, IdWeights


@dataclasses.dataclass(frozen=True)
class IdentityColumn(CategoricalColumn):
    """Integer ids in `[0, num_buckets)`; see `categorical_column_with_identity`.

    Example:
        >>> weekday = categorical_column_with_identity("weekday", 7)
        >>> weekday.sparse_ids({"weekday": tf.constant([[2, 5]])}).ids.values  # [2, 5]
    """

    key: str
    num_buckets: int
    default_value: int | None = None

    def __post_init__(self):
        _inputs.check_key(self.key, "categorical_column_with_identity")
        if (not isinstance(self.num_buckets, int) or isinstance(self.num_buckets, bool)
                or self.num_buckets < 1):
            raise ValueError(
                f"`num_buckets` of categorical column {self.key!r} must be a positive integer; "
                f"received {self.num_buckets!r}."
            )
        if self.default_value is not None and (
                not isinstance(self.default_value, int)
                or not 0 <= self.default_value < self.num_buckets):
            raise ValueError(
                f"`default_value` of categorical column {self.key!r} must be None or an id in "
                f"[0, {self.num_buckets}); received {self.default_value!r}."
            )

    @property
    def name(self) -> str:
        """See base class."""
        return self.key

    @property
    def parse_example_spec(self):
        """See base class."""
        return {self.key: tf.io.VarLenFeature(tf.int64)}

    def sparse_ids(self, features) -> IdWeights:
        """See base class.

        Raises:
            tf.errors.InvalidArgumentError: When run on an id outside `[0, num_buckets)`
                and the column has no `default_value`.
        """
        values = _inputs.categorical_values(features, self.key, self.name, tf.int64)
        ids = values.values
        return IdWeights(_inputs.with_values(values, self._checked(ids)))

    def dense_ids(self, features) -> tf.Tensor | None:
        """See base class.

        Raises:
            tf.errors.InvalidArgumentError: As `sparse_ids`.
        """
        values = _inputs.dense_categorical_values(features, self.key, self.name, tf.int64)
        if values is None:
            return None
        present = _inputs.present(values)
        return tf.where(present, self._checked(values, present),
                        tf.constant(-1, tf.int64))

    def _checked(self, ids: tf.Tensor, present: tf.Tensor | None = None) -> tf.Tensor:
        """`ids` with out-of-range values replaced by `default_value`, or checked.

        `present` marks the values to check (missing values are not); None: all of them.
        """
        in_range = tf.logical_and(ids >= 0, ids < self.num_buckets)
        if self.default_value is not None:
            return tf.where(in_range, ids, tf.constant(self.default_value, tf.int64))
        bad = tf.logical_not(in_range)
        if present is not None:
            bad = tf.logical_and(present, bad)
        return _checks.none_bad(ids, bad, (
            f"Categorical column {self.name!r} received ids outside [0, {self.num_buckets}) "
            "(-1 means missing). Fix the input, raise `num_buckets`, or set `default_value`."))


def categorical_column_with_identity(key: str, num_buckets: int,
                                     default_value: int | None = None) -> IdentityColumn:
    """A categorical column whose integer values are the ids.

    Args:
        key: The feature name; integer values, -1 means missing.
        num_buckets: Ids are in `[0, num_buckets)`.
        default_value: Id for values outside that range. Default None: such values
            are an error when the model runs.

    Returns:
        An `IdentityColumn`.

    Raises:
        ValueError: If `num_buckets` is not positive or `default_value` is out of range.

    Example:
        >>> weekday = categorical_column_with_identity("weekday", num_buckets=7)
        >>> DenseFeatures([indicator_column(weekday)])({"weekday": tf.constant([0, 6])})
    """
    return IdentityColumn(key, num_buckets, default_value)
