"""Serving input receivers, export outputs, and SavedModel signatures TF Serving accepts.

In TF2 a receiver is declared, not built from placeholders: `ServingInputReceiver`
names the serving inputs as `tf.TensorSpec`s and says how to turn them into the
`features` model_fn expects. The Estimator traces one serving function per signature.

Signatures: every `export_outputs` entry becomes a SignatureDef. `PredictOutput` takes
the receiver's inputs as they are. `ClassificationOutput` and `RegressionOutput` follow
TF Serving's Classify and Regress APIs: one serialized tf.Example string input under the
key `inputs`, outputs `classes`/`scores` or `outputs`, and the method names
`tensorflow/serving/classify` and `tensorflow/serving/regress` in the SignatureDef
(which tf.saved_model.save cannot set, so the export rewrites them in saved_model.pb).
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"
DEFAULT_SERVING_SIGNATURE_DEF_KEY = "serving_default"
CLASSIFY_INPUTS = "inputs"


@dataclasses.dataclass(frozen=True)
class ServingInputReceiver:
    """The serving inputs of an exported model and how they become features.

    Args:
        features: A callable taking the dict of receiver tensors and returning the
            features dict (or tensor) for model_fn; None passes the receiver tensors
            through unchanged.
        receiver_tensors: Dict of input name to `tf.TensorSpec` (a single TensorSpec is
            named "input").
        trackables: Objects `features` uses that own TensorFlow resources made outside
            model_fn (a tf.Transform layer, lookup tables): the export tracks them so their
            tables and vocabulary assets are saved with the model. Defaults to ().

    Example:
        >>> spec = {"x": tf.io.FixedLenFeature([1], tf.float32)}
        >>> receiver = ServingInputReceiver(
        ...     features=lambda t: tf.io.parse_example(t["examples"], spec),
        ...     receiver_tensors={"examples": tf.TensorSpec([None], tf.string)})
    """

    features: Callable[[dict], Any] | None
    receiver_tensors: Mapping[str, tf.TensorSpec]
    trackables: tuple = ()

    def __post_init__(self):
        tensors = self.receiver_tensors
        if isinstance(tensors, tf.TensorSpec):
            tensors = {"input": tensors}
        if not isinstance(tensors, Mapping) or not tensors:
            raise TypeError(
                "`receiver_tensors` must be a non-empty dict of name to tf.TensorSpec; "
                f"received {self.receiver_tensors!r}."
            )
        for name, spec in tensors.items():
            if not isinstance(spec, tf.TensorSpec):
                raise TypeError(
                    f"`receiver_tensors[{name!r}]` must be a tf.TensorSpec; received {spec!r}."
                )
        if self.features is not None and not callable(self.features):
            raise TypeError("`features` must be a callable(receiver_tensors) -> features, or None.")
        object.__setattr__(self, "receiver_tensors", dict(tensors))
        object.__setattr__(self, "trackables", tuple(self.trackables))

    def build_features(self, receiver_tensors: Mapping[str, tf.Tensor]):
        """The features for model_fn, computed from the receiver tensors."""
        if self.features is None:
            return dict(receiver_tensors)
        return self.features(dict(receiver_tensors))

    @property
    def single_string_input(self) -> bool:
        """Whether the receiver takes exactly one string tensor (Classify/Regress need it)."""
        specs = list(self.receiver_tensors.values())
        return len(specs) == 1 and specs[0].dtype == tf.string


def build_parsing_serving_input_receiver_fn(feature_spec: Mapping[str, Any],
                                            default_batch_size: int | None = None,
                                            receiver_key: str = "examples"):
    """A receiver fn that parses serialized tf.Example strings with `feature_spec`.

    Example:
        >>> fn = build_parsing_serving_input_receiver_fn(
        ...     {"x": tf.io.FixedLenFeature([1], tf.float32)})
        >>> estimator.export_saved_model("/tmp/export", fn)
    """
    if not isinstance(feature_spec, Mapping) or not feature_spec:
        raise TypeError(f"`feature_spec` must be a non-empty dict; received {feature_spec!r}.")
    spec = dict(feature_spec)

    def serving_input_receiver_fn():
        return ServingInputReceiver(
            features=lambda tensors: tf.io.parse_example(tensors[receiver_key], spec),
            receiver_tensors={receiver_key: tf.TensorSpec([default_batch_size], tf.string,
                                                          name=receiver_key)},
        )

    return serving_input_receiver_fn


def build_raw_serving_input_receiver_fn(features: Mapping[str, Any],
                                        default_batch_size: int | None = None):
    """A receiver fn that feeds raw tensors named like the features.

    Args:
        features: Dict of name to a `tf.TensorSpec`, a tensor or an array (its dtype and
            shape after the batch dimension are used).

    Example:
        >>> fn = build_raw_serving_input_receiver_fn({"x": tf.TensorSpec([None, 4])})
    """
    if not isinstance(features, Mapping) or not features:
        raise TypeError(f"`features` must be a non-empty dict; received {features!r}.")
    specs = {}
    for name, value in features.items():
        if isinstance(value, tf.TensorSpec):
            spec = value
        else:
            tensor = tf.convert_to_tensor(value)
            spec = tf.TensorSpec([default_batch_size] + tensor.shape.as_list()[1:], tensor.dtype)
        specs[name] = tf.TensorSpec(spec.shape, spec.dtype, name=name)

    def serving_input_receiver_fn():
        return ServingInputReceiver(features=None, receiver_tensors=specs)

    return serving_input_receiver_fn


class ExportOutput(abc.ABC):
    """One serving signature's outputs."""

    method_name = PREDICT_METHOD

    @abc.abstractmethod
    def outputs(self) -> dict[str, tf.Tensor]:
        """Output name to tensor."""

    @property
    def needs_serialized_examples(self) -> bool:
        return self.method_name != PREDICT_METHOD


class PredictOutput(ExportOutput):
    """A Predict signature: any dict (or single tensor) of outputs.

    Example:
        >>> PredictOutput({"probabilities": probabilities})
    """

    def __init__(self, outputs):
        if isinstance(outputs, tf.Tensor | tf.Variable):
            outputs = {"output": outputs}
        if not isinstance(outputs, Mapping) or not outputs:
            raise TypeError(f"PredictOutput needs a tensor or dict of tensors; got {outputs!r}.")
        self._outputs = {str(k): tf.convert_to_tensor(v) for k, v in outputs.items()}

    def outputs(self):
        return dict(self._outputs)


class ClassificationOutput(ExportOutput):
    """A Classify signature: `scores` [batch, n] float and/or `classes` [batch, n] string.

    Example:
        >>> ClassificationOutput(scores=probabilities, classes=class_names)
    """

    method_name = CLASSIFY_METHOD

    def __init__(self, scores=None, classes=None):
        if scores is None and classes is None:
            raise ValueError("ClassificationOutput needs `scores`, `classes` or both.")
        if scores is not None and not tf.convert_to_tensor(scores).dtype.is_floating:
            raise ValueError("ClassificationOutput `scores` must be a float tensor.")
        if classes is not None and tf.convert_to_tensor(classes).dtype != tf.string:
            raise ValueError("ClassificationOutput `classes` must be a string tensor.")
        self.scores, self.classes = scores, classes

    def outputs(self):
        result = {}
        if self.classes is not None:
            result["classes"] = tf.convert_to_tensor(self.classes)
        if self.scores is not None:
            result["scores"] = tf.convert_to_tensor(self.scores)
        return result


class RegressionOutput(ExportOutput):
    """A Regress signature: one float output per example, named `outputs`.

    Example:
        >>> RegressionOutput(value=predicted_fare)
    """

    method_name = REGRESS_METHOD

    def __init__(self, value):
        tensor = tf.convert_to_tensor(value)
        if not tensor.dtype.is_floating:
            raise ValueError(f"RegressionOutput `value` must be a float tensor; got {tensor.dtype}.")
        self.value = value

    def outputs(self):
        tensor = tf.convert_to_tensor(self.value)
        if tensor.shape.rank == 2 and tensor.shape[-1] == 1:
            tensor = tf.squeeze(tensor, axis=-1)
        return {"outputs": tensor}


def default_export_outputs(predictions) -> dict[str, ExportOutput]:
    """`serving_default` as a PredictOutput of all predictions."""
    return {DEFAULT_SERVING_SIGNATURE_DEF_KEY: PredictOutput(predictions)}


def normalize_export_outputs(export_outputs, predictions) -> dict[str, ExportOutput]:
    """Checks export_outputs and makes sure one of them is `serving_default`."""
    if not export_outputs:
        return default_export_outputs(predictions)
    outputs = dict(export_outputs)
    for key, value in outputs.items():
        if not isinstance(value, ExportOutput):
            raise TypeError(
                f"`export_outputs[{key!r}]` must be an el.export.ExportOutput "
                f"(PredictOutput, ClassificationOutput, RegressionOutput); got {value!r}."
            )
    if DEFAULT_SERVING_SIGNATURE_DEF_KEY not in outputs:
        if len(outputs) != 1:
            raise ValueError(
                f"With several export_outputs ({sorted(outputs)}), one must be named "
                f"{DEFAULT_SERVING_SIGNATURE_DEF_KEY!r}."
            )
        outputs[DEFAULT_SERVING_SIGNATURE_DEF_KEY] = next(iter(outputs.values()))
    return outputs


def set_method_names(export_dir: str, method_names: Mapping[str, str]) -> None:
    """Rewrites the method_name of signatures in `export_dir/saved_model.pb`."""
    path = tf.io.gfile.join(export_dir, "saved_model.pb")
    proto = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(path, "rb") as f:
        proto.ParseFromString(f.read())
    for meta_graph in proto.meta_graphs:
        for key, method in method_names.items():
            if key in meta_graph.signature_def:
                meta_graph.signature_def[key].method_name = method
    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(proto.SerializeToString())
