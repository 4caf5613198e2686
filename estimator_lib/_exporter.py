"""Builds serving functions from model_fn in PREDICT mode; writes SavedModels.

Each `export_outputs` entry of the PREDICT-mode spec becomes one signature. Classify and
Regress signatures take serialized tf.Example strings under `inputs` (TF Serving's
contract), so they are made only when the receiver takes a single string tensor.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping

import numpy as np
import tensorflow as tf

from estimator_lib import checkpoint as ckpt
from estimator_lib import export as export_lib
from estimator_lib._variables import NotLiftable
from estimator_lib.spec import ModeKeys
from estimator_lib.training import TracedModel

logger = logging.getLogger("estimator_lib")


def _receiver(serving_input_receiver_fn: Callable) -> export_lib.ServingInputReceiver:
    if not callable(serving_input_receiver_fn):
        raise TypeError(
            f"`serving_input_receiver_fn` must be callable; received {serving_input_receiver_fn!r}."
        )
    receiver = serving_input_receiver_fn()
    if not isinstance(receiver, export_lib.ServingInputReceiver):
        raise TypeError(
            "serving_input_receiver_fn must return an el.export.ServingInputReceiver; it "
            f"returned {type(receiver).__name__}."
        )
    return receiver


class _ServingModel:
    """A PREDICT-mode model restored from a checkpoint, callable on receiver tensors."""

    def __init__(self, estimator, receiver: export_lib.ServingInputReceiver, checkpoint_path):
        self.receiver = receiver
        self.keys = list(receiver.receiver_tensors)
        self.specs = [tf.TensorSpec(s.shape, s.dtype, name=k)
                      for k, s in receiver.receiver_tensors.items()]
        self.all_outputs = self._build(estimator.model_fn)
        variables = self.model.saveable_variables()
        self.checkpoint = ckpt.make_checkpoint(self.model.global_step, variables)
        ckpt.restore(self.checkpoint, checkpoint_path, variables)
        self.export_outputs = export_lib.normalize_export_outputs(
            self.model.spec.export_outputs, self.model.spec.predictions)

    def _build(self, model_fn):
        """Builds `self.model`; returns `all_outputs`, the model traced for every signature.

        Without a strategy the variables are created while `all_outputs` is traced, so
        model_fn (with the receiver's transform graph and lookups) is traced once, as
        training and evaluation build their loops (`TracedModel.build_in_trace`).
        """
        self.model = TracedModel(model_fn, ModeKeys.PREDICT, has_labels=False)
        if not tf.distribute.has_strategy():
            all_outputs = self._all_outputs_function()
            try:
                self.model.build_in_trace(all_outputs.get_concrete_function)
                return all_outputs
            except NotLiftable:  # an initial value computed in the trace: build apart
                self.model = TracedModel(model_fn, ModeKeys.PREDICT, has_labels=False)
        self.model.build_from_specs(lambda *t: self._spec_for(*t).loss, *self.specs)
        return self._all_outputs_function()

    def _spec_for(self, *tensors):
        features = self.receiver.build_features(dict(zip(self.keys, tensors, strict=True)))
        return self.model.call(features, None)

    def signature_function(self, key: str, all_outputs=None):
        """A tf.function for signature `key`, with its input signature.

        `all_outputs` (`self.all_outputs`) is the model traced once for every
        signature: given, the signature calls it instead of tracing model_fn again.
        """
        output = self.export_outputs[key]
        if output.needs_serialized_examples:
            if not self.receiver.single_string_input:
                return None
            specs = [tf.TensorSpec([None], tf.string, name=export_lib.CLASSIFY_INPUTS)]
        else:
            specs = self.specs

        @tf.function(input_signature=specs)
        def serve(*tensors):
            if all_outputs is not None:
                return all_outputs(*tensors)[key]
            spec = self._spec_for(*tensors)
            outputs = export_lib.normalize_export_outputs(spec.export_outputs, spec.predictions)
            return outputs[key].outputs()

        return serve

    def _all_outputs_function(self):
        """One tf.function, on the receiver's tensors, giving every signature's outputs by
        key: model_fn is traced once for all signatures (a classifier's four would each
        trace it, the transform graph and every vocabulary lookup again)."""

        @tf.function(input_signature=self.specs)
        def all_outputs(*tensors):
            spec = self._spec_for(*tensors)
            outputs = export_lib.normalize_export_outputs(spec.export_outputs, spec.predictions)
            return {key: output.outputs() for key, output in outputs.items()}

        return all_outputs


def export(estimator, export_dir_base: str, serving_input_receiver_fn: Callable, *,
           checkpoint_path: str, assets_extra: Mapping[str, str] | None, as_text: bool) -> str:
    """Writes `<export_dir_base>/<timestamp>/` atomically; returns its path."""
    serving = _ServingModel(estimator, _receiver(serving_input_receiver_fn), checkpoint_path)
    signatures, methods = {}, {}
    all_outputs = serving.all_outputs
    for key, output in serving.export_outputs.items():
        function = serving.signature_function(key, all_outputs)
        if function is None:
            logger.warning(
                "Signature %r (%s) needs a receiver with one serialized tf.Example input; "
                "skipped. Use build_parsing_serving_input_receiver_fn to get it.",
                key, output.method_name)
            continue
        signatures[key] = function.get_concrete_function()
        methods[key] = output.method_name
    if export_lib.DEFAULT_SERVING_SIGNATURE_DEF_KEY not in signatures:
        raise ValueError(
            "The serving_default signature could not be built: its outputs are a "
            "Classification/RegressionOutput, which needs a receiver with a single string "
            "tensor (serialized tf.Example)."
        )
    module = tf.Module()
    module.model_variables = list(serving.model.store.variables)
    module.global_step = serving.model.global_step
    module.resources = list(serving.model.store.resources)
    module.receiver_trackables = list(serving.receiver.trackables)

    tf.io.gfile.makedirs(export_dir_base)
    version = int(time.time())
    while tf.io.gfile.exists(os.path.join(export_dir_base, str(version))):
        version += 1
    final_dir = os.path.join(export_dir_base, str(version))
    temp_dir = os.path.join(export_dir_base, f".temp-{version}-{os.getpid()}")
    try:
        tf.saved_model.save(module, temp_dir, signatures=signatures)
        export_lib.set_method_names(temp_dir, methods)
        if as_text:
            _to_text(temp_dir)
        for destination, source in (assets_extra or {}).items():
            target = os.path.join(temp_dir, "assets.extra", destination)
            tf.io.gfile.makedirs(os.path.dirname(target))
            tf.io.gfile.copy(source, target, overwrite=True)
        tf.io.gfile.rename(temp_dir, final_dir)
    except BaseException:
        if tf.io.gfile.exists(temp_dir):
            tf.io.gfile.rmtree(temp_dir)
        raise
    logger.info("Exported SavedModel with signatures %s to %s", sorted(signatures), final_dir)
    return final_dir


def _to_text(export_dir: str) -> None:
    from google.protobuf import text_format
    from tensorflow.core.protobuf import saved_model_pb2

    binary = os.path.join(export_dir, "saved_model.pb")
    proto = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(binary, "rb") as f:
        proto.ParseFromString(f.read())
    with tf.io.gfile.GFile(os.path.join(export_dir, "saved_model.pbtxt"), "w") as f:
        f.write(text_format.MessageToString(proto))
    tf.io.gfile.remove(binary)


class Predictor:
    """Keeps one PREDICT-mode model loaded; call it with receiver tensors.

    Created by `Estimator.predictor`. `reload()` reads the newest checkpoint again.

    Example:
        >>> predict = estimator.predictor(receiver_fn)
        >>> predict({"x": np.ones([2, 1], np.float32)})
    """

    def __init__(self, estimator, serving_input_receiver_fn, checkpoint_path):
        self._estimator = estimator
        self._serving = _ServingModel(estimator, _receiver(serving_input_receiver_fn),
                                      checkpoint_path)
        self._function = self._serving.signature_function(
            export_lib.DEFAULT_SERVING_SIGNATURE_DEF_KEY, self._serving.all_outputs)
        self.checkpoint_path = checkpoint_path

    def __call__(self, inputs: Mapping[str, object]) -> dict[str, np.ndarray]:
        """Runs serving_default on a dict of receiver tensors (arrays or lists)."""
        keys = self._serving.keys
        missing = [k for k in keys if k not in inputs]
        if missing:
            raise ValueError(f"Predictor inputs lack {missing}; it takes {keys}.")
        tensors = [tf.convert_to_tensor(inputs[k], dtype=s.dtype)
                   for k, s in zip(keys, self._serving.specs, strict=True)]
        return {k: v.numpy() for k, v in self._function(*tensors).items()}

    def reload(self) -> str:
        """Restores the latest checkpoint into the loaded model; returns its path."""
        path = self._estimator.latest_checkpoint()
        if path and path != self.checkpoint_path:
            variables = self._serving.model.saveable_variables()
            ckpt.restore(self._serving.checkpoint, path, variables)
            self.checkpoint_path = path
        return self.checkpoint_path
