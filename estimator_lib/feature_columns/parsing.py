"""`make_parse_example_spec`: the tf.io.parse_example spec of a set of columns."""

from __future__ import annotations

from collections.abc import Iterable

from estimator_lib.feature_columns.base import FeatureColumn


def make_parse_example_spec(feature_columns: Iterable[FeatureColumn]) -> dict:
    """The parsing spec that gives every feature the columns read.

    Numeric columns become `tf.io.FixedLenFeature(shape, dtype, default_value)`;
    categorical features become `tf.io.VarLenFeature` (parsed as SparseTensors, any
    number of values per example). Columns reading the same feature must agree on its
    spec.

    Args:
        feature_columns: Feature columns (dense or categorical).

    Returns:
        Dict of feature name to `tf.io.FixedLenFeature` / `tf.io.VarLenFeature`, for
        `tf.io.parse_example` or `el.export.build_parsing_serving_input_receiver_fn`.

    Raises:
        TypeError: If an item is not a feature column.
        ValueError: If two columns need different specs for one feature.

    Example:
        >>> spec = make_parse_example_spec([numeric_column("age"), embedding_column(query, 8)])
        >>> spec  # {"age": FixedLenFeature([1], tf.float32), "query": VarLenFeature(tf.string)}
        >>> receiver_fn = el.export.build_parsing_serving_input_receiver_fn(spec)
    """
    if isinstance(feature_columns, FeatureColumn):
        feature_columns = [feature_columns]
    spec: dict = {}
    owners: dict[str, str] = {}
    for column in feature_columns:
        if not isinstance(column, FeatureColumn):
            raise TypeError(
                "make_parse_example_spec takes feature columns (e.g. numeric_column(...)); "
                f"received {column!r}."
            )
        for key, feature in column.parse_example_spec.items():
            if key in spec and spec[key] != feature:
                raise ValueError(
                    f"Feature {key!r} is parsed as {spec[key]} for column {owners[key]!r} but as "
                    f"{feature} for column {column.name!r}. Make the columns agree on its dtype "
                    "and shape."
                )
            spec[key] = feature
            owners.setdefault(key, column.name)
    return spec

