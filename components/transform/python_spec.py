"""The Python form of the feature spec: estimator_lib feature columns in, a TransformSpec out.

A Python spec is a front end to the same `TransformSpec` the YAML spec parses into (DESIGN
decision 6): one spec type, one validation (`validate_against_schema`), one preprocessing_fn.
A spec module defines `FEATURES` (a list), and optionally `LABEL` (a feature name) and `FILL`
(raw column -> the value a missing value takes, as the YAML's `fill`):

```python
import estimator_lib as el
from components.transform.python_spec import expression, feature, quantile_buckets, \
    vocabulary, z_score

fc = el.feature_column
LABEL = "big_tipper"
FILL = {"trip_seconds": 0}
FEATURES = [
    z_score("fare"),                                            # analyzed: mean and std
    quantile_buckets(fc.numeric_column("pickup_latitude"), num_buckets=10),
    quantile_buckets("pickup_longitude", num_buckets=10),
    feature("pickup_cell", fc.crossed_column(["pickup_latitude", "pickup_longitude"], 100)),
    vocabulary("payment_type", top_k=1000, num_oov_buckets=10),  # analyzed vocabulary
    fc.categorical_column_with_hash_bucket("company", hash_bucket_size=64),
    fc.categorical_column_with_identity("trip_start_hour", num_buckets=24),
    fc.numeric_column("trip_miles"),                            # passed through
    expression("big_tipper", "tips > 0.2 * fare"),
]
```

How entries map (an entry's feature name is the column's key; `feature(name, column)` or the
helpers' `name=` gives another, and the column's key is then the raw `source`):

| entry                                            | transform                          |
|--------------------------------------------------|------------------------------------|
| `fc.numeric_column(key)`                         | Passthrough                        |
| `z_score(col)` / `min_max(col, lo, hi)`          | ZScore / MinMax (analyzed)         |
| `quantile_buckets(col, num_buckets)`             | Bucketize (analyzed boundaries)    |
| `vocabulary(key, top_k, frequency_threshold, num_oov_buckets)` | Vocabulary (analyzed) |
| `fc.categorical_column_with_hash_bucket(key, n)` | HashBuckets(n)                     |
| `fc.categorical_column_with_identity(key, n, d)` | Identity(n, d or 0)                |
| `fc.crossed_column(keys, n)`                     | Cross(keys, n)                     |
| `expression(name, text)`                         | Derive (see `expression.py`)       |
| `passthrough(key)`                               | Passthrough (any column type)      |

Model-side columns around one of these declare how the model reads that feature (the YAML's
per-feature keys; the trainer builds exactly that column):

| entry                                                  | the feature, with                |
|--------------------------------------------------------|----------------------------------|
| `fc.embedding_column(c, d)`                            | `embedding: d`                   |
| `fc.indicator_column(c)`                               | `indicator: true`                |
| `fc.weighted_categorical_column(c, "w")`               | `weight: w` (w: a numeric entry) |
| `*fc.shared_embeddings([c1, c2], d, combiner)`         | a `shared_embeddings` group      |

Columns with fixed parameters that the transform step cannot reproduce are rejected with a
message naming the column and what to write instead: `fc.bucketized_column` with given
boundaries (the step analyzes quantile boundaries: `quantile_buckets`), vocabulary list/file
columns (the step analyzes its vocabulary: `vocabulary`), a numeric column's
`default_value` (use `FILL`), `normalizer_fn` or a shape other than one value, a cross's
`hash_key`, and an embedding's `initializer`, `max_norm` or `trainable=False` (the feature
contract does not carry them). A weighted column's weight feature must be another entry of
`FEATURES` that gives a number. As in the YAML, a name in a cross names a feature of
the spec when one has that name (features shadow raw columns); a categorical column given as a
cross key must itself be an entry of `FEATURES`.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
from collections.abc import Mapping, Sequence
from typing import Any

from components.transform.spec import FeatureSpec, SharedEmbedding, SpecError, TransformSpec
from components.transform.transforms import (
    Bucketize,
    Cross,
    Derive,
    HashBuckets,
    Identity,
    MinMax,
    Passthrough,
    Transform,
    Vocabulary,
    ZScore,
)

FEATURES = "FEATURES"
LABEL = "LABEL"
FILL = "FILL"
_MODULE_NAMES = (FEATURES, LABEL, FILL)


# --- Helpers for the analyzed transforms (they return FeatureSpecs). --------------------------


def z_score(column, *, name: str | None = None) -> FeatureSpec:
    """A numeric column standardized with its analyzed mean and standard deviation.

    Args:
        column: The raw column: its key, or `fc.numeric_column(key)`.
        name: The output feature's name; defaults to the column's key.

    Example:
        >>> z_score(fc.numeric_column("fare"))
        >>> z_score("fare", name="fare_z")
    """
    return _build(name, lambda: _numeric_key(column, "z_score"), ZScore)


def min_max(column, output_min: float = 0.0, output_max: float = 1.0, *,
            name: str | None = None) -> FeatureSpec:
    """A numeric column scaled so its analyzed min and max map to `output_min`/`output_max`.

    Example:
        >>> min_max("fare", -1, 1, name="fare_scaled")
    """
    return _build(name, lambda: _numeric_key(column, "min_max"),
                  lambda: MinMax(output_min, output_max))


def quantile_buckets(column, num_buckets: int, *, epsilon: float | None = None,
                     name: str | None = None) -> FeatureSpec:
    """A bucketized column whose boundaries are analyzed: ids of `num_buckets` quantiles.

    Example:
        >>> quantile_buckets(fc.numeric_column("pickup_latitude"), num_buckets=10)
    """
    return _build(name, lambda: _numeric_key(column, "quantile_buckets"),
                  lambda: Bucketize(num_buckets, epsilon))


def vocabulary(key: str, *, top_k: int | None = None, frequency_threshold: int | None = None,
               num_oov_buckets: int = 1, name: str | None = None) -> FeatureSpec:
    """A string (or int) column mapped to its index in the analyzed vocabulary.

    Example:
        >>> vocabulary("company", top_k=1000, frequency_threshold=2, num_oov_buckets=10)
    """
    return _build(name, lambda: _key(key, "vocabulary"),
                  lambda: Vocabulary(top_k, frequency_threshold, num_oov_buckets))


def passthrough(key: str, *, name: str | None = None) -> FeatureSpec:
    """A column of any type copied unchanged (missing values filled).

    Example:
        >>> passthrough("company", name="company_filled")
    """
    return _build(name, lambda: _key(key, "passthrough"), Passthrough)


def expression(name: str, text: str) -> FeatureSpec:
    """A feature computed from raw columns, e.g. the label.

    Example:
        >>> expression("big_tipper", "tips > 0.2 * fare")
    """
    try:
        return FeatureSpec(name, Derive(text))
    except (ValueError, TypeError) as e:  # ExpressionError is a ValueError.
        raise SpecError([f"feature {name!r}: {e}"]) from None


def feature(name: str, column) -> FeatureSpec:
    """`column` (a feature column or a helper's result) as the output feature `name`.

    Example:
        >>> feature("pickup_cell", fc.crossed_column(["pickup_latitude", "pickup_longitude"], 100))
        >>> feature("payment_hash", fc.categorical_column_with_hash_bucket("payment_type", 16))
    """
    try:
        if isinstance(column, FeatureSpec):
            source = None if isinstance(column.transform, Cross | Derive) else column.source
            return FeatureSpec(name, column.transform, source=source)
        transform, source = _convert(column)
        return _feature(name, transform, source)
    except (ValueError, TypeError) as e:
        raise SpecError([f"feature {name!r}: {e}"]) from None


# --- Conversion. -----------------------------------------------------------------------------


def spec_from_columns(features: Sequence[Any], *, label: str | None = None,
                      fill: Mapping[str, Any] | None = None,
                      origin: str | None = None) -> TransformSpec:
    """Builds the `TransformSpec` that `features` (feature columns and helper results) describe.

    Args:
        features: The entries, as in a spec module's `FEATURES`.
        label: The feature the trainer predicts, if any.
        fill: Raw column -> the value a missing value takes (see `spec.py`).
        origin: Where the spec came from, for error messages.

    Raises:
        SpecError: Listing every problem, each naming the entry's column.

    Example:
        >>> spec_from_columns([z_score("fare"), expression("big_tipper", "tips > 0.2 * fare")],
        ...                   label="big_tipper")
    """
    if isinstance(features, str | bytes) or not isinstance(features, Sequence):
        raise SpecError([f"`{FEATURES}` must be a list of feature columns, got {features!r}."],
                        origin=origin)
    problems: list[str] = []
    converted: list[FeatureSpec | None] = []
    for index, entry in enumerate(features):
        try:
            converted.append(entry if isinstance(entry, FeatureSpec) else
                             _from_column(entry))
        except (SpecError, ValueError, TypeError) as e:
            converted.append(None)
            lines = e.problems if isinstance(e, SpecError) else (str(e),)
            problems.extend(f"{_describe(entry, index)}: {line}" for line in lines)
    by_name = {f.name: f for f in converted if f is not None}
    for entry, result in zip(features, converted, strict=True):
        if result is not None and isinstance(result.transform, Cross):
            problems.extend(_cross_key_problems(entry, result, by_name))
    shared, shared_problems = _shared_embeddings(features, converted)
    problems.extend(shared_problems)
    if problems:
        raise SpecError(problems, origin=origin)
    try:
        return TransformSpec(tuple(converted), label=label, fill=dict(fill or {}),
                             shared_embeddings=tuple(shared))
    except SpecError as e:
        raise SpecError(e.problems, origin=origin) from None


def spec_from_module(module: types.ModuleType | Mapping[str, Any], *,
                     origin: str | None = None) -> TransformSpec:
    """The `TransformSpec` a spec module (or its namespace) defines with FEATURES/LABEL/FILL.

    Raises:
        SpecError: If `FEATURES` is missing, `LABEL`/`FILL` have the wrong type, or an entry
            does not convert.
    """
    names = module if isinstance(module, Mapping) else vars(module)
    problems = []
    if FEATURES not in names:
        typo = [n for n in names if n.isupper()
                and difflib.get_close_matches(n, _MODULE_NAMES, n=1, cutoff=0.75)]
        hint = f" (it defines {typo})" if typo else ""
        problems.append(f"the module defines no `{FEATURES}`, the list of feature columns"
                        f"{hint}.")
    label = names.get(LABEL)
    if label is not None and not isinstance(label, str):
        problems.append(f"`{LABEL}` must be a feature name (a string), got {label!r}.")
    fill = names.get(FILL)
    if fill is not None and not isinstance(fill, Mapping):
        problems.append(f"`{FILL}` must be a dict of column -> value, got {fill!r}.")
    if problems:
        raise SpecError(problems, origin=origin)
    return spec_from_columns(names[FEATURES], label=label, fill=fill, origin=origin)


def load_python_spec(path: str) -> TransformSpec:
    """Runs the Python spec module at `path` (local or a URI TensorFlow reads) and converts it.

    The module runs in a fresh namespace (not registered in `sys.modules`).

    Raises:
        FileNotFoundError: If there is no file at `path`.
        SpecError: If the module fails to run or its spec is not valid (every problem listed).
    """
    import tensorflow as tf  # Lazily, as `spec.load_spec`.

    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"No transform spec at {path!r}.")
    with tf.io.gfile.GFile(path, "r") as f:
        source = f.read()
    return python_spec_from_source(source, origin=path)


def python_spec_from_source(source: str, *, origin: str = "<python spec>") -> TransformSpec:
    """Runs a Python spec module's source and converts it (see `load_python_spec`)."""
    module = types.ModuleType("_transform_python_spec")
    module.__file__ = origin
    try:
        exec(compile(source, origin, "exec"), vars(module))  # noqa: S102 (the user's spec)
    except SpecError as e:
        raise SpecError(e.problems, origin=origin) from None
    except Exception as e:
        raise SpecError([f"running the module failed: {type(e).__name__}: {e}"],
                        origin=origin) from e
    return spec_from_module(module, origin=origin)


# --- Internals. ------------------------------------------------------------------------------


def _build(name: str | None, source, transform) -> FeatureSpec:
    """Runs the helper's checks, naming the feature (or its column) in any error."""
    try:
        key = source()
    except (ValueError, TypeError) as e:
        raise SpecError([f"feature {name!r}: {e}" if name else str(e)]) from None
    try:
        return _feature(name, transform(), key)
    except (ValueError, TypeError) as e:
        raise SpecError([f"feature {name or key!r}: {e}"]) from None


def _feature(name: str | None, transform: Transform, source: str) -> FeatureSpec:
    if isinstance(transform, Cross):
        return FeatureSpec(name or source, transform)
    return FeatureSpec(name or source, transform,
                       source=None if name is None or name == source else source)


def _from_column(column) -> FeatureSpec:
    """A feature of the spec; a model-side column around a categorical one becomes that
    feature with the choice it declares: `embedding`, `indicator`, `weight` (a shared
    embedding's group is collected by `_shared_embeddings`)."""
    from estimator_lib import feature_column as fc  # Lazily: it loads TensorFlow.

    if isinstance(column, fc.EmbeddingColumn | fc.SharedEmbeddingColumn):
        _check_embedding(column)
        inner = _from_column(column.categorical_column)
        if isinstance(column, fc.SharedEmbeddingColumn):
            return inner
        return dataclasses.replace(inner, embedding=column.dimension)
    if isinstance(column, fc.IndicatorColumn):
        return dataclasses.replace(_from_column(column.categorical_column), indicator=True)
    if isinstance(column, fc.WeightedCategoricalColumn):
        inner = _from_column(column.categorical_column)
        return dataclasses.replace(inner, weight=column.weight_feature_key)
    transform, source = _convert(column)
    return _feature(None, transform, source)


def _check_embedding(column) -> None:
    """Refuses what the feature contract does not carry, rather than dropping it."""
    from estimator_lib import feature_column as fc

    unkept = [f"`{key}` ({getattr(column, key)!r})" for key, default in (
        ("initializer", None), ("max_norm", None), ("trainable", True))
        if getattr(column, key) != default]
    if isinstance(column, fc.EmbeddingColumn) and column.combiner != "mean":
        unkept.append(f"`combiner` ({column.combiner!r})")
    if unkept:
        raise ValueError(f"{', '.join(unkept)}: not kept, since the trainer builds the "
                         "embedding from the feature contract, which records its width (and "
                         "a shared embedding's combiner) only; leave "
                         f"{'it' if len(unkept) == 1 else 'them'} out.")


def _shared_embeddings(features: Sequence[Any], converted: Sequence[FeatureSpec | None]
                       ) -> tuple[list[SharedEmbedding], list[str]]:
    """The shared embedding groups of `fc.shared_embeddings` columns, by table name."""
    from estimator_lib import feature_column as fc

    members: dict[str, list] = {}
    for entry, result in zip(features, converted, strict=True):
        if result is not None and isinstance(entry, fc.SharedEmbeddingColumn):
            members.setdefault(entry.shared_embedding_collection_name, []).append(
                (entry, result.name))
    groups, problems = [], []
    for name, group in members.items():
        first = group[0][0]
        odd = [n for column, n in group
               if (column.dimension, column.combiner) != (first.dimension, first.combiner)]
        if odd:
            problems.append(f"shared embedding {name!r}: features {odd} give another dimension "
                            f"or combiner than {group[0][1]!r} ({first.dimension}, "
                            f"{first.combiner!r}); make the group with one "
                            "fc.shared_embeddings call.")
            continue
        try:
            groups.append(SharedEmbedding(tuple(n for _, n in group), first.dimension,
                                          first.combiner, name=name))
        except ValueError as e:
            problems.append(f"shared embedding {name!r}: {e}")
    return groups, problems


def _convert(column) -> tuple[Transform, str]:
    """(transform, source key) for a feature column; the source of a cross is its name."""
    from estimator_lib import feature_column as fc  # Lazily: it loads TensorFlow.

    if isinstance(column, fc.NumericColumn):
        _check_numeric(column)
        return Passthrough(), column.key
    if isinstance(column, fc.HashedColumn):
        return HashBuckets(column.hash_bucket_size), column.key
    if isinstance(column, fc.IdentityColumn):
        default = 0 if column.default_value is None else column.default_value
        return Identity(column.num_buckets, default), column.key
    if isinstance(column, fc.CrossedColumn):
        if column.hash_key is not None:
            raise ValueError(f"`hash_key` ({column.hash_key!r}) is not supported: the transform "
                             "step's cross hashes with its own key; leave it out.")
        return Cross(tuple(_cross_names(column)), column.hash_bucket_size), column.name
    if isinstance(column, fc.BucketizedColumn):
        raise ValueError(
            f"fixed boundaries {list(column.boundaries)} have no transform-step equivalent (it "
            "analyzes quantile boundaries); write quantile_buckets("
            f"{column.source_column.key!r}, num_buckets={len(column.boundaries) + 1}) or bucket "
            "in the model with fc.bucketized_column.")
    if isinstance(column, fc.VocabularyListColumn | fc.VocabularyFileColumn):
        raise ValueError(
            "a given vocabulary has no transform-step equivalent (it analyzes the vocabulary "
            f"from the data); write vocabulary({column.key!r}, top_k=..., num_oov_buckets=...) "
            "or use the vocabulary column in the model.")
    if isinstance(column, fc.FeatureColumn):
        raise ValueError(
            f"{type(column).__name__} is a model-side column: give it as an entry of "
            f"{FEATURES} (the trainer builds it on the feature its categorical column "
            "makes), not to feature(...).")
    raise TypeError(f"{column!r} is not a feature column or a FeatureSpec; use "
                    "el.feature_column or the helpers in components.transform.python_spec.")


def _check_numeric(column) -> None:
    if column.normalizer_fn is not None:
        raise ValueError("`normalizer_fn` is not supported: use z_score(...)/min_max(...) for "
                         "analyzed scaling or expression(...) for a formula.")
    if column.default_value is not None:
        raise ValueError(f"`default_value` ({column.default_value!r}) is not supported: the "
                         f"transform step fills per raw column; write {FILL} = "
                         f"{{{column.key!r}: {column.default_value[0]!r}}}.")
    if tuple(column.shape) not in ((), (1,)):
        raise ValueError(f"shape {tuple(column.shape)} is not supported: the transform step "
                         "handles single-valued columns only.")


def _cross_names(column):
    from estimator_lib import feature_column as fc

    for key in column.keys:
        if isinstance(key, fc.CrossedColumn):
            yield from _cross_names(key)
        else:
            yield key if isinstance(key, str) else _from_column(key).name


def _cross_key_problems(entry, cross: FeatureSpec, by_name: Mapping[str, FeatureSpec]):
    """A categorical cross key must be an entry of FEATURES, converted the same way."""
    from estimator_lib import feature_column as fc

    if not isinstance(entry, fc.CrossedColumn):
        return []
    problems = []
    keys = [k for k in _leaf_keys(entry) if not isinstance(k, str)]
    for key in keys:
        try:
            wanted = _from_column(key)
        except (ValueError, TypeError) as e:
            problems.append(f"feature {cross.name!r}: cross key {key.name!r}: {e}")
            continue
        if by_name.get(wanted.name) != wanted:
            problems.append(f"feature {cross.name!r}: cross key {key.name!r} is not an entry of "
                            f"{FEATURES}; add it there, or cross a feature or raw column by its "
                            "name (a string).")
    return problems


def _leaf_keys(column):
    from estimator_lib import feature_column as fc

    for key in column.keys:
        if isinstance(key, fc.CrossedColumn):
            yield from _leaf_keys(key)
        else:
            yield key


def _describe(entry: Any, index: int) -> str:
    key = getattr(entry, "key", None)
    name = getattr(entry, "name", None) if key is None else key
    if isinstance(name, str):
        return f"feature {name!r} ({FEATURES}[{index}])"
    return f"{FEATURES}[{index}]"


def _key(key: Any, helper: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"{helper}(...) takes a column key (a string), got {key!r}.")
    return key


def _numeric_key(column: Any, helper: str) -> str:
    if isinstance(column, str):
        return column
    from estimator_lib import feature_column as fc

    if isinstance(column, fc.NumericColumn):
        _check_numeric(column)
        return column.key
    raise TypeError(f"{helper}(...) takes a column key or fc.numeric_column(key), got "
                    f"{column!r}.")


__all__ = [
    "expression",
    "feature",
    "load_python_spec",
    "min_max",
    "passthrough",
    "python_spec_from_source",
    "quantile_buckets",
    "spec_from_columns",
    "spec_from_module",
    "vocabulary",
    "z_score",
]
