"""Tensors on the wire: TensorProto (gRPC) and JSON (REST) to numpy, and back.

JSON follows TF Serving's REST API: numbers and nested lists; strings as UTF-8 text, or
`{"b64": "..."}` for binary data; string outputs whose name ends in `_bytes` are sent
base64-encoded (and any string output that is not valid UTF-8).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import math
from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from serving import errors

# TensorProto's value field for each dtype, and how many entries make one element.
_VALUE_FIELDS = {
    tf.float32: ("float_val", 1), tf.float64: ("double_val", 1),
    tf.int32: ("int_val", 1), tf.int16: ("int_val", 1), tf.int8: ("int_val", 1),
    tf.uint8: ("int_val", 1), tf.uint16: ("int_val", 1),
    tf.qint8: ("int_val", 1), tf.quint8: ("int_val", 1), tf.qint16: ("int_val", 1),
    tf.quint16: ("int_val", 1), tf.qint32: ("int_val", 1),
    tf.int64: ("int64_val", 1), tf.uint32: ("uint32_val", 1), tf.uint64: ("uint64_val", 1),
    tf.bool: ("bool_val", 1), tf.string: ("string_val", 1),
    tf.float16: ("half_val", 1), tf.bfloat16: ("half_val", 1),
    tf.complex64: ("scomplex_val", 2), tf.complex128: ("dcomplex_val", 2),
}


def proto_shape(proto, where: str = "input") -> list[int]:
    """The shape a TensorProto claims, checked but not expanded.

    Raises:
        ServingError: INVALID_ARGUMENT for an unknown rank or a negative dimension.

    Example:
        >>> proto_shape(tf.make_tensor_proto(0.0, shape=[1000, 8]))
        [1000, 8]
    """
    if proto.tensor_shape.unknown_rank:
        raise errors.invalid_argument(f"Malformed TensorProto for {where}: the shape has an "
                                      "unknown rank; send the tensor's full shape.")
    shape = [d.size for d in proto.tensor_shape.dim]
    if any(size < 0 for size in shape):
        raise errors.invalid_argument(
            f"Malformed TensorProto for {where}: shape {shape} has a negative dimension.")
    return shape


def check_tensor_proto(proto, where: str = "input") -> tuple[tf.DType, list[int]]:
    """The dtype and shape a TensorProto claims, after checking its content backs them.

    Nothing is allocated: the claim is checked against the number of values sent. Packed
    `tensor_content` must hold exactly the shape's bytes. The typed value fields may hold
    fewer values than the shape, as TensorFlow allows (no values: zeros; otherwise the
    last value repeats), but never more. Bound the claim (a `RequestLimits` element
    budget, `padding_bytes`) before `to_tensor` expands it.

    Raises:
        ServingError: INVALID_ARGUMENT naming `where` and what does not match.

    Example:
        >>> check_tensor_proto(tf.make_tensor_proto(1.5, shape=[12_500_000, 8]), "input 'x'")
        (tf.float32, [12500000, 8])
    """
    try:
        dtype = tf.as_dtype(proto.dtype)
    except TypeError as exc:
        raise errors.invalid_argument(f"Malformed TensorProto for {where}: {exc}") from exc
    shape = proto_shape(proto, where)
    count = math.prod(shape)
    if dtype not in _VALUE_FIELDS:
        raise errors.invalid_argument(
            f"TensorProto for {where} has dtype {dtype.name}, which this server does not "
            f"take as input (supported: {sorted({d.name for d in _VALUE_FIELDS})}).")
    if proto.tensor_content:
        if dtype == tf.string:
            raise errors.invalid_argument(
                f"Malformed TensorProto for {where}: a string tensor cannot use "
                "tensor_content; send its values in string_val.")
        expected = count * dtype.size
        if len(proto.tensor_content) != expected:
            raise errors.invalid_argument(
                f"Malformed TensorProto for {where}: shape {shape} of {dtype.name} needs "
                f"{expected:,} bytes of tensor_content; it has {len(proto.tensor_content):,}.")
        return dtype, shape
    field, per_element = _VALUE_FIELDS[dtype]
    values = len(getattr(proto, field))
    if values > count * per_element:
        raise errors.invalid_argument(
            f"Malformed TensorProto for {where}: {values:,} entries in {field} are more than "
            f"shape {shape} holds ({count:,} elements).")
    if values % per_element:
        raise errors.invalid_argument(
            f"Malformed TensorProto for {where}: {field} needs {per_element} entries per "
            f"element; it has {values}.")
    return dtype, shape


def padding_bytes(proto, dtype: tf.DType, shape: list[int]) -> int:
    """The bytes TensorFlow's padding adds to a checked TensorProto: 0 when its values
    fill the shape; else the missing elements times the size of one (for strings, the
    repeated last value's length).

    Example:
        >>> padding_bytes(tf.make_tensor_proto(1.5, shape=[4]), tf.float32, [4])
        12
    """
    if proto.tensor_content:
        return 0
    field, per_element = _VALUE_FIELDS[dtype]
    values = getattr(proto, field)
    missing = math.prod(shape) - len(values) // per_element
    if missing <= 0:
        return 0
    if dtype == tf.string:
        return missing * (len(values[-1]) if values else 0)
    return missing * dtype.size


def to_tensor(proto, where: str = "input") -> tf.Tensor:
    """A TensorProto as a tensor, built by TensorFlow from the proto (no Python objects
    per element, as `to_ndarray` makes for strings).

    Check the claim first (`check_tensor_proto` and the request limits): this expands it.

    Example:
        >>> to_tensor(tf.make_tensor_proto([1.0, 2.0], shape=[3])).numpy()
        array([1., 2., 2.], dtype=float32)
    """
    try:
        return tf.io.parse_tensor(proto.SerializeToString(), out_type=proto.dtype)
    except Exception as exc:  # noqa: BLE001  (op errors for what the checks did not catch)
        raise errors.invalid_argument(f"Malformed TensorProto for {where}: "
                                      f"{errors.from_exception(exc).message}") from exc


def to_ndarray(proto, where: str = "input") -> np.ndarray:
    """A TensorProto as a numpy array (strings as an object array of bytes).

    Check the claim first (`check_tensor_proto` and the request limits): this expands it.
    """
    try:
        return tf.make_ndarray(proto)
    except Exception as exc:  # Malformed protos raise TypeError/ValueError from deep inside TF.
        raise errors.invalid_argument(f"Malformed TensorProto for {where}: {exc}") from exc


def to_tensor_proto(value, dtype=None):
    """A numpy array (or nested list) as a TensorProto."""
    return tf.make_tensor_proto(value, dtype=dtype)


def dtype_name(dtype) -> str:
    """TF Serving's short dtype names in messages: float, double, string, int64..."""
    dtype = tf.as_dtype(dtype)
    return {tf.float32: "float", tf.float64: "double"}.get(dtype, dtype.name)


MAX_RANK = 254  # TensorFlow's largest rank (TensorShape::MaxDimensions).

# TF Serving refuses a JSON integer a float type cannot hold exactly (json_tensor.cc):
# above 2**digits - 1, where digits counts the mantissa bits.
_MANTISSA_DIGITS = {tf.float16: 11, tf.bfloat16: 8, tf.float32: 24, tf.float64: 53}


def _json_text(value, limit: int = 80) -> str:
    """A leaf as JSON spells it (null, true, "text"), shortened for messages."""
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


_JSON_TYPE = {type(None): "null", bool: "boolean", int: "number", float: "number",
              str: "string", dict: "object", list: "list"}


def json_shape(value, where: str = "input") -> list[int]:
    """The shape nested JSON lists claim, read down their first elements (not checked).

    Raises:
        ServingError: INVALID_ARGUMENT if the lists nest deeper than TensorFlow's rank.

    Example:
        >>> json_shape([[1, 2, 3], [4, 5]])  # Ragged: `json_to_tensor` says so.
        [2, 3]
    """
    shape, node = [], value
    while isinstance(node, list):
        if len(shape) == MAX_RANK:
            raise errors.invalid_argument(
                f"{where}: the lists nest deeper than {MAX_RANK} levels, TensorFlow's "
                "largest rank.")
        shape.append(len(node))
        if not node:
            break
        node = node[0]
    return shape


def _describe(value) -> str:
    """A JSON leaf for messages: `null`, `true`, `the string "a"`, `a nested list [1]`."""
    if value is None or type(value) is bool:
        return _json_text(value)
    if type(value) is list:
        return f"a nested list {_json_text(value)}"
    return f"the {_JSON_TYPE.get(type(value), 'value')} {_json_text(value)}"


def _position(index: int, shape: list[int]) -> str:
    return "".join(f"[{i}]" for i in np.unravel_index(index, shape)) if shape else ""


def _flatten(value, shape: list[int], where: str) -> list:
    """The leaves of nested lists of exactly `shape`, in row-major order."""
    level = [value]
    for depth, size in enumerate(shape):
        for index, item in enumerate(level):
            if type(item) is not list or len(item) != size:
                found = (f"a list of {len(item)}" if type(item) is list else _describe(item))
                raise errors.invalid_argument(
                    f"{where}: the nested lists are ragged; at {_position(index, shape[:depth])} "
                    f"found {found} where a list of {size} was expected (the first elements "
                    f"claim shape {shape}). Every element of a dimension must have the same "
                    "shape.")
        level = list(itertools.chain.from_iterable(level))
    return level


def _type_error(leaves: list, shape: list[int], allowed: tuple[type, ...], dtype: tf.DType,
                where: str, expected: str) -> errors.ServingError:
    index, bad = next((i, v) for i, v in enumerate(leaves) if type(v) not in allowed)
    at = f" at {_position(index, shape)}" if shape else ""
    return errors.invalid_argument(
        f"{where}: received {_describe(bad)}{at} where {expected} is expected; the input "
        f"is {dtype_name(dtype)}.")


def _b64_decode(value, where: str) -> bytes:
    if set(value) != {"b64"} or not isinstance(value["b64"], str):
        raise errors.invalid_argument(
            f"{where}: a JSON object as a value must be {{\"b64\": \"<base64 string>\"}}; "
            f"received keys {sorted(value)}.")
    try:
        return base64.b64decode(value["b64"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.invalid_argument(f"{where}: invalid base64 data: {exc}.") from exc


def _strings(leaves: list, shape: list[int], dtype: tf.DType, where: str) -> tf.Tensor:
    types = set(map(type, leaves))
    if not types <= {str, dict}:
        raise _type_error(leaves, shape, (str, dict), dtype, where,
                          "text or {\"b64\": ...}")
    if dict in types:
        leaves = [v if type(v) is str else _b64_decode(v, where) for v in leaves]
    try:  # TF encodes the str objects itself: no bytes object or array per element.
        return tf.constant(leaves, dtype=tf.string)
    except ValueError:  # A lone surrogate (JSON "\ud800") has no UTF-8 form.
        index, bad = next((i, v) for i, v in enumerate(leaves)
                          if type(v) is str and not _is_utf8_encodable(v))
        raise errors.invalid_argument(
            f"{where}: the string {_json_text(bad)} at {_position(index, shape) or 'its value'} "
            "is not valid Unicode (a lone surrogate); send binary data as "
            "{\"b64\": ...}.") from None


def _is_utf8_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _floats(leaves: list, shape: list[int], dtype: tf.DType, where: str) -> np.ndarray:
    types = set(map(type, leaves))
    if not types <= {int, float}:
        raise _type_error(leaves, shape, (int, float), dtype, where, "a number")
    try:
        wide = np.array(leaves, dtype=np.float64)
    except OverflowError:  # An integer beyond float64's range.
        wide = None
    digits = _MANTISSA_DIGITS.get(dtype, 53)
    largest = 2**digits - 1
    finite = wide[np.isfinite(wide)] if wide is not None else None
    if (wide is None or (int in types and finite.size and np.abs(finite).max() > largest)
            or (finite.size and np.abs(finite).max() > float(dtype.max))):
        for value in leaves:  # Rare: find the value to name it.
            if (type(value) is int and abs(value) > largest) or (
                    type(value) is float and math.isfinite(value) and abs(value) > float(dtype.max)):
                raise errors.invalid_argument(
                    f"{where}: cannot convert the JSON value {_json_text(value)} to "
                    f"{dtype_name(dtype)} without loss of precision.")
    return wide.astype(dtype.as_numpy_dtype)


def _integers(leaves: list, shape: list[int], dtype: tf.DType, where: str) -> np.ndarray:
    if not set(map(type, leaves)) <= {int}:
        raise _type_error(leaves, shape, (int,), dtype, where,
                          "a whole number (no fraction or exponent)")
    try:
        return np.array(leaves, dtype=dtype.as_numpy_dtype)
    except OverflowError:
        info = np.iinfo(dtype.as_numpy_dtype)
        bad = next(v for v in leaves if not info.min <= v <= info.max)
        raise errors.invalid_argument(
            f"{where}: the JSON value {_json_text(bad)} is out of the range of "
            f"{dtype_name(dtype)} [{info.min}, {info.max}].") from None


def _booleans(leaves: list, shape: list[int], dtype: tf.DType, where: str) -> np.ndarray:
    if not set(map(type, leaves)) <= {bool}:
        raise _type_error(leaves, shape, (bool,), dtype, where, "true or false")
    return np.array(leaves, dtype=bool)


def json_to_tensor(value, dtype, where: str = "input", budget=None) -> tf.Tensor:
    """A JSON value (number, string, b64 object or nested lists) as a tensor of `dtype`.

    Types are checked as TF Serving checks them: a float input takes numbers (an integer
    only if the float holds it exactly), an integer input whole numbers in its range, a
    bool input true/false, a string input text or `{"b64": ...}`; `null` is never a
    value. Nested lists must be rectangular.

    Args:
        value: The decoded JSON value.
        dtype: The input's dtype.
        where: Names the input in error messages.
        budget: A `RequestLimits` element budget; the shape is counted against it before
            anything is converted.

    Raises:
        ServingError: INVALID_ARGUMENT naming `where` and the offending value;
            RESOURCE_EXHAUSTED if the budget is exceeded.

    Example:
        >>> json_to_tensor([[1, 2.5]], tf.float32, "input 'x'").numpy()
        array([[1. , 2.5]], dtype=float32)
    """
    dtype = tf.as_dtype(dtype)
    shape = json_shape(value, where)
    if budget is not None:
        budget.take(math.prod(shape), where, shape)
    leaves = _flatten(value, shape, where)
    if dtype == tf.string:
        array = _strings(leaves, shape, dtype, where)
    elif dtype == tf.bool:
        array = _booleans(leaves, shape, dtype, where)
    elif dtype.is_floating:
        array = _floats(leaves, shape, dtype, where)
    elif dtype.is_integer and not dtype.is_quantized:
        array = _integers(leaves, shape, dtype, where)
    else:
        raise errors.invalid_argument(
            f"{where}: the REST API cannot carry {dtype.name} as JSON; use gRPC.")
    return tf.reshape(array, shape)


def ndarray_to_json(array: np.ndarray, name: str = ""):
    """A numpy array as JSON-ready Python values (bytes as text or `{"b64": ...}`)."""
    array = np.asarray(array)
    if array.dtype == object or array.dtype.kind in "SU":
        encode_b64 = name.endswith("_bytes")

        def convert(item):
            if isinstance(item, np.ndarray):
                return [convert(x) for x in item]
            if isinstance(item, str):
                return item
            if not encode_b64:
                try:
                    return bytes(item).decode("utf-8")
                except UnicodeDecodeError:
                    pass
            return {"b64": base64.b64encode(bytes(item)).decode("ascii")}

        return convert(array) if array.ndim else convert(array[()])
    if array.dtype.kind == "c":
        raise errors.invalid_argument(f"Output {name!r} is complex, which JSON cannot carry.")
    return array.tolist()


def is_b64_object(value) -> bool:
    """Whether a JSON value is a `{"b64": ...}` string value rather than named inputs."""
    return isinstance(value, dict) and set(value) == {"b64"}


def named(values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A plain dict copy, for outputs handed to callers."""
    return {str(k): v for k, v in values.items()}
