"""`VocabInfo`: warm-start a vocabulary's rows by token when the vocabulary changed.

A model's embedding table (or linear weights, or a classifier's output layer) has one row
per vocabulary entry. When a new span of data grows or reorders the vocabulary, the rows
of the old checkpoint no longer line up with the new ids; `WarmStartSettings(
var_name_to_vocab_info={name: VocabInfo(...)})` moves each known token's row to its new
id, and initializes the rows of new tokens and out-of-vocabulary buckets, as
tf.estimator's `VocabInfo` (its `warm_starting_util`) did.
"""

from __future__ import annotations

import dataclasses
import numbers
import re
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from estimator_lib import _checkpoint_files as checkpoint_lib


@dataclasses.dataclass(frozen=True)
class VocabInfo:
    """How the rows (or columns) of one variable map from an old vocabulary to a new one.

    Args:
        new_vocab: The vocabulary of the model being warm-started: a file (one token per
            line, as tf.Transform's vocabulary files) or a list of tokens.
        new_vocab_size: How many of `new_vocab`'s first tokens the model uses.
        num_oov_buckets: Out-of-vocabulary buckets the variable has after the
            `new_vocab_size` rows. Default 0.
        old_vocab: The vocabulary of the checkpoint's model (file or list).
        old_vocab_size: How many of `old_vocab`'s first tokens the old model used; -1
            (default) for all of them.
        backup_initializer: `initializer(shape, dtype)` for the rows of new tokens and of
            the OOV buckets, e.g. `keras.initializers.TruncatedNormal(0.1)`. Default None:
            zeros, as tf.estimator.
        axis: 0 (default) when the vocabulary indexes rows (embeddings, linear weights),
            1 when it indexes columns (the output layer of a classifier over the classes).

    Example:
        >>> info = VocabInfo(new_vocab="span2/vocab_city", new_vocab_size=120,
        ...                  num_oov_buckets=1, old_vocab="span1/vocab_city")
        >>> WarmStartSettings("span1/model", var_name_to_vocab_info={
        ...     "dnn/input/city_embedding/embedding_weights": info})
    """

    new_vocab: str | Sequence[str]
    new_vocab_size: int
    num_oov_buckets: int
    old_vocab: str | Sequence[str]
    old_vocab_size: int = -1
    backup_initializer: Callable | None = None
    axis: int = 0

    def __post_init__(self):
        for name, minimum in (("new_vocab_size", 1), ("num_oov_buckets", 0),
                              ("old_vocab_size", -1)):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) \
                    or value < minimum or (name == "old_vocab_size" and value == 0):
                raise ValueError(f"VocabInfo: `{name}` must be an integer >= {minimum}"
                                 + (" (or -1 for all)" if name == "old_vocab_size" else "")
                                 + f"; received {value!r}.")
        if self.axis not in (0, 1):
            raise ValueError(f"VocabInfo: `axis` must be 0 (rows) or 1 (columns); received "
                             f"{self.axis!r}.")
        if self.axis == 1 and self.num_oov_buckets:
            raise ValueError("VocabInfo: `num_oov_buckets` must be 0 with axis=1 (a class "
                             "vocabulary has no OOV buckets).")
        for name in ("new_vocab", "old_vocab"):
            value = getattr(self, name)
            if not isinstance(value, str):
                if not isinstance(value, Sequence) or not all(isinstance(t, str) for t in value):
                    raise TypeError(f"VocabInfo: `{name}` must be a file path or a list of "
                                    f"strings; received {value!r}.")
                object.__setattr__(self, name, tuple(value))
        if self.backup_initializer is not None and not callable(self.backup_initializer):
            raise TypeError(f"VocabInfo: `backup_initializer` must be callable; received "
                            f"{self.backup_initializer!r}.")

    @property
    def new_size(self) -> int:
        """The variable's size along `axis`: new_vocab_size + num_oov_buckets."""
        return self.new_vocab_size + self.num_oov_buckets

    def remap(self, old_value: np.ndarray, shape, dtype, name: str = "") -> np.ndarray:
        """The new variable's value: old rows moved to their tokens' new ids, others
        initialized.

        Args:
            old_value: The variable's value in the old checkpoint.
            shape: The new variable's shape.
            dtype: The new variable's dtype.
            name: The variable's name, for error messages.

        Raises:
            ValueError: If the shapes do not fit the vocabularies, or a vocabulary is too
                short for its size.
        """
        shape = tuple(int(d) for d in shape)
        old_value = np.asarray(old_value)
        if len(shape) != old_value.ndim or len(shape) < self.axis + 1:
            raise ValueError(f"Warm start of {name!r} with VocabInfo: the checkpoint's value has "
                             f"shape {list(old_value.shape)}, the model's {list(shape)}.")
        if shape[self.axis] != self.new_size:
            raise ValueError(
                f"Warm start of {name!r} with VocabInfo: its size along axis {self.axis} is "
                f"{shape[self.axis]}, but new_vocab_size + num_oov_buckets is {self.new_size}."
            )
        other = [d for i, d in enumerate(shape) if i != self.axis]
        old_other = [d for i, d in enumerate(old_value.shape) if i != self.axis]
        if other != old_other:
            raise ValueError(
                f"Warm start of {name!r} with VocabInfo: only axis {self.axis} may change; the "
                f"model has shape {list(shape)}, the checkpoint {list(old_value.shape)}."
            )
        new_tokens = _tokens(self.new_vocab, self.new_vocab_size, "new_vocab")
        old_tokens = _tokens(self.old_vocab, self.old_vocab_size, "old_vocab")
        old_tokens = old_tokens[:old_value.shape[self.axis]]
        old_ids = {token: index for index, token in enumerate(old_tokens)}
        if self.backup_initializer is None:
            value = np.zeros(shape, tf.as_dtype(dtype).as_numpy_dtype)
        else:
            value = np.array(self.backup_initializer(shape, dtype=dtype),
                             tf.as_dtype(dtype).as_numpy_dtype)
        new_index, old_index = [], []
        for index, token in enumerate(new_tokens):
            if token in old_ids:
                new_index.append(index)
                old_index.append(old_ids[token])
        moved = np.take(old_value, old_index, axis=self.axis)
        if self.axis == 0:
            value[new_index] = moved
        else:
            value[:, new_index] = moved
        return value


def _tokens(vocabulary, size: int, argument: str) -> list[str]:
    if isinstance(vocabulary, str):
        if not tf.io.gfile.exists(vocabulary):
            raise ValueError(f"VocabInfo: `{argument}` file {vocabulary!r} does not exist.")
        with tf.io.gfile.GFile(vocabulary, "r") as f:
            tokens = f.read().splitlines()
    else:
        tokens = list(vocabulary)
    if size == -1:
        return tokens
    if len(tokens) < size:
        raise ValueError(f"VocabInfo: `{argument}` has {len(tokens)} tokens, fewer than its "
                         f"size {size}.")
    return tokens[:size]


def vocab_infos(checkpoint: str, feature_columns: Sequence, previous_vocabularies,
                new_vocabularies=None, backup_initializer: Callable | None = None
                ) -> dict[str, VocabInfo]:
    """The `var_name_to_vocab_info` that carries a model's vocabulary rows to new vocabularies.

    For continuous training: `checkpoint` is the previous model's, trained on the previous
    span's vocabularies; `feature_columns` are the new model's. Every variable of
    `checkpoint` that a vocabulary-indexed column indexes by row (linear weights
    `linear/<column>/weights`, embedding tables `<layer>/<column>_embedding/...`) gets a
    `VocabInfo` from the previous vocabulary to the new one; optimizer state is left out.

    A vocabulary column (`categorical_column_with_vocabulary_file/_list`) knows its new
    vocabulary. A column of ids that a vocabulary made outside the model (tf.Transform's
    `compute_and_apply_vocabulary` feeding `categorical_column_with_identity`, ids past
    the vocabulary being OOV buckets) takes it from `new_vocabularies`.

    Args:
        checkpoint: The previous model's checkpoint prefix or model_dir.
        feature_columns: The new model's feature columns (all of them, e.g. wide and deep
            together); they may wrap the vocabulary-indexed column (embedding, indicator,
            weighted).
        previous_vocabularies: Dict from the vocabulary-indexed column's feature key to
            its previous vocabulary (a file, one token per line, or a list of tokens).
            Columns not in it are not remapped.
        new_vocabularies: Dict from feature key to the new vocabulary, for id columns
            (identity columns); a vocabulary column's own vocabulary is used otherwise.
        backup_initializer: For the rows of new tokens; default zeros (see `VocabInfo`).

    Returns:
        Dict from variable name to `VocabInfo`.

    Raises:
        ValueError: If `checkpoint` holds no checkpoint, or an id column in
            `previous_vocabularies` has no new vocabulary.

    Example:
        >>> infos = vocab_infos("span1/model", columns, {"city": "span1/vocab_city"},
        ...                     new_vocabularies={"city": "span2/vocab_city"})
        >>> el.WarmStartSettings("span1/model", var_name_to_vocab_info=infos)
    """
    from estimator_lib.feature_columns.base import CategoricalColumn
    from estimator_lib.feature_columns.vocabulary import (
        VocabularyFileColumn,
        VocabularyListColumn,
    )

    new_vocabularies = dict(new_vocabularies or {})
    path = checkpoint_lib.resolve_checkpoint(checkpoint, argument="`checkpoint`")
    saved = checkpoint_lib.list_variables(path)
    owners = {}  # Path segment naming a column's variables -> (new vocab, its size, rows).
    for column in feature_columns:
        base = column
        while base is not None and not (isinstance(base, CategoricalColumn)
                                        and isinstance(getattr(base, "key", None), str)):
            base = getattr(base, "categorical_column", None)
        if base is None or base.key not in previous_vocabularies:
            continue
        if isinstance(base, VocabularyFileColumn):
            new_vocab, size = base.vocabulary_file, base.vocabulary_size
        elif isinstance(base, VocabularyListColumn):
            new_vocab = [str(token) for token in base.vocabulary_list]
            size = len(new_vocab)
        elif base.key in new_vocabularies:
            new_vocab = new_vocabularies[base.key]
            size = len(_tokens(new_vocab, -1, "new_vocab"))
        else:
            raise ValueError(
                f"vocab_infos: column {base.name!r} is not a vocabulary column, so its new "
                f"vocabulary must be in `new_vocabularies` (keyed {base.key!r}).")
        if size > base.num_buckets:
            raise ValueError(
                f"vocab_infos: the new vocabulary of {base.name!r} has {size} tokens, more "
                f"than the column's {base.num_buckets} buckets.")
        spec = getattr(column, "weight_spec", None)
        owners[spec.scope if spec is not None else column.name] = (base, new_vocab, size)
    infos = {}
    for name, (_, shape) in saved.items():
        segments = name.split("/")
        if not shape or re.fullmatch(r"(\w+_)?optimizer(_\d+)?", segments[0]):
            continue
        owner = next((s for s in segments[:-1] if s in owners), None)
        if owner is None:
            continue
        column, new_vocab, size = owners[owner]
        old_vocab = previous_vocabularies[column.key]
        old_size = min(len(_tokens(old_vocab, -1, "old_vocab")), shape[0])
        infos[name] = VocabInfo(
            new_vocab=new_vocab, new_vocab_size=size, num_oov_buckets=column.num_buckets - size,
            old_vocab=old_vocab, old_vocab_size=old_size or -1,
            backup_initializer=backup_initializer)
    return infos
