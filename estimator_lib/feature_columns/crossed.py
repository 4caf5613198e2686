"""`crossed_column`: hashed combinations of several categorical features."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from estimator_lib.feature_columns import _id_lookup, _inputs
from estimator_lib.feature_columns.base import CategoricalColumn, IdWeights


@dataclasses.dataclass(frozen=True)
class CrossedColumn(CategoricalColumn):
    """The hashed cross of `keys`; see `crossed_column`.

    Example:
        >>> crossed_column(["query", "docid"], 1000).name
        'docid_X_query'
    """

    keys: tuple
    hash_bucket_size: int
    hash_key: int | None = None

    def __post_init__(self):
        from estimator_lib.feature_columns.weighted import WeightedCategoricalColumn

        if isinstance(self.keys, str | CategoricalColumn):
            raise ValueError(
                f"`keys` of crossed_column must be a list of at least two keys or categorical "
                f"columns; received the single {self.keys!r}."
            )
        keys = tuple(self.keys)
        for key in keys:
            if isinstance(key, WeightedCategoricalColumn):
                raise TypeError(
                    f"crossed_column cannot cross the weighted column {key.name!r}: a cross has "
                    "no weights. Cross its categorical_column instead."
                )
            if not isinstance(key, str | CategoricalColumn):
                raise TypeError(
                    "`keys` of crossed_column must be feature names (str) or categorical "
                    f"columns; received {key!r}."
                )
        name = self._make_name(keys)
        if len(keys) < 2:
            raise ValueError(
                f"`keys` of crossed column {name!r} must hold at least two keys or columns; "
                f"received {list(keys)!r}."
            )
        if (not isinstance(self.hash_bucket_size, int) or isinstance(self.hash_bucket_size, bool)
                or self.hash_bucket_size < 1):
            raise ValueError(
                f"`hash_bucket_size` of crossed column {name!r} must be a positive integer; "
                f"received {self.hash_bucket_size!r}."
            )
        if self.hash_key is not None and not isinstance(self.hash_key, int):
            raise TypeError(
                f"`hash_key` of crossed column {name!r} must be an integer or None; received "
                f"{self.hash_key!r}."
            )
        object.__setattr__(self, "keys", keys)

    @staticmethod
    def _make_name(keys) -> str:
        return "_X_".join(sorted(k if isinstance(k, str) else k.name for k in _leaves(keys)))

    @property
    def name(self) -> str:
        """See base class. The sorted leaf names joined by `_X_`, e.g. `docid_X_query`."""
        return self._make_name(self.keys)

    @property
    def num_buckets(self) -> int:
        """`hash_bucket_size`."""
        return self.hash_bucket_size

    @property
    def parse_example_spec(self):
        """See base class. String keys are parsed as strings, as in TF1."""
        spec = {}
        for key in _leaves(self.keys):
            spec.update({key: tf.io.VarLenFeature(tf.string)} if isinstance(key, str)
                        else key.parse_example_spec)
        return spec

    def sparse_ids(self, features) -> IdWeights:
        """See base class. Ids are `tf.sparse.cross_hashed` of the leaves' values or ids."""
        inputs = []
        for key in _legacy_order(self.keys, features):
            if isinstance(key, str):
                inputs.append(_inputs.categorical_values(features, key, self.name))
            else:
                inputs.append(key.sparse_ids(features).ids)
        ids = tf.sparse.cross_hashed(inputs, num_buckets=self.hash_bucket_size,
                                     hash_key=self.hash_key)
        return IdWeights(ids)

    def dense_ids(self, features) -> tf.Tensor | None:
        """See base class. Dense when every leaf is dense with one value per example.

        Then every example has exactly one combination, the cross of the leaves'
        values or ids, unless one of them is missing (no id).
        """
        inputs, present = [], []
        for key in _legacy_order(self.keys, features):
            if isinstance(key, str):
                values = _inputs.dense_categorical_values(features, key, self.name)
                valid = None if values is None else _inputs.present(values)
            else:
                values = _id_lookup.dense_ids(key, features)  # Shared with other users.
                valid = None if values is None else values >= 0
            if values is None or values.shape[1] != 1:
                return None
            inputs.append(values)
            present.append(valid)
        crossed = tf.sparse.cross_hashed(inputs, num_buckets=self.hash_bucket_size,
                                         hash_key=self.hash_key)
        ids = tf.reshape(crossed.values, [-1, 1])  # One combination per example, in order.
        return tf.where(tf.reduce_all(tf.stack(present), axis=0), ids, tf.constant(-1, tf.int64))


def _legacy_order(keys, features) -> list:
    """The leaves in the order tf.estimator's cross hashed them: its op took the sparse
    inputs (categorical columns' ids, raw keys fed as SparseTensor) before the dense ones
    (raw keys fed as dense tensors), each group in the given order. Hashing in that order
    keeps legacy checkpoints' cross weights valid (`el.migrate`)."""
    leaves = list(_leaves(keys))

    def dense(key) -> bool:
        return isinstance(key, str) and not isinstance(features.get(key), tf.SparseTensor)

    return [k for k in leaves if not dense(k)] + [k for k in leaves if dense(k)]


def _leaves(keys):
    """The keys with nested crossed columns replaced by their own keys (as TF1)."""
    for key in keys:
        if isinstance(key, CrossedColumn):
            yield from _leaves(key.keys)
        else:
            yield key


def crossed_column(keys, hash_bucket_size: int, hash_key: int | None = None) -> CrossedColumn:
    """A categorical column of hashed feature combinations (the "wide" part of Wide & Deep).

    Each example gets one id per combination of one value from every key:
    `tf.sparse.cross_hashed` of the keys' values (string keys: the raw feature values)
    or ids (categorical columns, e.g. bucketized or vocabulary columns), modulo
    `hash_bucket_size`. Nested crossed columns are flattened into their keys.

    Args:
        keys: At least two feature names (str) or categorical columns (not weighted).
        hash_bucket_size: Number of ids, positive.
        hash_key: Optional int for the fingerprint hash (default: cross_hashed's own).

    Returns:
        A `CrossedColumn` named by its sorted leaf names joined by `_X_`.

    Raises:
        ValueError: For fewer than two keys or a bad `hash_bucket_size`.
        TypeError: For keys that are neither names nor categorical columns.

    Example:
        >>> query_x_doc = crossed_column(["query", "docid"], hash_bucket_size=1_000_000)
        >>> LinearModel([query_x_doc])({"query": q, "docid": d})  # sparse lookup
    """
    return CrossedColumn(keys, hash_bucket_size, hash_key)
