"""tf.Example helpers: build Examples from plain values; TF Serving's Input and JSON forms.

The Classify, Regress and MultiInference APIs take tf.Examples, either as a list or as a
list plus a context Example whose features every example shares. TF Serving concatenates
the serialized context and example, so an example's feature overrides a context feature of
the same name; this module does the same.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from tensorflow.core.example import example_pb2, feature_pb2
from tensorflow_serving.apis import input_pb2

from serving import errors

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _feature(name: str, value) -> feature_pb2.Feature:
    values = value.tolist() if isinstance(value, np.ndarray) else value
    if isinstance(values, np.generic):
        values = values.item()
    if not isinstance(values, list | tuple):
        values = [values]
    values = [v.item() if isinstance(v, np.generic) else v for v in values]
    if not values:
        return feature_pb2.Feature(float_list=feature_pb2.FloatList())
    if all(isinstance(v, bytes | str) for v in values):
        return feature_pb2.Feature(bytes_list=feature_pb2.BytesList(
            value=[v.encode("utf-8") if isinstance(v, str) else v for v in values]))
    if all(isinstance(v, bool | int) for v in values):
        return feature_pb2.Feature(int64_list=feature_pb2.Int64List(value=[int(v) for v in values]))
    if all(isinstance(v, bool | int | float) for v in values):
        return feature_pb2.Feature(float_list=feature_pb2.FloatList(value=[float(v) for v in values]))
    raise TypeError(
        f"Feature {name!r} must be numbers or strings (a scalar or a flat list); received "
        f"{value!r}.")


def make_example(features: Mapping[str, object]) -> example_pb2.Example:
    """A tf.Example from a dict of feature name to value(s).

    Ints (and bools) become an int64_list, floats a float_list, str/bytes a bytes_list; a
    value may be a scalar, a flat list or a 1-D numpy array. Write `1.0`, not `1`, for a
    float feature (as in TF Serving's JSON API).

    Example:
        >>> make_example({"fare": 12.5, "trip_start_hour": 7, "company": "Flash Cab"})
    """
    if not isinstance(features, Mapping):
        raise TypeError(f"`features` must be a dict of name to values; received {features!r}.")
    example = example_pb2.Example()
    for name, value in features.items():
        if isinstance(value, feature_pb2.Feature):
            example.features.feature[name].CopyFrom(value)
        else:
            example.features.feature[name].CopyFrom(_feature(name, value))
    return example


def as_example(value) -> example_pb2.Example:
    """An Example from an Example, its serialized bytes, or a dict of features."""
    if isinstance(value, example_pb2.Example):
        return value
    if isinstance(value, bytes):
        example = example_pb2.Example()
        example.ParseFromString(value)
        return example
    return make_example(value)


def make_input(examples: Iterable, context=None) -> input_pb2.Input:
    """TF Serving's `Input` message: an ExampleList, or ExampleListWithContext.

    Example:
        >>> make_input([{"x": [1.0, 2.0, 3.0]}], context={"country": "US"})
    """
    proto = input_pb2.Input()
    if context is None:
        proto.example_list.examples.extend(as_example(e) for e in examples)
    else:
        target = proto.example_list_with_context
        target.examples.extend(as_example(e) for e in examples)
        target.context.CopyFrom(as_example(context))
    return proto


def serialized_examples(proto: input_pb2.Input) -> list[bytes]:
    """The serialized examples of an `Input`, context merged as TF Serving merges it.

    Raises:
        ServingError: INVALID_ARGUMENT if the input holds no examples.
    """
    kind = proto.WhichOneof("kind")
    if kind == "example_list":
        serialized = [e.SerializeToString() for e in proto.example_list.examples]
    elif kind == "example_list_with_context":
        context = proto.example_list_with_context.context.SerializeToString()
        serialized = [context + e.SerializeToString()
                      for e in proto.example_list_with_context.examples]
    else:
        serialized = []
    if not serialized:
        raise errors.invalid_argument(
            "Input is empty: send tf.Examples in input.example_list or "
            "input.example_list_with_context.")
    return serialized


def json_examples(examples: Sequence, context: Mapping | None = None) -> list[bytes]:
    """Serialized examples from REST's `{"examples": [...], "context": {...}}` form.

    JSON numbers with a fraction or exponent become floats, whole numbers int64, text
    bytes, and `{"b64": ...}` binary bytes; each feature is a value or a list of values.
    """
    if not isinstance(examples, list) or not examples:
        raise errors.invalid_argument(
            "\"examples\" must be a non-empty list of objects (feature name to value).")
    prefix = _json_example(context, "context").SerializeToString() if context else b""
    return [prefix + _json_example(e, f"examples[{i}]").SerializeToString()
            for i, e in enumerate(examples)]


def _json_example(value, where: str) -> example_pb2.Example:
    import base64
    import binascii

    if not isinstance(value, dict):
        raise errors.invalid_argument(f"{where} must be a JSON object; received {value!r}.")
    features = {}
    for name, feature in value.items():
        items = feature if isinstance(feature, list) else [feature]
        decoded = []
        for item in items:
            if isinstance(item, dict):
                if set(item) != {"b64"}:
                    raise errors.invalid_argument(
                        f"{where}[{name!r}]: objects must be {{\"b64\": ...}}.")
                try:
                    item = base64.b64decode(item["b64"], validate=True)
                except (binascii.Error, ValueError, TypeError) as exc:
                    raise errors.invalid_argument(
                        f"{where}[{name!r}]: invalid base64 data.") from exc
            elif type(item) is float and math.isfinite(item) and abs(item) > _FLOAT32_MAX:
                raise errors.invalid_argument(  # As TF Serving: float_list holds float32.
                    f"{where}[{name!r}]: cannot convert the JSON value {item!r} to float "
                    "without loss of precision.")
            decoded.append(item)
        try:
            features[name] = _feature(name, decoded)
        except TypeError as exc:
            raise errors.invalid_argument(f"{where}: {exc}") from exc
        except UnicodeEncodeError as exc:  # A lone surrogate, e.g. JSON "\ud800".
            raise errors.invalid_argument(
                f"{where}[{name!r}]: a string is not valid Unicode ({exc.reason}); send "
                "binary data as {\"b64\": ...}.") from exc
        except ValueError as exc:  # Protobuf: an integer beyond int64.
            raise errors.invalid_argument(
                f"{where}[{name!r}]: {exc}; int64_list holds int64 values.") from exc
    return make_example(features)
