"""Tensors on the wire: TensorProto (gRPC) and JSON (REST) to numpy, and back.

JSON follows TF Serving's REST API: numbers and nested lists; strings as UTF-8 text, or
`{"b64": "..."}` for binary data; string outputs whose name ends in `_bytes` are sent
base64-encoded (and any string output that is not valid UTF-8).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from serving import errors


def to_ndarray(proto) -> np.ndarray:
    """A TensorProto as a numpy array (strings as an object array of bytes)."""
    try:
        return tf.make_ndarray(proto)
    except Exception as exc:  # Malformed protos raise TypeError/ValueError from deep inside TF.
        raise errors.invalid_argument(f"Malformed TensorProto: {exc}") from exc


def to_tensor_proto(value, dtype=None):
    """A numpy array (or nested list) as a TensorProto."""
    return tf.make_tensor_proto(value, dtype=dtype)


def dtype_name(dtype) -> str:
    """TF Serving's short dtype names in messages: float, double, string, int64..."""
    dtype = tf.as_dtype(dtype)
    return {tf.float32: "float", tf.float64: "double"}.get(dtype, dtype.name)


def _decode_json_value(value, *, is_string: bool, where: str):
    if isinstance(value, list):
        return [_decode_json_value(v, is_string=is_string, where=where) for v in value]
    if isinstance(value, dict):
        if set(value) != {"b64"} or not isinstance(value["b64"], str):
            raise errors.invalid_argument(
                f"{where}: a JSON object as a value must be {{\"b64\": \"<base64 string>\"}}; "
                f"received keys {sorted(value)}.")
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise errors.invalid_argument(f"{where}: invalid base64 data: {exc}.") from exc
    if isinstance(value, str):
        if not is_string:
            raise errors.invalid_argument(
                f"{where}: received the string {value!r} for a numeric input.")
        return value.encode("utf-8")
    if is_string and value is not None and not isinstance(value, bytes):
        raise errors.invalid_argument(
            f"{where}: received {value!r} for a string input; send text or {{\"b64\": ...}}.")
    return value


def _shape_of(value, where: str) -> list[int]:
    """The shape of a nested list; ragged lists are an error (TF Serving rejects them too)."""
    if not isinstance(value, list):
        return []
    if not value:
        return [0]
    shapes = [_shape_of(v, where) for v in value]
    if any(s != shapes[0] for s in shapes[1:]):
        raise errors.invalid_argument(
            f"{where}: the nested lists are ragged; every element of a dimension must have "
            f"the same shape (found {shapes[0]} and {next(s for s in shapes if s != shapes[0])}).")
    return [len(value)] + shapes[0]


def json_to_ndarray(value, dtype, where: str = "input") -> np.ndarray:
    """A JSON value (number, string, b64 object or nested list) as an array of `dtype`."""
    dtype = tf.as_dtype(dtype)
    is_string = dtype == tf.string
    decoded = _decode_json_value(value, is_string=is_string, where=where)
    shape = _shape_of(decoded, where)
    if is_string:
        array = np.empty(shape, dtype=object)
        if shape:
            array[...] = np.array(decoded, dtype=object).reshape(shape) if 0 not in shape else array
        else:
            array[()] = decoded
        return array
    try:
        return np.asarray(decoded, dtype=dtype.as_numpy_dtype)
    except (TypeError, ValueError) as exc:
        raise errors.invalid_argument(
            f"{where}: cannot convert the JSON value to {dtype_name(dtype)}: {exc}.") from exc


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
