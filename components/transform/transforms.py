"""The transforms a spec can name: one frozen dataclass each, validated at construction.

Each class has `NAME` (its name in the YAML spec), `ACCEPTS` (the raw column types it reads)
and its parameters as fields with their defaults. `preprocessing.py` turns each into
tf.Transform calls; `feature_columns.py` describes each output for the trainer.

Example:
    >>> Bucketize(num_buckets=10)
    >>> Vocabulary(top_k=1000, num_oov_buckets=10)
    >>> Bucketize(num_buckets=1)
    Traceback (most recent call last):
    ValueError: `num_buckets` (1) must be at least 2.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from components.transform.expression import Expression, parse_expression
from components.transform.schema import ColumnType

_NUMERIC = frozenset({ColumnType.INT, ColumnType.FLOAT})
_CATEGORICAL_SOURCES = frozenset({ColumnType.INT, ColumnType.STRING})


@dataclasses.dataclass(frozen=True)
class ZScore:
    """Standardizes a number with the analyzed mean and standard deviation."""

    NAME: ClassVar[str] = "z_score"
    ACCEPTS: ClassVar[frozenset[ColumnType]] = _NUMERIC


@dataclasses.dataclass(frozen=True)
class MinMax:
    """Scales a number linearly so the analyzed min and max map to `output_min`/`output_max`."""

    NAME: ClassVar[str] = "min_max"
    ACCEPTS: ClassVar[frozenset[ColumnType]] = _NUMERIC
    output_min: float = 0.0
    output_max: float = 1.0

    def __post_init__(self):
        _check_number("output_min", self.output_min)
        _check_number("output_max", self.output_max)
        if self.output_min >= self.output_max:
            raise ValueError(f"`output_min` ({self.output_min!r}) must be less than "
                             f"`output_max` ({self.output_max!r}).")


@dataclasses.dataclass(frozen=True)
class Bucketize:
    """Maps a number to the index of its analyzed quantile bucket, in [0, num_buckets)."""

    NAME: ClassVar[str] = "bucketize"
    ACCEPTS: ClassVar[frozenset[ColumnType]] = _NUMERIC
    num_buckets: int
    epsilon: float | None = None

    def __post_init__(self):
        _check_int("num_buckets", self.num_buckets, minimum=2)
        if self.epsilon is not None:
            _check_number("epsilon", self.epsilon)
            if not 0 < self.epsilon < 1:
                raise ValueError(f"`epsilon` ({self.epsilon!r}) must be in (0, 1), the "
                                 "quantiles' allowed rank error.")


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """Maps a string (or int) to its index in the analyzed vocabulary, most frequent first.

    Values not in the vocabulary (including the empty string, which tf.Transform never puts
    in a vocabulary) hash into `num_oov_buckets` ids after the vocabulary's.
    """

    NAME: ClassVar[str] = "vocabulary"
    ACCEPTS: ClassVar[frozenset[ColumnType]] = _CATEGORICAL_SOURCES
    top_k: int | None = None
    frequency_threshold: int | None = None
    num_oov_buckets: int = 1

    def __post_init__(self):
        if self.top_k is not None:
            _check_int("top_k", self.top_k, minimum=1)
        if self.frequency_threshold is not None:
            _check_int("frequency_threshold", self.frequency_threshold, minimum=0)
        _check_int("num_oov_buckets", self.num_oov_buckets, minimum=1,
                   why=" so that every id is in [0, num_buckets) for the trainer's identity "
                       "columns (an unseen value would otherwise map to -1)")


@dataclasses.dataclass(frozen=True)
class HashBuckets:
    """Maps a string (or int) to a stable hash bucket (FarmHash fingerprint) in [0, hash_buckets)."""

    NAME: ClassVar[str] = "hash"
    ACCEPTS: ClassVar[frozenset[ColumnType]] = _CATEGORICAL_SOURCES
    hash_buckets: int

    def __post_init__(self):
        _check_int("hash_buckets", self.hash_buckets, minimum=1)


@dataclasses.dataclass(frozen=True)
class Cross:
    """Hashes the combination of two or more categorical values into [0, hash_buckets)."""

    NAME: ClassVar[str] = "cross"
    ACCEPTS: ClassVar[frozenset[ColumnType]] = _CATEGORICAL_SOURCES
    inputs: tuple[str, ...]
    hash_buckets: int

    def __post_init__(self):
        if isinstance(self.inputs, str) or not isinstance(self.inputs, Sequence):
            raise TypeError(f"`inputs` must be a list of names, got {self.inputs!r}.")
        object.__setattr__(self, "inputs", tuple(self.inputs))
        if len(self.inputs) < 2:
            raise ValueError(f"`inputs` ({list(self.inputs)!r}) must name at least two "
                             "columns or features to cross.")
        for name in self.inputs:
            if not isinstance(name, str):
                raise TypeError(f"`inputs` must hold names (strings), got {name!r}.")
        if len(set(self.inputs)) != len(self.inputs):
            raise ValueError(f"`inputs` ({list(self.inputs)!r}) names an input twice.")
        _check_int("hash_buckets", self.hash_buckets, minimum=1)


@dataclasses.dataclass(frozen=True)
class Identity:
    """Uses an int column as a categorical id; values outside [0, num_buckets) get `default_value`."""

    NAME: ClassVar[str] = "identity"
    ACCEPTS: ClassVar[frozenset[ColumnType]] = frozenset({ColumnType.INT})
    num_buckets: int
    default_value: int = 0

    def __post_init__(self):
        _check_int("num_buckets", self.num_buckets, minimum=1)
        _check_int("default_value", self.default_value, minimum=0)
        if self.default_value >= self.num_buckets:
            raise ValueError(f"`default_value` ({self.default_value!r}) must be less than "
                             f"`num_buckets` ({self.num_buckets!r}).")


@dataclasses.dataclass(frozen=True)
class Passthrough:
    """Copies the column (missing values filled) unchanged."""

    NAME: ClassVar[str] = "passthrough"
    ACCEPTS: ClassVar[frozenset[ColumnType]] = frozenset(ColumnType)


@dataclasses.dataclass(frozen=True)
class Derive:
    """Computes a feature from raw columns with a safe expression (see `expression.py`)."""

    NAME: ClassVar[str] = "expression"
    ACCEPTS: ClassVar[frozenset[ColumnType]] = frozenset(ColumnType)
    expression: Expression

    def __post_init__(self):
        if isinstance(self.expression, str):
            object.__setattr__(self, "expression", parse_expression(self.expression))
        elif not isinstance(self.expression, Expression):
            raise TypeError(f"`expression` must be a string, got {self.expression!r}.")
        if not self.expression.columns:
            raise ValueError(f"`expression` ({self.expression.text!r}) reads no column; a "
                             "constant is not a feature.")


Transform = ZScore | MinMax | Bucketize | Vocabulary | HashBuckets | Cross | Identity | Passthrough | Derive
TRANSFORMS: Mapping[str, type] = types.MappingProxyType(
    {t.NAME: t for t in (ZScore, MinMax, Bucketize, Vocabulary, HashBuckets, Cross, Identity,
                         Passthrough, Derive)})
# Transforms whose output is a categorical id in [0, num_buckets): crossable, and described to
# the trainer as identity columns.
CATEGORICAL_TRANSFORMS = (Bucketize, Vocabulary, HashBuckets, Cross, Identity)



def _check_int(key: str, value: Any, *, minimum: int, why: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{key}` must be an integer, got {value!r}.")
    if value < minimum:
        raise ValueError(f"`{key}` ({value!r}) must be at least {minimum}{why}.")


def _check_number(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"`{key}` must be a number, got {value!r}.")
