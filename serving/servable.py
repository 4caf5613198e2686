"""Servable: one loaded version of a model, its signatures, and checked calls into them.

A servable is a SavedModel directory loaded with `tf.saved_model.load`. Each signature is
called with a dict of numpy arrays, after checking the inputs against the signature, so a
bad request gets INVALID_ARGUMENT with the reason instead of a TensorFlow stack trace.
Servables are immutable once loaded and safe to call from many threads at once.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2
from tensorflow_serving.apis import get_model_metadata_pb2

from serving import errors
from serving.tensor_codec import dtype_name

logger = logging.getLogger("serving")

SERVING_TAG = "serve"
DEFAULT_SIGNATURE = "serving_default"
PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def is_saved_model_dir(path: str) -> bool:
    """Whether `path` holds a complete SavedModel (its saved_model.pb is written last)."""
    return any(tf.io.gfile.exists(os.path.join(path, name)) for name in SAVED_MODEL_FILES)


def read_signature_defs(path: str) -> dict[str, meta_graph_pb2.SignatureDef]:
    """The SignatureDefs of the `serve` meta graph of the SavedModel at `path`."""
    proto = saved_model_pb2.SavedModel()
    binary = os.path.join(path, "saved_model.pb")
    if tf.io.gfile.exists(binary):
        with tf.io.gfile.GFile(binary, "rb") as f:
            proto.ParseFromString(f.read())
    else:
        from google.protobuf import text_format

        with tf.io.gfile.GFile(os.path.join(path, "saved_model.pbtxt"), "r") as f:
            text_format.Parse(f.read(), proto)
    for meta_graph in proto.meta_graphs:
        if SERVING_TAG in meta_graph.meta_info_def.tags or len(proto.meta_graphs) == 1:
            return dict(meta_graph.signature_def)
    raise ValueError(f"The SavedModel at {path!r} has no meta graph tagged {SERVING_TAG!r}.")


@dataclasses.dataclass(frozen=True)
class Signature:
    """One callable signature of a servable.

    Attributes:
        key: The signature name, e.g. "serving_default".
        method_name: tensorflow/serving/{predict,classify,regress}.
        inputs: Input name to `tf.TensorSpec`.
        outputs: Output name to `tf.TensorSpec`.
        batchable: Whether every input has a free leading (batch) dimension.
    """

    key: str
    method_name: str
    inputs: Mapping[str, tf.TensorSpec]
    outputs: Mapping[str, tf.TensorSpec]
    function: object = dataclasses.field(repr=False, compare=False)

    @property
    def batchable(self) -> bool:
        return all(s.shape.rank and s.shape[0] is None for s in self.inputs.values())

    def check_claims(self, claims: Mapping[str, tuple[str, Sequence[int]]]) -> None:
        """Checks input names, dtypes and shapes before any tensor is built.

        Args:
            claims: Input name to (dtype name as `serving.tensor_codec.dtype_name` spells
                it, shape).

        Raises:
            ServingError: INVALID_ARGUMENT with what was sent and what was expected.

        Example:
            >>> signature.check_claims({"x": ("float", [12_500_000, 3])})
        """
        sent, expected = set(claims), set(self.inputs)
        if sent != expected:
            raise errors.invalid_argument(
                f"input size does not match signature {self.key!r}: {len(sent)}!={len(expected)}"
                f" len({sorted(sent)}) != len({sorted(expected)}). "
                f"Sent extra: {sorted(sent - expected)}. "
                f"Missing but required: {sorted(expected - sent)}.")
        for name, spec in self.inputs.items():
            dtype, shape = claims[name]
            if dtype != dtype_name(spec.dtype):
                raise errors.invalid_argument(
                    f"Expects input {name!r} of signature {self.key!r} to be "
                    f"{dtype_name(spec.dtype)} but {dtype} is provided.")
            if not spec.shape.is_compatible_with(shape):
                raise errors.invalid_argument(
                    f"Input {name!r} of signature {self.key!r} has shape {list(shape)} "
                    f"but the signature expects {_shape_text(spec.shape)} (-1: any size).")

    def check_inputs(self, inputs: Mapping[str, np.ndarray | tf.Tensor]
                     ) -> dict[str, tf.Tensor]:
        """Checks names, dtypes and shapes against the signature; returns the tensors.

        Raises:
            ServingError: INVALID_ARGUMENT with what was sent and what was expected.
        """
        arrays = {name: value if isinstance(value, np.ndarray | tf.Tensor) else np.asarray(value)
                  for name, value in inputs.items()}
        self.check_claims({name: (_array_dtype(array), tuple(array.shape))
                           for name, array in arrays.items()})
        tensors = {}
        for name, spec in self.inputs.items():
            try:
                tensors[name] = tf.convert_to_tensor(arrays[name], dtype=spec.dtype)
            except (TypeError, ValueError) as exc:
                raise errors.invalid_argument(
                    f"Input {name!r} of signature {self.key!r}: {exc}") from exc
        return tensors

    def check_output_filter(self, output_filter: Sequence[str]) -> list[str]:
        """The output names to return: `output_filter`, or every output when it is empty."""
        for name in output_filter:
            if name not in self.outputs:
                raise errors.invalid_argument(
                    f"output tensor alias not found in signature {self.key!r}: {name!r}. "
                    f"Outputs expected to be in the set {sorted(self.outputs)}.")
        return list(dict.fromkeys(output_filter)) or list(self.outputs)

    def __call__(self, tensors: Mapping[str, tf.Tensor]) -> dict[str, np.ndarray]:
        """Runs the signature on checked tensors; returns every output as numpy."""
        try:
            outputs = self.function(**tensors)
        except Exception as exc:  # TF op errors keep their code; see errors.from_exception.
            raise errors.from_exception(exc) from exc
        return {name: value.numpy() for name, value in outputs.items()}


def _array_dtype(array: np.ndarray | tf.Tensor) -> str:
    if isinstance(array, tf.Tensor):
        return dtype_name(array.dtype)
    if array.dtype == object or array.dtype.kind in "SU":
        return "string"
    try:
        return dtype_name(tf.as_dtype(array.dtype))
    except TypeError:
        return str(array.dtype)


def _shape_text(shape: tf.TensorShape) -> str:
    if shape.rank is None:
        return "any shape"
    return str([-1 if d is None else d for d in shape.as_list()])


class Servable:
    """One loaded model version.

    Load with `Servable.load`; call signatures with `run`.

    Args:
        name: The model name.
        version: The version number (the directory name).
        path: The SavedModel directory.
        loaded: The object `tf.saved_model.load` returned (kept alive while served).
        signatures: Signature key to `Signature`.
        signature_defs: Signature key to SignatureDef, for GetModelMetadata.

    Example:
        >>> servable = Servable.load("taxi", 3, "/serving/taxi/3")
        >>> servable.run("predict", {"examples": np.array([example_bytes], object)})
    """

    def __init__(self, *, name: str, version: int, path: str, loaded,
                 signatures: Mapping[str, Signature],
                 signature_defs: Mapping[str, meta_graph_pb2.SignatureDef]):
        self.name = name
        self.version = version
        self.path = path
        self._loaded = loaded
        self.signatures = dict(signatures)
        self.signature_defs = dict(signature_defs)
        self._batchers: dict[str, object] = {}

    @classmethod
    def load(cls, name: str, version: int, path: str) -> Servable:
        """Loads the SavedModel at `path` (its `serve` tag) as version `version` of `name`."""
        defs = read_signature_defs(path)
        loaded = tf.saved_model.load(path, tags=[SERVING_TAG])
        signatures = {}
        for key, function in loaded.signatures.items():
            input_specs = function.structured_input_signature[1]
            output_specs = function.structured_outputs
            method = defs[key].method_name if key in defs else PREDICT_METHOD
            signatures[key] = Signature(
                key=key, method_name=method or PREDICT_METHOD,
                inputs={k: tf.TensorSpec(s.shape, s.dtype) for k, s in input_specs.items()},
                outputs={k: tf.TensorSpec(s.shape, s.dtype) for k, s in output_specs.items()},
                function=function)
        return cls(name=name, version=version, path=path, loaded=loaded,
                   signatures=signatures, signature_defs=defs)

    def signature(self, key: str | None) -> Signature:
        """The signature `key` ("" or None: serving_default).

        Raises:
            ServingError: FAILED_PRECONDITION if there is no such signature (TF Serving's code).
        """
        key = key or DEFAULT_SIGNATURE
        signature = self.signatures.get(key)
        if signature is None:
            raise errors.failed_precondition(
                f"Serving signature key {key!r} not found in model {self.name!r} version "
                f"{self.version}; it has {sorted(self.signatures)}.")
        return signature

    def run(self, signature_key: str | None, inputs: Mapping[str, np.ndarray | tf.Tensor],
            output_filter: Sequence[str] = ()) -> dict[str, np.ndarray]:
        """Runs a signature on numpy arrays or tensors; returns the (filtered) outputs.

        Raises:
            ServingError: FAILED_PRECONDITION for an unknown signature, INVALID_ARGUMENT
                for inputs that do not match it or that the model rejects.
        """
        signature = self.signature(signature_key)
        names = signature.check_output_filter(output_filter)
        tensors = signature.check_inputs(inputs)
        batcher = self._batchers.get(signature.key)
        outputs = batcher.submit(tensors) if batcher is not None else signature(tensors)
        return {name: outputs[name] for name in names}

    def metadata(self) -> get_model_metadata_pb2.SignatureDefMap:
        """The SignatureDefMap GetModelMetadata returns."""
        proto = get_model_metadata_pb2.SignatureDefMap()
        for key, signature_def in self.signature_defs.items():
            proto.signature_def[key].CopyFrom(signature_def)
        return proto

    def enable_batching(self, options) -> None:
        """Batches concurrent calls of every batchable signature (see serving.batching)."""
        from serving.batching import Batcher

        for key, signature in self.signatures.items():
            if signature.batchable:
                self._batchers[key] = Batcher(signature, options,
                                              name=f"{self.name}/{self.version}/{key}")
            else:
                logger.info("Signature %r of %s version %d has inputs without a batch "
                            "dimension; it is not batched.", key, self.name, self.version)

    def close(self) -> None:
        """Stops the batchers once their queued work is done; in-flight calls finish."""
        batchers, self._batchers = self._batchers, {}
        for batcher in batchers.values():
            batcher.close()

    def __repr__(self) -> str:
        return f"Servable({self.name!r}, version={self.version}, signatures={sorted(self.signatures)})"
