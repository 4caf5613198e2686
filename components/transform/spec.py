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

    Example:
        >>> FeatureSpec("pickup_lat_bucket", Bucketize(num_buckets=10), source="pickup_latitude",
        ...             embedding=4, part="deep")
    """

    name: str
    transform: Transform
    source: str | None = None
    embedding: int | None = None
    indicator: bool = False
    part: str | None = None

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
class TransformSpec:
    """The whole spec: output features in order, the label, and the missing-value fills.

    Args:
        features: The output features, in the order they are written.
        label: The name of the feature the trainer predicts, if any.
        fill: Raw column -> the value a missing value takes (a number, a string, or "mean").

    Raises:
        SpecError: On duplicate feature names, an unknown label, a cross cycle or a bad fill.

    Example:
        >>> spec = parse_spec(open("examples/chicago_taxi/transform_spec.yaml").read())
        >>> validate_against_schema(spec, columns_of(load_schema(schema_uri)))
    """

    features: tuple[FeatureSpec, ...]
    label: str | None = None
    fill: Mapping[str, FillValue] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "features", tuple(self.features))
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

_TOP_LEVEL_KEYS = ("version", "label", "fill", "features")
_FEATURE_KEYS = ("name", "transform", "source", "embedding", "indicator", "part")


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
    features = []
    for index, entry in enumerate(raw_features):
        try:
            features.append(_feature_from_dict(entry, index))
        except SpecError as e:
            problems.extend(e.problems)
    if problems:
        raise SpecError(problems, origin=origin)
    try:
        return TransformSpec(tuple(features), label=label, fill=fill)
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
        for key in ("embedding", "part"):
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
    return data


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
        raise SpecError([
            f"{label}: unknown parameter {key!r} for transform {kind!r}; "
            f"{kind!r} takes {fields or 'no parameters'}{suggest(key, fields)}."
            for key in unknown])
    try:
        transform = transform_class(**params)
        return FeatureSpec(name, transform, source=entry.get("source"),
                           embedding=entry.get("embedding"),
                           indicator=entry.get("indicator", False), part=entry.get("part"))
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
