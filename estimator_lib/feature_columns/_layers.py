"""What DenseFeatures and LinearModel share: column checks and variable creation.

Variables are created in the layer's `build`, as `keras.Variable`s inside a Keras name
scope per column, so their paths (and the names the Estimator's VariableStore gives
them in checkpoints) are `<layer>/<column or collection name>/<variable>`, e.g.
`dense_features/query_embedding/embedding_weights`, `linear_model/age/weights`.
Their initializer is a callable, which a later trace's VariableStore never calls.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable

import keras

from estimator_lib.feature_columns.base import DenseColumn, FeatureColumn, WeightSpec


def sorted_columns(feature_columns: Iterable[FeatureColumn], layer: str, accepted: tuple,
                   hint: str) -> tuple:
    """The columns sorted by name (as TF1), after checking their types and names."""
    if isinstance(feature_columns, FeatureColumn):
        feature_columns = [feature_columns]
    try:
        columns = list(feature_columns)
    except TypeError:
        columns = None
    if not columns:
        raise ValueError(
            f"`feature_columns` of {layer} must be a non-empty list of feature columns; "
            f"received {feature_columns!r}."
        )
    for column in columns:
        if not isinstance(column, accepted):
            raise TypeError(f"{layer} cannot use {column!r}. {hint}")
    names = [column.name for column in columns]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(
            f"`feature_columns` of {layer} has several columns named {duplicates}; each column "
            "must appear once."
        )
    return tuple(sorted(columns, key=lambda column: column.name))


def scope_name(name: str) -> str:
    """`name` with the characters TF name scopes reject replaced by '_'."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name)


def make_variable(layer: keras.layers.Layer, scope: str | None, name: str, shape, initializer,
                  trainable: bool):
    """A float32 keras.Variable of `layer`, named `<layer path>/<scope>/<name>`."""
    # The layer's own scope is already open inside its __call__ (Keras then does not open
    # it twice); opening it here too names the variables the same when build() is called
    # directly.
    column_scope = contextlib.nullcontext() if scope is None else keras.name_scope(scope_name(scope))
    with keras.name_scope(layer.name, caller=layer), column_scope:
        return keras.Variable(initializer=initializer, shape=tuple(shape), dtype="float32",
                              trainable=trainable, name=name)


def make_tables(layer: keras.layers.Layer, columns: Iterable[FeatureColumn]):
    """The variables of the columns' `weight_spec`s: (scope -> variable, column -> scope).

    Columns whose specs share a scope (shared embeddings) share one variable; they must
    describe the same variable.
    """
    tables, scopes, specs = {}, {}, {}
    for column in columns:
        spec: WeightSpec | None = column.weight_spec if isinstance(column, DenseColumn) else None
        if spec is None:
            continue
        scopes[column.name] = spec.scope
        if spec.scope in specs:
            first_column, first = specs[spec.scope]
            if first != spec:
                raise ValueError(
                    f"Columns {first_column!r} and {column.name!r} share the table {spec.scope!r} "
                    f"but describe it differently ({first} vs {spec}). Build shared columns "
                    "with one shared_embeddings call, or give them different collection names."
                )
            continue
        specs[spec.scope] = (column.name, spec)
        tables[spec.scope] = make_variable(layer, spec.scope, spec.name, spec.shape,
                                           spec.initializer, layer.trainable and spec.trainable)
    return tables, scopes
