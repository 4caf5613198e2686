"""Builds a tf.Transform `preprocessing_fn` from a `TransformSpec`.

The function reads raw columns as TFXIO hands them over (a dense `[batch, 1]` tensor for a
column the schema says is always present, a `tf.SparseTensor` for one that may be missing),
makes each one a dense `[batch]` vector with its fill value, and computes every spec feature
with tf.Transform mappers. Every output is a dense `[batch]` tensor: int64 for categorical
ids and conditions, float32 for numbers, the raw dtype for passthrough.

Example:
    >>> spec = parse_spec(yaml_text)
    >>> validate_against_schema(spec, columns)
    >>> preprocessing_fn = build_preprocessing_fn(spec, columns)
    >>> # -> tft_beam.AnalyzeAndTransformDataset(preprocessing_fn)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import tensorflow as tf
import tensorflow_transform as tft

from components.transform import expression as expr
from components.transform.schema import Column, ColumnType
from components.transform.spec import MEAN_FILL, FeatureSpec, TransformSpec
from components.transform.transforms import (
    Bucketize,
    Cross,
    Derive,
    HashBuckets,
    Identity,
    MinMax,
    Passthrough,
    Vocabulary,
    ZScore,
)

CROSS_SEPARATOR = "_X_"
_DTYPES = {ColumnType.INT: tf.int64, ColumnType.FLOAT: tf.float32, ColumnType.STRING: tf.string}
_ZERO = {ColumnType.INT: 0, ColumnType.FLOAT: 0.0, ColumnType.STRING: ""}

PreprocessingFn = Callable[[Mapping[str, tf.Tensor]], dict[str, tf.Tensor]]


def build_preprocessing_fn(spec: TransformSpec, columns: Mapping[str, Column]) -> PreprocessingFn:
    """Returns the tf.Transform preprocessing_fn that computes `spec`'s features.

    Args:
        spec: The spec, already checked with `validate_against_schema(spec, columns)`.
        columns: The schema's columns.
    """

    def preprocessing_fn(inputs):
        # tf.Transform traces this function more than once; the caches live per trace.
        builder = _FeatureBuilder(spec, columns, inputs)
        return {feature.name: builder.feature(feature.name) for feature in spec.features}

    return preprocessing_fn


def densify(x: tf.Tensor | tf.SparseTensor, fill_value) -> tf.Tensor:
    """A scalar column as a dense `[batch]` vector, missing values set to `fill_value`.

    TFXIO gives a column that may be missing as a `SparseTensor` of shape `[batch, n]` with at
    most one value per row, and an always-present one as a dense `[batch, 1]` tensor.
    """
    if isinstance(x, tf.SparseTensor):
        batch_size = x.dense_shape[0]
        x = tf.sparse.to_dense(
            tf.SparseTensor(x.indices, x.values, tf.stack([batch_size, tf.constant(1, tf.int64)])),
            default_value=tf.cast(fill_value, x.dtype) if x.dtype != tf.string else fill_value)
    elif isinstance(x, tf.RaggedTensor):
        x = x.to_tensor(default_value=fill_value, shape=[None, 1])
    return tf.reshape(x, [-1])


def cross_strings(parts: list[tf.Tensor]) -> tf.Tensor:
    """The string a cross hashes: its inputs as strings joined with `CROSS_SEPARATOR`."""
    return tf.strings.join(
        [p if p.dtype == tf.string else tf.strings.as_string(p) for p in parts],
        separator=CROSS_SEPARATOR)


class _FeatureBuilder:
    """Computes features on demand, each raw column and feature once per trace."""

    def __init__(self, spec: TransformSpec, columns: Mapping[str, Column], inputs):
        self._spec = spec
        self._columns = columns
        self._inputs = inputs
        self._raw: dict[str, tf.Tensor] = {}
        self._features: dict[str, tf.Tensor] = {}

    def raw(self, name: str) -> tf.Tensor:
        """The raw column `name`, dense, missing values filled."""
        if name not in self._raw:
            if name not in self._inputs:
                raise KeyError(f"The raw column {name!r} is not among the transform's inputs "
                               f"({sorted(self._inputs)}).")
            x = self._inputs[name]
            column = self._columns[name]
            fill = self._spec.fill.get(name, _ZERO[column.type])
            if fill == MEAN_FILL:
                fill = self._mean_of_present(x, name)
            self._raw[name] = tf.cast(densify(x, fill), _DTYPES[column.type])
        return self._raw[name]

    def _mean_of_present(self, x, name: str) -> tf.Tensor:
        values = x.values if isinstance(x, tf.SparseTensor | tf.RaggedTensor) else x
        mean = tft.mean(tf.cast(values, tf.float32), name=f"fill_mean_{name}")
        if x.dtype.is_integer:
            mean = tf.round(mean)
        return tf.cast(mean, x.dtype)

    def feature(self, name: str) -> tf.Tensor:
        if name not in self._features:
            self._features[name] = self._compute(self._spec.feature(name))
        return self._features[name]

    def _compute(self, feature: FeatureSpec) -> tf.Tensor:
        t = feature.transform
        scope = _scope_name(feature.name)
        if isinstance(t, Cross):
            parts = [self.feature(n) if self._spec.feature(n) is not None else self.raw(n)
                     for n in t.inputs]
            return tf.strings.to_hash_bucket_fast(cross_strings(parts), t.hash_buckets,
                                                  name=f"cross_{scope}")
        if isinstance(t, Derive):
            return evaluate_expression(t.expression, self.raw)
        x = self.raw(feature.source)
        if isinstance(t, ZScore):
            return tft.scale_to_z_score(tf.cast(x, tf.float32), name=f"z_score_{scope}")
        if isinstance(t, MinMax):
            return tft.scale_by_min_max(tf.cast(x, tf.float32), t.output_min, t.output_max,
                                        name=f"min_max_{scope}")
        if isinstance(t, Bucketize):
            return tft.bucketize(tf.cast(x, tf.float32), t.num_buckets, epsilon=t.epsilon,
                                 name=f"bucketize_{scope}")
        if isinstance(t, Vocabulary) and feature.name == self._spec.label:
            # A class label: the classes are the analyzed splits' distinct values (written as
            # the label's vocabulary), and the label keeps its class names; the head maps
            # them to ids (`label_vocabulary`), so predictions answer in class names and an
            # unseen label is never hashed into a class.
            names = x if x.dtype == tf.string else tf.strings.as_string(x)
            tft.vocabulary(names, vocab_filename=feature.name, name=f"classes_{scope}")
            return names
        if isinstance(t, Vocabulary):
            return tft.compute_and_apply_vocabulary(
                x, top_k=t.top_k, frequency_threshold=t.frequency_threshold,
                num_oov_buckets=t.num_oov_buckets, vocab_filename=feature.name,
                name=f"vocabulary_{scope}")
        if isinstance(t, HashBuckets):
            strings = x if x.dtype == tf.string else tf.strings.as_string(x)
            return tft.hash_strings(strings, t.hash_buckets, name=f"hash_{scope}")
        if isinstance(t, Identity):
            in_range = tf.logical_and(x >= 0, x < t.num_buckets)
            return tf.where(in_range, x, tf.constant(t.default_value, tf.int64))
        if isinstance(t, Passthrough):
            return tf.identity(x)
        raise TypeError(f"Feature {feature.name!r}: no builder for {t!r}.")


def _scope_name(name: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name)


def evaluate_expression(expression: expr.Expression,
                        raw: Callable[[str], tf.Tensor]) -> tf.Tensor:
    """The TensorFlow ops that compute `expression`, as the transform graph runs them.

    Args:
        expression: A parsed expression, type-checked against the schema.
        raw: Gives a raw column's dense `[batch]` tensor by name.

    Returns:
        An int64 0/1 tensor for a condition, else a float32 tensor; finite for finite inputs
        (see `expression.py` for the values of functions outside their domain).

    Example:
        >>> columns = {"fare": tf.constant([0.0, 9.5])}
        >>> evaluate_expression(expr.parse_expression("log1p(fare)"), columns.__getitem__)
    """
    value = _evaluate(expression.root, raw)
    if value.dtype == tf.bool:
        return tf.cast(value, tf.int64)
    # float64 values beyond float32's range saturate rather than become infinite.
    return tf.cast(tf.clip_by_value(value, -_FLOAT32_MAX, _FLOAT32_MAX), tf.float32)


_FLOAT32_MAX = float(tf.float32.max)
_FLOAT64_MAX = float(tf.float64.max)


def _evaluate(node: expr.Node, raw: Callable[[str], tf.Tensor]) -> tf.Tensor:
    # Numbers are float64 here: exact for ints up to 2**53, and no float32 rounding of 0.2.
    if isinstance(node, expr.ColumnRef):
        x = raw(node.name)
        return x if x.dtype == tf.string else tf.cast(x, tf.float64)
    if isinstance(node, expr.Literal):
        if isinstance(node.value, bool):
            return tf.constant(node.value)
        if isinstance(node.value, str):
            return tf.constant(node.value)
        return tf.constant(node.value, tf.float64)
    if isinstance(node, expr.Binary):
        left, right = _evaluate(node.left, raw), _evaluate(node.right, raw)
        ops = {"+": tf.add, "-": tf.subtract, "*": tf.multiply, "/": tf.math.divide_no_nan}
        return ops[node.op](left, right)
    if isinstance(node, expr.Negate):
        return tf.negative(_evaluate(node.operand, raw))
    if isinstance(node, expr.Not):
        return tf.logical_not(_evaluate(node.operand, raw))
    if isinstance(node, expr.Compare):
        left, right = _evaluate(node.left, raw), _evaluate(node.right, raw)
        ops = {"<": tf.less, "<=": tf.less_equal, ">": tf.greater, ">=": tf.greater_equal,
               "==": tf.equal, "!=": tf.not_equal}
        return ops[node.op](left, right)
    if isinstance(node, expr.Call):
        args = [_evaluate(arg, raw) for arg in node.args]
        return _FUNCTIONS[node.function](*args)
    combine = tf.logical_and if node.op == "and" else tf.logical_or
    result = _evaluate(node.operands[0], raw)
    for operand in node.operands[1:]:
        result = combine(result, _evaluate(operand, raw))
    return result


def _defined(valid: tf.Tensor, value: tf.Tensor) -> tf.Tensor:
    """`value` where `valid`, else 0: the language's value where the real result does not exist
    (as `x / 0` is 0)."""
    return tf.where(valid, value, tf.zeros_like(value))


def _saturated(value: tf.Tensor) -> tf.Tensor:
    # An infinity here would turn into NaN in a later `inf - inf`.
    return tf.clip_by_value(value, -_FLOAT64_MAX, _FLOAT64_MAX)


def _pow(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    fractional = tf.not_equal(y, tf.math.floor(y))
    undefined = tf.logical_or(tf.logical_and(x < 0, fractional),
                              tf.logical_and(tf.equal(x, 0), y < 0))
    return _saturated(_defined(tf.logical_not(undefined), tf.pow(x, y)))


def _reduce(op: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]):
    def reduce(*args: tf.Tensor) -> tf.Tensor:
        result = args[0]
        for arg in args[1:]:
            result = op(result, arg)
        return result

    return reduce


# One builder per function of `expr.FUNCTIONS`; arguments are float64 numbers, except
# `where`'s condition (bool) and branches (one dtype).
_FUNCTIONS: Mapping[str, Callable[..., tf.Tensor]] = {
    "abs": tf.abs,
    "exp": lambda x: _saturated(tf.exp(x)),
    "log": lambda x: _defined(x > 0, tf.math.log(x)),
    "log1p": lambda x: _defined(x > -1, tf.math.log1p(x)),
    "sqrt": lambda x: _defined(x >= 0, tf.sqrt(x)),
    "pow": _pow,
    "min": _reduce(tf.minimum),
    "max": _reduce(tf.maximum),
    "clip": lambda x, lo, hi: tf.minimum(tf.maximum(x, lo), hi),
    "where": tf.where,
}
