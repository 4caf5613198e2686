"""Vocabulary columns: values mapped to their index in a list or a file.

Both look values up in a hash table created once per column (see `_lookup`). A value
outside the vocabulary gets `default_value` (-1 by default: no id, skipped by lookups),
or, with `num_oov_buckets`, the id `vocabulary_size + hash(value) % num_oov_buckets`
(the hash of TF1: `tf.strings.to_hash_bucket_fast`, of the string form for integers).
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from estimator_lib.feature_columns import _inputs, _lookup
from estimator_lib.feature_columns.base import CategoricalColumn, IdWeights


def _check_oov(key: str, default_value, num_oov_buckets, vocabulary_size: int,
               default_is_unset: bool) -> None:
    if not isinstance(num_oov_buckets, int) or num_oov_buckets < 0:
        raise ValueError(
            f"`num_oov_buckets` of categorical column {key!r} must be a non-negative integer; "
            f"received {num_oov_buckets!r}."
        )
    if num_oov_buckets and not default_is_unset:
        raise ValueError(
            f"Categorical column {key!r} sets both `default_value` ({default_value!r}) and "
            f"`num_oov_buckets` ({num_oov_buckets!r}); out-of-vocabulary values get one or the "
            "other. Set only one of them."
        )
    if not isinstance(default_value, int) or not (
            default_value == -1 or 0 <= default_value < vocabulary_size):
        raise ValueError(
            f"`default_value` of categorical column {key!r} must be -1 (no id) or an id in "
            f"[0, {vocabulary_size}); received {default_value!r}."
        )


def _table(initializer, default_value: int, num_oov_buckets: int):
    if num_oov_buckets:
        return tf.lookup.StaticVocabularyTable(initializer, num_oov_buckets)
    return tf.lookup.StaticHashTable(initializer, default_value)


class _VocabularyColumn(_lookup.TableOwner, CategoricalColumn):
    """What the list and file columns share: the lookup of values into ids."""

    key: str
    dtype: tf.DType
    default_value: int
    num_oov_buckets: int

    @property
    def name(self) -> str:
        """See base class."""
        return self.key

    @property
    def parse_example_spec(self):
        """See base class."""
        return {self.key: tf.io.VarLenFeature(tf.string if self.dtype == tf.string else tf.int64)}

    def _initializer(self):
        raise NotImplementedError

    def table(self):
        """The lookup table of this column (created on first use)."""
        return _lookup.lookup_table(
            self, lambda: _table(self._initializer(), self.default_value, self.num_oov_buckets))

    def sparse_ids(self, features) -> IdWeights:
        """See base class."""
        values = _inputs.categorical_values(features, self.key, self.name, self.dtype)
        ids = self.table().lookup(values.values)
        return IdWeights(_inputs.with_values(values, ids))

    def dense_ids(self, features) -> tf.Tensor | None:
        """See base class."""
        values = _inputs.dense_categorical_values(features, self.key, self.name, self.dtype)
        if values is None:
            return None
        return tf.where(_inputs.present(values), self.table().lookup(values),
                        tf.constant(-1, tf.int64))


@dataclasses.dataclass(frozen=True)
class VocabularyListColumn(_VocabularyColumn):
    """Values looked up in an in-memory vocabulary; see `categorical_column_with_vocabulary_list`.

    Example:
        >>> color = categorical_column_with_vocabulary_list("color", ["red", "green"])
        >>> color.sparse_ids({"color": tf.constant(["green"])}).ids.values  # [1]
    """

    key: str
    vocabulary_list: tuple
    dtype: tf.DType | None = None
    default_value: int = -1
    num_oov_buckets: int = 0

    def __post_init__(self):
        _inputs.check_key(self.key, "categorical_column_with_vocabulary_list")
        if isinstance(self.vocabulary_list, str | bytes) or not self.vocabulary_list:
            raise ValueError(
                f"`vocabulary_list` of categorical column {self.key!r} must be a non-empty list; "
                f"received {self.vocabulary_list!r}."
            )
        vocabulary = tuple(v.item() if hasattr(v, "item") else v for v in self.vocabulary_list)
        if all(isinstance(v, str | bytes) for v in vocabulary):
            inferred = tf.string
            vocabulary = tuple(v.decode() if isinstance(v, bytes) else v for v in vocabulary)
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in vocabulary):
            inferred = tf.int64
        else:
            raise TypeError(
                f"`vocabulary_list` of categorical column {self.key!r} must hold only strings or "
                f"only integers; received {list(self.vocabulary_list)!r}."
            )
        dtype = inferred if self.dtype is None else _inputs.check_column_dtype(self.key, self.dtype)
        if (dtype == tf.string) != (inferred == tf.string):
            raise ValueError(
                f"`dtype` of categorical column {self.key!r} is {dtype.name}, but "
                f"`vocabulary_list` holds {inferred.name} values. Make them agree."
            )
        seen = set()
        for value in vocabulary:
            if value in seen:
                raise ValueError(
                    f"`vocabulary_list` of categorical column {self.key!r} has the duplicate "
                    f"{value!r}. Each value must appear once."
                )
            seen.add(value)
        _check_oov(self.key, self.default_value, self.num_oov_buckets, len(vocabulary),
                   default_is_unset=self.default_value == -1)
        object.__setattr__(self, "vocabulary_list", vocabulary)
        object.__setattr__(self, "dtype", dtype)

    @property
    def num_buckets(self) -> int:
        """`len(vocabulary_list) + num_oov_buckets`."""
        return len(self.vocabulary_list) + self.num_oov_buckets

    def _initializer(self):
        key_dtype = tf.string if self.dtype == tf.string else tf.int64
        return tf.lookup.KeyValueTensorInitializer(
            tf.constant(self.vocabulary_list, key_dtype),
            tf.range(len(self.vocabulary_list), dtype=tf.int64))


@dataclasses.dataclass(frozen=True)
class VocabularyFileColumn(_VocabularyColumn):
    """Values looked up in a vocabulary file; see `categorical_column_with_vocabulary_file`.

    Example:
        >>> city = categorical_column_with_vocabulary_file("city", "/data/cities.txt")
        >>> city.num_buckets  # the number of lines of the file
    """

    key: str
    vocabulary_file: str
    vocabulary_size: int | None = None
    dtype: tf.DType = tf.string
    default_value: int | None = None
    num_oov_buckets: int = 0

    def __post_init__(self):
        _inputs.check_key(self.key, "categorical_column_with_vocabulary_file")
        if not isinstance(self.vocabulary_file, str) or not tf.io.gfile.exists(self.vocabulary_file):
            raise ValueError(
                f"`vocabulary_file` of categorical column {self.key!r} must be the path of an "
                f"existing file; received {self.vocabulary_file!r}."
            )
        dtype = _inputs.check_column_dtype(self.key, self.dtype)
        with tf.io.gfile.GFile(self.vocabulary_file, "r") as f:
            lines = f.read().splitlines()
        size = self.vocabulary_size
        if size is None:
            size = len(lines)
        if not isinstance(size, int) or not 0 < size <= len(lines):
            raise ValueError(
                f"`vocabulary_size` of categorical column {self.key!r} must be a positive integer "
                f"no larger than the {len(lines)} lines of {self.vocabulary_file!r}; received "
                f"{self.vocabulary_size!r}."
            )
        seen = set()
        for line in lines[:size]:
            if line in seen:
                raise ValueError(
                    f"`vocabulary_file` {self.vocabulary_file!r} of categorical column "
                    f"{self.key!r} has the duplicate {line!r}. Each value must appear once."
                )
            seen.add(line)
        default = -1 if self.default_value is None else self.default_value
        _check_oov(self.key, default, self.num_oov_buckets, size,
                   default_is_unset=self.default_value is None)
        object.__setattr__(self, "vocabulary_size", size)
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "default_value", default)

    @property
    def num_buckets(self) -> int:
        """`vocabulary_size + num_oov_buckets`."""
        return self.vocabulary_size + self.num_oov_buckets

    def _initializer(self):
        # Made eagerly, TextFileInitializer tracks the file as a tf.saved_model.Asset:
        # exports copy it into assets/ and the loaded table reads that copy.
        return tf.lookup.TextFileInitializer(
            self.vocabulary_file, tf.string if self.dtype == tf.string else tf.int64,
            tf.lookup.TextFileIndex.WHOLE_LINE, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
            vocab_size=self.vocabulary_size)


def categorical_column_with_vocabulary_list(key: str, vocabulary_list, dtype=None,
                                            default_value: int = -1,
                                            num_oov_buckets: int = 0) -> VocabularyListColumn:
    """A categorical column whose ids are the values' positions in `vocabulary_list`.

    Args:
        key: The feature name. Its values may be dense, sparse or ragged, several per
            example; '' (strings) and -1 (integers) mean missing.
        vocabulary_list: Strings or integers, without duplicates.
        dtype: tf.string or an integer type. Default: inferred from `vocabulary_list`.
        default_value: Id of out-of-vocabulary values. Default -1: no id (the value is
            ignored by embedding, indicator and linear lookups).
        num_oov_buckets: If positive, out-of-vocabulary values are hashed into ids
            `[len(vocabulary_list), len(vocabulary_list) + num_oov_buckets)`. Excludes
            `default_value`. Default 0.

    Returns:
        A `VocabularyListColumn` with `len(vocabulary_list) + num_oov_buckets` buckets.

    Raises:
        ValueError: For an empty or duplicated vocabulary, or both `default_value` and
            `num_oov_buckets`.
        TypeError: For a vocabulary mixing strings and integers.

    Example:
        >>> color = categorical_column_with_vocabulary_list("color", ["red", "green"],
        ...                                                 num_oov_buckets=2)
        >>> DenseFeatures([indicator_column(color)])({"color": tf.constant(["green", ""])})
        ... # [[0, 1, 0, 0], [0, 0, 0, 0]]
    """
    return VocabularyListColumn(key, vocabulary_list, dtype, default_value, num_oov_buckets)


def categorical_column_with_vocabulary_file(key: str, vocabulary_file: str,
                                            vocabulary_size: int | None = None,
                                            dtype=tf.string, default_value: int | None = None,
                                            num_oov_buckets: int = 0) -> VocabularyFileColumn:
    """A categorical column whose ids are the values' line numbers in `vocabulary_file`.

    The file (one value per line) is read when the column is built, to count and check
    it, and again by the lookup table. Exported SavedModels carry a copy of it as an
    asset, so they keep working when the original file is gone.

    Args:
        key: The feature name.
        vocabulary_file: Path of the vocabulary file.
        vocabulary_size: Use only the first `vocabulary_size` lines. Default: all lines.
        dtype: tf.string (default) or an integer type (lines are parsed as integers).
        default_value: Id of out-of-vocabulary values. Default None: -1 (no id).
        num_oov_buckets: If positive, out-of-vocabulary values are hashed into ids
            `[vocabulary_size, vocabulary_size + num_oov_buckets)`. Excludes
            `default_value`. Default 0.

    Returns:
        A `VocabularyFileColumn` with `vocabulary_size + num_oov_buckets` buckets.

    Raises:
        ValueError: If the file is missing, has duplicates or fewer lines than
            `vocabulary_size`, or both `default_value` and `num_oov_buckets` are set.

    Example:
        >>> country = categorical_column_with_vocabulary_file("country", "/data/countries.txt",
        ...                                                   num_oov_buckets=1)
        >>> embedding_column(country, dimension=8)
    """
    return VocabularyFileColumn(key, vocabulary_file, vocabulary_size, dtype, default_value,
                                num_oov_buckets)
