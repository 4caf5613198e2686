"""`model_to_estimator`: a compiled Keras model as an Estimator (the paper's bridge).

The Estimator's model_fn clones the Keras model on each trace (so its variables belong to
the Estimator's variable store and its checkpoints) and trains it with the model's
compiled loss, optimizer and metrics. The first training run starts from the Keras
model's current weights.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import keras
import tensorflow as tf

from estimator_lib import _variables
from estimator_lib.estimator import Estimator
from estimator_lib.export import PredictOutput
from estimator_lib.hooks import Hook
from estimator_lib.run_config import RunConfig
from estimator_lib.spec import EstimatorSpec, ModeKeys

_ACCURACY_BY_LOSS = {
    "binary_crossentropy": keras.metrics.BinaryAccuracy,
    "sparse_categorical_crossentropy": keras.metrics.SparseCategoricalAccuracy,
    "categorical_crossentropy": keras.metrics.CategoricalAccuracy,
}


class _KerasModelFn:
    """model_fn over a clone of a compiled Keras model."""

    def __init__(self, keras_model: keras.Model):
        config = keras_model.get_compile_config() or {}
        if not config.get("loss"):
            raise ValueError(
                "model_to_estimator needs a compiled model with a loss; call "
                "keras_model.compile(optimizer=..., loss=...) first."
            )
        try:
            # Read eagerly, once: get_config reads variables, which a trace cannot.
            self._model_config = keras_model.get_config()
        except NotImplementedError:
            raise ValueError(
                "model_to_estimator supports Sequential and functional Keras models; "
                f"{type(keras_model).__name__} has no get_config()."
            ) from None
        self._model = keras_model
        self._loss = config["loss"]
        self._optimizer = config["optimizer"]
        self._metrics = list(config.get("metrics") or [])
        self._input_names = [tensor.name for tensor in keras_model.inputs]
        self.weight_names: list[str] | None = None  # Store names of the clone's weights.

    def _inputs(self, features):
        if not isinstance(features, Mapping):
            return features
        missing = [n for n in self._input_names if n not in features]
        if missing:
            raise ValueError(
                f"The Keras model's inputs {missing} are not among the features "
                f"{sorted(features)}; name the input_fn's features after the model's inputs."
            )
        if len(self._input_names) == 1:
            return features[self._input_names[0]]
        return {name: features[name] for name in self._input_names}

    def _make_metrics(self):
        loss_name = self._loss if isinstance(self._loss, str) else None
        metrics = {}
        for entry in self._metrics:
            if entry in ("accuracy", "acc"):
                metric = _ACCURACY_BY_LOSS.get(loss_name, keras.metrics.Accuracy)(name="accuracy")
            else:
                metric = keras.metrics.get(entry)
            metrics[metric.name] = metric
        return metrics

    def __call__(self, features, labels, mode):
        clone = type(self._model).from_config(self._model_config)
        outputs = clone(self._inputs(features), training=mode == ModeKeys.TRAIN)
        store = _variables.active_store()
        if store is not None and self.weight_names is None:
            self.weight_names = [store.name_of(w) for w in clone.weights]
        predictions = outputs if isinstance(outputs, Mapping) else {"predictions": outputs}
        if mode == ModeKeys.PREDICT:
            return EstimatorSpec(mode, predictions=predictions,
                                 export_outputs={"serving_default": PredictOutput(predictions)})
        loss_fn = keras.losses.get(self._loss)
        loss = tf.reduce_mean(loss_fn(labels, outputs)) + tf.add_n([0.0] + list(clone.losses))
        metrics = self._make_metrics()
        for metric in metrics.values():
            metric.update_state(labels, outputs)
        return EstimatorSpec(mode, loss=loss, predictions=predictions, eval_metric_ops=metrics,
                             train_op=keras.optimizers.deserialize(self._optimizer))


class _InitialWeightsHook(Hook):
    """Starts a new model_dir from the Keras model's weights (not from random ones)."""

    def __init__(self, model_fn: _KerasModelFn, model_dir: str):
        self._model_fn = model_fn
        self._model_dir = model_dir
        self._fresh = False

    def begin(self):
        self._fresh = tf.train.latest_checkpoint(self._model_dir) is None

    def after_create(self, run_context):
        if not self._fresh:
            return
        for name, value in zip(self._model_fn.weight_names, self._model_fn._model.get_weights(),
                               strict=True):
            run_context.variables[name].assign(value)


class _KerasEstimator(Estimator):
    """An Estimator whose first training run starts from the Keras model's weights."""

    def __init__(self, model_fn: _KerasModelFn, model_dir, config):
        super().__init__(model_fn, model_dir=model_dir, config=config)
        self._keras_model_fn = model_fn

    def train(self, input_fn, hooks=None, steps=None, max_steps=None, saving_listeners=None):
        """See base class."""
        hooks = [_InitialWeightsHook(self._keras_model_fn, self.model_dir)] + list(hooks or ())
        return super().train(input_fn, hooks=hooks, steps=steps, max_steps=max_steps,
                             saving_listeners=saving_listeners)


def model_to_estimator(keras_model: keras.Model, model_dir: str | None = None,
                       config: RunConfig | None = None) -> Estimator:
    """Turns a compiled Keras model into an Estimator.

    Features are matched to the model's inputs by name (a single-input model also takes
    a single tensor); labels go to the compiled loss. Training starts from the model's
    current weights and checkpoints to model_dir; evaluate reports the compiled metrics.

    Args:
        keras_model: A compiled `keras.Model` (functional or Sequential).
        model_dir: Where checkpoints go. Default: config.model_dir or a temp dir.
        config: An `el.RunConfig`.

    Raises:
        TypeError: If keras_model is not a Keras model.
        ValueError: If it is not compiled with a loss.

    Example:
        >>> model = keras.Sequential([keras.Input((3,), name="x"), keras.layers.Dense(1)])
        >>> model.compile(optimizer="adam", loss="mse")
        >>> estimator = model_to_estimator(model, model_dir="/tmp/keras_est")
        >>> estimator.train(lambda: dataset_of_x_dict_and_labels, steps=100)
    """
    if not isinstance(keras_model, keras.Model):
        raise TypeError(f"`keras_model` must be a keras.Model; received {type(keras_model).__name__}.")
    model_fn = _KerasModelFn(keras_model)
    if model_dir is not None:
        model_dir = os.fspath(model_dir)
    return _KerasEstimator(model_fn, model_dir, config)
