"""The declarative feature spec: which transformed features to compute, and how.

One YAML file drives the whole analysis (DESIGN decision 6). Each entry of `features` names an
output feature, the transform that computes it and the transform's parameters; `source` is
the raw column it reads (default: the feature's own name). `fill` gives the value a missing
raw value takes (default: 0 for numbers, "" for strings; `mean` for the analyzed mean of a
numeric column), and `label` names the feature the trainer predicts.

```yaml
label: big_tipper
fill:
  company: ""
  dropoff_latitude: mean
features:
  - {name: fare, transform: z_score}
  - {name: trip_seconds, transform: min_max}
  - {name: pickup_latitude_bucket, source: pickup_latitude, transform: bucketize,
     num_buckets: 10}
  - {name: payment_type, transform: vocabulary, top_k: 10, num_oov_buckets: 1}
  - {name: company, transform: hash, hash_buckets: 64}
  - {name: pickup_cell, transform: cross, hash_buckets: 100,
     inputs: [pickup_latitude_bucket, pickup_longitude_bucket]}
  - {name: trip_start_hour, transform: identity, num_buckets: 24}
  - {name: big_tipper, transform: expression, expression: "tips > 0.2 * fare"}
```

Transforms (parameters with their defaults):

| transform    | reads                   | parameters                                           | output             |
|--------------|-------------------------|------------------------------------------------------|--------------------|
| z_score      | int/float column        | -                                                    | float32            |
| min_max      | int/float column        | output_min=0.0, output_max=1.0                       | float32            |
| bucketize    | int/float column        | num_buckets (>=2), epsilon=None                      | int64 bucket id    |
| vocabulary   | string/int column       | top_k=None, frequency_threshold=None, num_oov_buckets=1 | int64 id        |
| hash         | string/int column       | hash_buckets (>=1)                                   | int64 id           |
| cross        | `inputs`: >=2 string/int columns or categorical features | hash_buckets (>=1) | int64 id      |
| identity     | int column              | num_buckets (>=1), default_value=0 (out of range)    | int64 id           |
| passthrough  | any column              | -                                                    | the column's dtype |
| expression   | `expression`            | see `expression.py`: arithmetic, comparisons, and/or/not, and the functions abs, clip, exp, log, log1p, max, min, pow, sqrt, where | int64 0/1 or float32 |

The model side of a feature (what the trainer's canned estimators build from it; the
trainer's rules apply where nothing is declared):

| key                     | meaning (el.feature_column)                                  |
|-------------------------|--------------------------------------------------------------|
| `embedding: N`          | ids: the deep part embeds them N wide (`embedding_column`)   |
| `indicator: true`       | ids: the deep part reads a one-hot (`indicator_column`)      |
| `weight: <feature>`     | ids: weighed by another feature, a number (`weighted_categorical_column`) |
| `part: wide|deep|both`  | which part of a wide & deep model reads it (default: both)   |

and, at the top level, embedding tables shared by several categorical features
(`shared_embeddings`; `combiner` defaults to "mean", `name` to el's table name):

```yaml
features:
  - {name: pickup_area, source: pickup_community_area, transform: identity, num_buckets: 78}
  - {name: dropoff_area, source: dropoff_community_area, transform: identity, num_buckets: 78}
  - {name: term, transform: hash, hash_buckets: 100, weight: term_count}
  - {name: term_count, transform: passthrough}
shared_embeddings:
  - {features: [pickup_area, dropoff_area], dimension: 8}
```

A cross input names a feature of this spec when one has that name (features shadow raw
columns), otherwise a raw column. This module imports no TensorFlow: a spec is checked when a
pipeline is built, and against the schema (`spec_validation.validate_against_schema`) before
any Beam work. Files are read by `spec_loading.load_spec` (YAML or a Python spec).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from components.transform.expression import ExpressionError
from components.transform.transforms import (
    CATEGORICAL_TRANSFORMS,
    TRANSFORMS,
    Cross,
    Derive,
    Transform,
)

FillValue = int | float | str
MEAN_FILL = "mean"
MODEL_PARTS = ("wide", "deep", "both")  # which part of a wide & deep model reads a feature
# How an embedding combines an example's ids: el.feature_column's COMBINERS (this module
# imports no TensorFlow; a test keeps the two equal).
EMBEDDING_COMBINERS = ("mean", "sqrtn", "sum")
_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


class SpecError(ValueError):
    """A transform spec that cannot be used; the message lists every problem found.

    Attributes:
        problems: One line per problem, each naming the feature (or section) and the fix.
    """

    def __init__(self, problems: Sequence[str], *, origin: str | None = None):
        self.problems = tuple(problems)
        where = f" {origin!r}" if origin else ""
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Invalid transform spec{where}:\n{lines}")


# --- Features and the spec. ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FeatureSpec:
    """One output feature: its name, its transform, and the raw column it reads.

    Args:
        name: The transformed feature's key in the output tf.Examples.
        transform: One of the transform dataclasses above.
        source: The raw column read by single-column transforms; defaults to `name`. Must be
            None for `Cross` (which has `inputs`) and `Derive` (which has an expression).
        embedding: For a categorical feature (ids): the width of its embedding in a model's
            deep part. None (default): the trainer's rule (about 6 * buckets ** 0.25).
        indicator: For a categorical feature: a one-hot indicator instead of an embedding
            in the deep part. Default False.
        part: Which part of a wide & deep model reads the feature: "wide" (linear),
            "deep" (dnn) or "both". None (default): both for ids and numbers alike.
        weight: For a categorical feature: another feature of the spec, a number, that
            weighs its id (`el.feature_column.weighted_categorical_column`): it scales the
            id's linear weight and its embedding. None (default): no weight.

    Example:
        >>> FeatureSpec("pickup_lat_bucket", Bucketize(num_buckets=10), source="pickup_latitude",
        ...             embedding=4, part="deep")
        >>> FeatureSpec("term", HashBuckets(hash_buckets=64), weight="term_count")
    """

    name: str
    transform: Transform
    source: str | None = None
    embedding: int | None = None
    indicator: bool = False
    part: str | None = None
    weight: str | None = None

    def __post_init__(self):
        _check_name("name", self.name)
        if not isinstance(self.transform, tuple(TRANSFORMS.values())):
            raise TypeError(f"`transform` must be one of {sorted(TRANSFORMS)}, got "
                            f"{self.transform!r}.")
        if isinstance(self.transform, Cross | Derive):
            if self.source is not None:
                what = "`inputs`" if isinstance(self.transform, Cross) else "`expression`"
                raise ValueError(f"`source` ({self.source!r}) does not apply to the "
                                 f"{self.transform.NAME!r} transform, which reads its {what}.")
        elif self.source is None:
            object.__setattr__(self, "source", self.name)
        else:
            _check_name("source", self.source)
        if self.part is not None and self.part not in MODEL_PARTS:
            raise ValueError(f"`part` ({self.part!r}) must be one of {list(MODEL_PARTS)}.")
        if not isinstance(self.indicator, bool):
            raise ValueError(f"`indicator` must be true or false, got {self.indicator!r}.")
        if self.embedding is not None and (isinstance(self.embedding, bool) or not isinstance(
                self.embedding, int) or self.embedding < 1):
            raise ValueError(f"`embedding` ({self.embedding!r}) must be a positive integer "
                             "(the embedding's width).")
        if (self.embedding is not None or self.indicator) and not self.is_categorical:
            raise ValueError(f"`embedding` and `indicator` are for categorical features (ids); "
                             f"the {self.transform.NAME!r} transform gives a number.")
        if self.embedding is not None and self.indicator:
            raise ValueError("Give `embedding` or `indicator: true`, not both: the deep part "
                             "reads the ids one way.")
        if self.part == "wide" and (self.embedding is not None or self.indicator):
            raise ValueError("`embedding`/`indicator` shape the deep part, but `part` is "
                             "'wide'.")
        if self.weight is not None:
            _check_name("weight", self.weight)
            if not self.is_categorical:
                raise ValueError(f"`weight` is for categorical features (ids); the "
                                 f"{self.transform.NAME!r} transform gives a number.")
            if self.weight == self.name:
                raise ValueError(f"`weight` ({self.weight!r}) is the feature itself; weights "
                                 "come from another feature of the spec.")

    @property
    def is_categorical(self) -> bool:
        """Whether the output is an int64 id in [0, num_buckets)."""
        return isinstance(self.transform, CATEGORICAL_TRANSFORMS)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The names this feature reads (raw columns, or features for a cross's inputs)."""
        if isinstance(self.transform, Cross):
            return self.transform.inputs
        if isinstance(self.transform, Derive):
            return tuple(sorted(self.transform.expression.columns))
        return (self.source,)


@dataclasses.dataclass(frozen=True)
class SharedEmbedding:
    """Categorical features whose ids the deep part looks up in one embedding table.

    The spec's form of `el.feature_column.shared_embeddings(columns, dimension, combiner,
    shared_embedding_collection_name=name)`: each member reads its ids through the shared
    table, `[num_buckets, dimension]` (the members' largest `num_buckets`). Share a table
    between features whose ids mean the same thing (hashes of the same size, identity ids);
    two vocabularies are analyzed apart, so their ids differ.

    Args:
        features: The member features (at least two), categorical features of the spec.
        dimension: The width of the shared embedding.
        combiner: How an example's ids combine, as in el: "mean" (default), "sqrtn" or
            "sum" (with one id per example, only a weighted feature's "sum" differs: it
            scales the row by the weight).
        name: The table's name (el's `shared_embedding_collection_name`). Default: the
            sorted member names joined by "_", plus "_shared_embedding".

    Example:
        >>> SharedEmbedding(("pickup_area", "dropoff_area"), dimension=8)
    """

    features: tuple[str, ...]
    dimension: int
    combiner: str = "mean"
    name: str | None = None

    def __post_init__(self):
        if isinstance(self.features, str) or not isinstance(self.features, Sequence):
            raise ValueError(f"`features` must be a list of feature names, got "
                             f"{self.features!r}.")
        object.__setattr__(self, "features", tuple(self.features))
        for name in self.features:
            _check_name("features", name)
        if len(self.features) < 2:
            raise ValueError(f"`features` ({list(self.features)}) must name at least two "
                             "features to share a table; a single feature takes its own "
                             "`embedding`.")
        if len(set(self.features)) != len(self.features):
            raise ValueError(f"`features` ({list(self.features)}) names a feature twice.")
        if (isinstance(self.dimension, bool) or not isinstance(self.dimension, int)
                or self.dimension < 1):
            raise ValueError(f"`dimension` ({self.dimension!r}) must be a positive integer "
                             "(the embedding's width).")
        if self.combiner not in EMBEDDING_COMBINERS:
            hint = suggest(self.combiner, EMBEDDING_COMBINERS)
            raise ValueError(f"`combiner` ({self.combiner!r}) must be one of "
                             f"{list(EMBEDDING_COMBINERS)}{hint}.")
        if self.name is None:  # el.feature_column.shared_embeddings' default name
            object.__setattr__(self, "name", "_".join(sorted(self.features))
                               + "_shared_embedding")
        _check_name("name", self.name)


@dataclasses.dataclass(frozen=True)
class TransformSpec:
    """The whole spec: output features in order, the label, and the missing-value fills.

    Args:
        features: The output features, in the order they are written.
        label: The name of the feature the trainer predicts, if any.
        fill: Raw column -> the value a missing value takes (a number, a string, or "mean").
        shared_embeddings: Groups of categorical features that share one embedding table.

    Raises:
        SpecError: On duplicate feature names, an unknown label, a cross cycle, a bad fill,
            or a weight or shared embedding that does not fit the features.

    Example:
        >>> spec = parse_spec(open("examples/chicago_taxi/transform_spec.yaml").read())
        >>> validate_against_schema(spec, columns_of(load_schema(schema_uri)))
    """

    features: tuple[FeatureSpec, ...]
    label: str | None = None
    fill: Mapping[str, FillValue] = dataclasses.field(default_factory=dict)
    shared_embeddings: tuple[SharedEmbedding, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "shared_embeddings", tuple(self.shared_embeddings))
        object.__setattr__(self, "fill", types.MappingProxyType(dict(self.fill)))
        problems = []
        if not self.features:
            problems.append("`features` is empty: list at least one feature to compute.")
        seen = set()
        for feature in self.features:
            if not isinstance(feature, FeatureSpec):
                raise TypeError(f"`features` must hold FeatureSpec objects, got {feature!r}.")
            if feature.name in seen:
                problems.append(f"feature {feature.name!r}: defined more than once; feature "
                                "names must be unique.")
            seen.add(feature.name)
        if self.label is not None and self.label not in seen:
            problems.append(f"`label` ({self.label!r}) is not a feature of the spec; "
                            f"define it under `features`{suggest(self.label, seen)}.")
        for column, value in self.fill.items():
            if not isinstance(column, str):
                problems.append(f"`fill`: keys must be column names, got {column!r}.")
            elif isinstance(value, bool) or not isinstance(value, int | float | str):
                problems.append(f"`fill` for {column!r}: {value!r} must be a number, a "
                                f"string, or {MEAN_FILL!r}.")
        problems.extend(self._cycle_problems())
        problems.extend(self._weight_problems())
        problems.extend(self._shared_embedding_problems())
        if problems:
            raise SpecError(problems)

    def feature(self, name: str) -> FeatureSpec | None:
        """The feature called `name`, or None."""
        return next((f for f in self.features if f.name == name), None)

    def raw_columns(self, features: Sequence[FeatureSpec] | None = None) -> tuple[str, ...]:
        """The raw columns that `features` (default: all) read, directly or through crosses."""
        columns: dict[str, None] = {}
        for feature in self.features if features is None else features:
            for name in self._raw_inputs(feature, ()):
                columns[name] = None
        return tuple(columns)

    @property
    def serving_raw_columns(self) -> tuple[str, ...]:
        """The raw columns every feature but the label reads: what serving must send."""
        return self.raw_columns([f for f in self.features if f.name != self.label])

    def _raw_inputs(self, feature: FeatureSpec, path: tuple[str, ...]):
        for name in feature.inputs:
            referenced = self.feature(name) if isinstance(feature.transform, Cross) else None
            if referenced is None:
                yield name
            elif name not in path:  # cycles are reported by __post_init__
                yield from self._raw_inputs(referenced, path + (feature.name,))

    def shared_embedding_of(self, name: str) -> SharedEmbedding | None:
        """The shared embedding group feature `name` belongs to, or None."""
        return next((g for g in self.shared_embeddings if name in g.features), None)

    def _weight_problems(self) -> list[str]:
        problems = []
        names = [f.name for f in self.features]
        for feature in self.features:
            if feature.weight is None:
                continue
            label = f"feature {feature.name!r}"
            weight = self.feature(feature.weight)
            if weight is None:
                problems.append(f"{label}: `weight` ({feature.weight!r}) is not a feature of "
                                f"the spec{suggest(feature.weight, names)}; add the weight "
                                "to the features as a number (passthrough, z_score, ...).")
            elif feature.weight == self.label:
                problems.append(f"{label}: `weight` ({feature.weight!r}) is the label; the "
                                "model does not read the label as an input.")
            elif weight.is_categorical:
                problems.append(f"{label}: `weight` ({feature.weight!r}) is a "
                                f"{weight.transform.NAME!r} feature (ids); a weight is a "
                                "number (passthrough, z_score, min_max or expression).")
        return problems

    def _shared_embedding_problems(self) -> list[str]:
        problems, owner = [], {}
        names = [f.name for f in self.features]
        for index, group in enumerate(self.shared_embeddings):
            if not isinstance(group, SharedEmbedding):
                raise TypeError(f"`shared_embeddings` must hold SharedEmbedding objects, got "
                                f"{group!r}.")
            where = f"shared embedding {group.name!r}"
            if group.name in (g.name for g in self.shared_embeddings[:index]):
                problems.append(f"{where}: the name is used by another shared embedding; "
                                "give each table its own `name`.")
            for name in group.features:
                feature = self.feature(name)
                if feature is None:
                    problems.append(f"{where}: {name!r} is not a feature of the spec"
                                    f"{suggest(name, names)}.")
                    continue
                label = f"feature {name!r} (in {where})"
                if name in owner:
                    problems.append(f"{label}: it is already in shared embedding "
                                    f"{owner[name]!r}; a feature reads one table.")
                owner.setdefault(name, group.name)
                if name == self.label:
                    problems.append(f"{label}: it is the label; the model does not read the "
                                    "label as an input.")
                elif not feature.is_categorical:
                    problems.append(f"{label}: shared embeddings are for categorical features "
                                    f"(ids); {name!r} is a {feature.transform.NAME!r} feature.")
                elif feature.embedding is not None or feature.indicator:
                    key = "embedding" if feature.embedding is not None else "indicator"
                    problems.append(f"{label}: it also declares `{key}`; its deep part reads "
                                    f"the shared table, so leave `{key}` out.")
                elif feature.part == "wide":
                    problems.append(f"{label}: `part` is 'wide', but a shared embedding is "
                                    "read by the deep part; use 'deep' or 'both'.")
        return problems

    def _cycle_problems(self) -> list[str]:
        problems = []
        for feature in self.features:
            cycle = self._find_cycle(feature, (feature.name,))
            if cycle:
                problems.append(f"feature {feature.name!r}: its cross inputs form a cycle "
                                f"({' -> '.join(cycle)}).")
        return problems

    def _find_cycle(self, feature: FeatureSpec, path: tuple[str, ...]):
        if not isinstance(feature.transform, Cross):
            return None
        for name in feature.inputs:
            referenced = self.feature(name)
            if referenced is None:
                continue
            if name == path[0]:
                return path + (name,)
            if name not in path:
                cycle = self._find_cycle(referenced, path + (name,))
                if cycle:
                    return cycle
        return None


# --- Parsing. --------------------------------------------------------------------------------

_TOP_LEVEL_KEYS = ("version", "label", "fill", "features", "shared_embeddings")
_FEATURE_KEYS = ("name", "transform", "source", "embedding", "indicator", "part", "weight")
_SHARED_EMBEDDING_KEYS = tuple(f.name for f in dataclasses.fields(SharedEmbedding))


def parse_spec(text: str, *, origin: str | None = None) -> TransformSpec:
    """Parses a YAML spec (see the module docstring) and checks its structure.

    Args:
        text: The YAML text.
        origin: Where the text came from, for error messages.

    Raises:
        SpecError: Listing every problem found (unknown keys or transforms, bad parameters).
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise SpecError([f"not valid YAML: {e}"], origin=origin) from None
    return spec_from_dict(data, origin=origin)


def _parse_each(entries: list, parse, problems: list[str]) -> list:
    """`parse(entry, index)` of each entry; the problems of those that do not parse are
    added to `problems`, so that every problem of the spec is told at once."""
    parsed = []
    for index, entry in enumerate(entries):
        try:
            parsed.append(parse(entry, index))
        except SpecError as e:
            problems.extend(e.problems)
    return parsed



def spec_from_dict(data: Any, *, origin: str | None = None) -> TransformSpec:
    """Builds a `TransformSpec` from plain data (the parsed YAML).

    Raises:
        SpecError: Listing every problem found.
    """
    if not isinstance(data, Mapping):
        raise SpecError([f"the spec must be a mapping with `features`, got {data!r}."],
                        origin=origin)
    problems = [f"unknown top-level key {key!r}; expected one of {list(_TOP_LEVEL_KEYS)}"
                f"{suggest(key, _TOP_LEVEL_KEYS)}." for key in data if key not in _TOP_LEVEL_KEYS]
    if data.get("version", 1) != 1:
        problems.append(f"`version` ({data['version']!r}) is not supported; this reader knows "
                        "version 1.")
    raw_features = data.get("features")
    if not isinstance(raw_features, list):
        problems.append(f"`features` must be a list of feature entries, got {raw_features!r}.")
        raw_features = []
    fill = data.get("fill") or {}
    if not isinstance(fill, Mapping):
        problems.append(f"`fill` must be a mapping of column -> value, got {fill!r}.")
        fill = {}
    label = data.get("label")
    if label is not None and not isinstance(label, str):
        problems.append(f"`label` must be a feature name, got {label!r}.")
        label = None
    features = _parse_each(raw_features, _feature_from_dict, problems)
    raw_groups = data.get("shared_embeddings") or []
    if not isinstance(raw_groups, list):
        problems.append("`shared_embeddings` must be a list of groups ({features: [a, b], "
                        f"dimension: N}}), got {raw_groups!r}.")
        raw_groups = []
    groups = _parse_each(raw_groups, _shared_embedding_from_dict, problems)
    if problems:
        raise SpecError(problems, origin=origin)
    try:
        return TransformSpec(tuple(features), label=label, fill=fill,
                             shared_embeddings=tuple(groups))
    except SpecError as e:
        raise SpecError(e.problems, origin=origin) from None


def spec_to_dict(spec: TransformSpec) -> dict[str, Any]:
    """The plain data `spec_from_dict` reads back into an equal spec (defaults left out).

    Example:
        >>> spec_from_dict(spec_to_dict(spec)) == spec
        True
    """
    features = []
    for feature in spec.features:
        entry: dict[str, Any] = {"name": feature.name, "transform": feature.transform.NAME}
        if feature.source is not None and feature.source != feature.name:
            entry["source"] = feature.source
        for key in ("embedding", "part", "weight"):
            if getattr(feature, key) is not None:
                entry[key] = getattr(feature, key)
        if feature.indicator:
            entry["indicator"] = True
        for field in dataclasses.fields(feature.transform):
            value = getattr(feature.transform, field.name)
            if field.default is not dataclasses.MISSING and value == field.default:
                continue
            if isinstance(feature.transform, Derive):
                value = value.text
            entry[field.name] = list(value) if isinstance(value, tuple) else value
        features.append(entry)
    data: dict[str, Any] = {}
    if spec.label is not None:
        data["label"] = spec.label
    if spec.fill:
        data["fill"] = dict(spec.fill)
    data["features"] = features
    if spec.shared_embeddings:
        data["shared_embeddings"] = [_shared_embedding_to_dict(g)
                                     for g in spec.shared_embeddings]
    return data


def _shared_embedding_to_dict(group: SharedEmbedding) -> dict[str, Any]:
    entry: dict[str, Any] = {"features": list(group.features), "dimension": group.dimension}
    if group.combiner != "mean":
        entry["combiner"] = group.combiner
    if group.name != SharedEmbedding(group.features, group.dimension).name:
        entry["name"] = group.name
    return entry


def _shared_embedding_from_dict(entry: Any, index: int) -> SharedEmbedding:
    where = f"shared_embeddings[{index}]"
    if not isinstance(entry, Mapping):
        raise SpecError([f"{where}: must be a mapping like {{features: [a, b], dimension: "
                         f"8}}, got {entry!r}."])
    unknown = [k for k in entry if k not in _SHARED_EMBEDDING_KEYS]
    if unknown:
        raise SpecError([f"{where}: unknown key {key!r}; a shared embedding takes "
                         f"{list(_SHARED_EMBEDDING_KEYS)}{suggest(key, _SHARED_EMBEDDING_KEYS)}."
                         for key in unknown])
    missing = [k for k in ("features", "dimension") if k not in entry]
    if missing:
        raise SpecError([f"{where}: needs {missing}, e.g. {{features: [a, b], dimension: 8}}."])
    try:
        return SharedEmbedding(**entry)
    except ValueError as e:
        raise SpecError([f"{where}: {e}"]) from None


def dump_spec(spec: TransformSpec) -> str:
    """The spec as YAML text that `parse_spec` reads back into an equal spec."""
    return yaml.safe_dump(spec_to_dict(spec), sort_keys=False, default_flow_style=None,
                          width=100)


def _feature_from_dict(entry: Any, index: int) -> FeatureSpec:
    if not isinstance(entry, Mapping):
        raise SpecError([f"features[{index}]: must be a mapping with `name` and `transform`, "
                         f"got {entry!r}."])
    name = entry.get("name")
    label = f"feature {name!r}" if isinstance(name, str) else f"features[{index}]"
    if not isinstance(name, str):
        raise SpecError([f"{label}: `name` must be a string, got {name!r}."])
    kind = entry.get("transform")
    if kind not in TRANSFORMS:
        hint = suggest(kind, TRANSFORMS) if isinstance(kind, str) else ""
        raise SpecError([f"{label}: unknown transform {kind!r}; expected one of "
                         f"{sorted(TRANSFORMS)}{hint}."])
    transform_class = TRANSFORMS[kind]
    fields = [f.name for f in dataclasses.fields(transform_class)]
    params = {k: v for k, v in entry.items() if k not in _FEATURE_KEYS}
    unknown = [k for k in params if k not in fields]
    if unknown:
        # A typo may be of a parameter or of a per-feature key (`weigth`, `embeding`).
        keys = [*fields, *_FEATURE_KEYS[2:]]
        raise SpecError([
            f"{label}: unknown parameter {key!r} for transform {kind!r}; "
            f"{kind!r} takes {fields or 'no parameters'}{suggest(key, keys)}."
            for key in unknown])
    try:
        transform = transform_class(**params)
        return FeatureSpec(name, transform, source=entry.get("source"),
                           embedding=entry.get("embedding"),
                           indicator=entry.get("indicator", False), part=entry.get("part"),
                           weight=entry.get("weight"))
    except TypeError as e:
        missing = [f.name for f in dataclasses.fields(transform_class)
                   if f.default is dataclasses.MISSING and f.name not in params]
        if missing:
            raise SpecError([f"{label}: transform {kind!r} needs the parameter(s) {missing}."]) from None
        raise SpecError([f"{label}: {e}"]) from None
    except (ValueError, ExpressionError) as e:
        raise SpecError([f"{label}: {e}"]) from None


# --- Validation against the schema. ----------------------------------------------------------


def _check_name(key: str, value: Any) -> None:
    if not isinstance(value, str) or not _NAME_PATTERN.match(value):
        raise ValueError(f"`{key}` ({value!r}) must be a name of letters, digits, '_', '.' or "
                         "'-', starting with a letter or '_'.")


def suggest(word: Any, choices) -> str:
    if not isinstance(word, str):
        return ""
    match = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""
