"""Describes each transformed feature for the trainer: `feature_columns.json`.

The trainer builds its `el.feature_column` columns from this description without knowing how
the features were made:

| kind                   | trainer column                                                |
|------------------------|---------------------------------------------------------------|
| `numeric`              | `numeric_column(name, dtype=dtype)`                           |
| `categorical_identity` | `categorical_column_with_identity(name, num_buckets)`         |
| `string`               | a raw string: hash it or give it a vocabulary at the trainer  |
| `label`                | the label (`num_classes` when it is a class id, e.g. 2 for a condition; a `vocabulary` label keeps its class names, listed sorted in `label_vocabulary`, with no out-of-vocabulary class) |

Every transformed feature is a single value per example (`shape: []`), parsed with
`transformed_feature_spec.json`. With a spec, entries also say which transform made them and
from what (`source`, `inputs` or `expression`), and vocabulary features name their vocabulary
file (relative to the transform graph folder) and size. `serving_raw_columns` lists the raw
columns that every feature but the label reads: what a serving request must carry.

The model side the spec declares travels too: per feature `embedding` (width), `indicator`,
`part` (wide, deep or both) and `weight` (the feature weighing its ids), and at the top level
`shared_embeddings`, one entry per shared table:

    "shared_embeddings": [{"name": "dropoff_area_pickup_area_shared_embedding",
                           "features": ["pickup_area", "dropoff_area"], "dimension": 8,
                           "combiner": "mean"}]

Example of one entry:

    "payment_type": {"kind": "categorical_identity", "num_buckets": 8, "dtype": "int64",
                     "shape": [], "transform": "vocabulary", "source": "payment_type",
                     "vocabulary_file": "transform_fn/assets/payment_type",
                     "vocabulary_size": 7, "num_oov_buckets": 1}
"""

from __future__ import annotations

import os
from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

from components.transform.expression import ValueType
from components.transform.schema import Column
from components.transform.spec import TransformSpec
from components.transform.transforms import (
    Bucketize,
    Cross,
    Derive,
    HashBuckets,
    Identity,
    Vocabulary,
)

FORMAT_VERSION = 1
NUMERIC = "numeric"
CATEGORICAL_IDENTITY = "categorical_identity"
STRING = "string"
LABEL = "label"


def feature_spec_to_json(feature_spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A tf.io feature spec (FixedLenFeature / VarLenFeature) as plain JSON data."""
    result = {}
    for name, spec in sorted(feature_spec.items()):
        if isinstance(spec, tf.io.FixedLenFeature):
            result[name] = {"type": "FixedLenFeature", "shape": list(spec.shape),
                            "dtype": spec.dtype.name}
        elif isinstance(spec, tf.io.VarLenFeature):
            result[name] = {"type": "VarLenFeature", "dtype": spec.dtype.name}
        else:
            result[name] = {"type": type(spec).__name__, "dtype": spec.dtype.name}
    return result


def describe_features(
    tft_output: tft.TFTransformOutput,
    *,
    spec: TransformSpec | None = None,
    columns: dict[str, Column] | None = None,
    label_key: str | None = None,
) -> dict[str, Any]:
    """The `feature_columns.json` content for a written transform graph.

    Args:
        tft_output: The transform graph.
        spec: The spec that made it, if any (a user module makes it otherwise).
        columns: The raw schema's columns (needed with `spec`, for expression types).
        label_key: The label's feature name (the spec's `label` when a spec is given).

    Raises:
        ValueError: If `label_key` is not a transformed feature.
    """
    feature_spec = tft_output.transformed_feature_spec()
    if label_key is not None and label_key not in feature_spec:
        raise ValueError(f"The label {label_key!r} is not a transformed feature "
                         f"({sorted(feature_spec)}).")
    domains = _int_domains(tft_output)
    names = [f.name for f in spec.features] if spec else sorted(feature_spec)
    features = {}
    for name in names:
        entry = _base_entry(feature_spec[name], domains.get(name))
        if spec is not None:
            entry.update(_spec_entry(spec, name, tft_output, columns or {}, domains.get(name)))
        if name == label_key:
            num_classes = entry.pop("num_buckets", None)
            entry["kind"] = LABEL
            if entry.get("transform") == Vocabulary.NAME:
                # A class label: its classes in sorted order, no out-of-vocabulary bucket.
                classes = sorted(_decode(v) for v in tft_output.vocabulary_by_name(name))
                entry.update(label_vocabulary=classes, vocabulary_size=len(classes))
                entry.pop("num_oov_buckets", None)
                num_classes = len(classes)
            if num_classes is not None:
                entry["num_classes"] = num_classes
        features[name] = entry
    description = {
        "format_version": FORMAT_VERSION,
        "label_key": label_key,
        "serving_raw_columns": list(spec.serving_raw_columns) if spec else None,
        "features": features,
    }
    if spec is not None and spec.shared_embeddings:
        description["shared_embeddings"] = [
            {"name": g.name, "features": list(g.features), "dimension": g.dimension,
             "combiner": g.combiner} for g in spec.shared_embeddings]
    return description


def _decode(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _int_domains(tft_output: tft.TFTransformOutput) -> dict[str, tuple[int, int]]:
    domains = {}
    for feature in tft_output.transformed_metadata.schema.feature:
        if feature.HasField("int_domain"):
            domains[feature.name] = (feature.int_domain.min, feature.int_domain.max)
    return domains


def _base_entry(feature_spec, domain: tuple[int, int] | None) -> dict[str, Any]:
    dtype = feature_spec.dtype
    entry: dict[str, Any] = {"dtype": dtype.name}
    if isinstance(feature_spec, tf.io.FixedLenFeature):
        entry["shape"] = list(feature_spec.shape)
    else:
        entry["varlen"] = True
    if dtype == tf.string:
        entry["kind"] = STRING
    elif dtype.is_integer and domain is not None and domain[0] >= 0:
        entry["kind"] = CATEGORICAL_IDENTITY
        entry["num_buckets"] = domain[1] + 1
    else:
        entry["kind"] = NUMERIC
    return {"kind": entry.pop("kind"), **entry}


def _spec_entry(spec: TransformSpec, name: str, tft_output: tft.TFTransformOutput,
                columns: dict[str, Column], domain: tuple[int, int] | None) -> dict[str, Any]:
    feature = spec.feature(name)
    t = feature.transform
    entry: dict[str, Any] = {"transform": t.NAME}
    # What the spec declares for the model side; the trainer's rules fill in the rest.
    entry.update({key: getattr(feature, key) for key in ("embedding", "part", "weight")
                  if getattr(feature, key) is not None})
    if feature.indicator:
        entry["indicator"] = True
    if isinstance(t, Cross):
        entry["inputs"] = list(t.inputs)
    elif isinstance(t, Derive):
        entry["expression"] = t.expression.text
    else:
        entry["source"] = feature.source
    if isinstance(t, Vocabulary):
        size = tft_output.vocabulary_size_by_name(name)
        path = tft_output.vocabulary_file_by_name(name)
        entry.update(kind=CATEGORICAL_IDENTITY, num_buckets=size + t.num_oov_buckets,
                     vocabulary_file=os.path.relpath(path, os.path.dirname(tft_output.transform_savedmodel_dir))
                     if path else None,
                     vocabulary_size=size, num_oov_buckets=t.num_oov_buckets)
    elif isinstance(t, Bucketize):
        # tf.Transform may merge equal quantiles into fewer buckets; the domain it wrote is
        # the real range, and `num_buckets` is the upper bound the spec asked for.
        actual = domain[1] + 1 if domain else t.num_buckets
        entry.update(kind=CATEGORICAL_IDENTITY, num_buckets=max(actual, t.num_buckets))
    elif isinstance(t, HashBuckets | Cross):
        entry.update(kind=CATEGORICAL_IDENTITY, num_buckets=t.hash_buckets)
    elif isinstance(t, Identity):
        entry.update(kind=CATEGORICAL_IDENTITY, num_buckets=t.num_buckets)
    elif isinstance(t, Derive):
        types = {n: c.type for n, c in columns.items()}
        if t.expression.result_type(types) is ValueType.BOOL:
            entry.update(kind=CATEGORICAL_IDENTITY, num_buckets=2)
        else:
            entry.update(kind=NUMERIC)
    return entry
