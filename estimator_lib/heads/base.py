"""`Head`: turns logits into an EstimatorSpec (loss, predictions, metrics, exports).

A head is the part of a model_fn that does not depend on the network: given the logits
(the network's output) it knows the loss, the predictions, the eval metrics and the
serving signatures of one kind of problem (the paper's Head, tf.estimator's head/). A
model_fn builds the network and hands the rest to a head:

    def model_fn(features, labels, mode):
        logits = keras.layers.Dense(head.logits_dimension)(features["x"])
        return head.create_estimator_spec(features, mode, logits, labels,
                                          optimizer=keras.optimizers.Adagrad(0.1))
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence

import tensorflow as tf

from estimator_lib import _per_call
from estimator_lib import export as export_lib
from estimator_lib.heads import _names, _train_op
from estimator_lib.heads.keys import SignatureKeys
from estimator_lib.losses import Reduction
from estimator_lib.spec import EstimatorSpec, ModeKeys


class Head(abc.ABC):
    """Interface of a head: loss, predictions, metrics and the EstimatorSpec built from them.

    Subclasses implement the abstract methods; `create_estimator_spec` combines them per mode
    and `export_outputs` (a hook with a PredictOutput default) names the serving signatures.
    All methods may run eagerly or inside the Estimator's tf.function. `metrics()` creates
    Keras metrics, so inside tf.function call it from model_fn (the Estimator keeps the
    variables across traces), not from a plain tf.function.

    Example:
        >>> head = el.heads.BinaryClassHead()
        >>> logits = tf.constant([[45.0], [-41.0]])
        >>> float(head.loss(tf.constant([[1], [1]]), logits))  # (0 + 41) / 2
        20.5
    """

    @property
    @abc.abstractmethod
    def name(self) -> str | None:
        """The head's name; a named head suffixes its metric keys with `/<name>`."""

    @property
    @abc.abstractmethod
    def logits_dimension(self) -> int:
        """The size of the last dimension of the logits the head expects."""

    @property
    @abc.abstractmethod
    def loss_reduction(self) -> Reduction:
        """How the weighted per-example losses are reduced to the training loss."""

    @abc.abstractmethod
    def loss(self, labels, logits, features=None, mode=None, regularization_losses=None):
        """The scalar training loss, regularization losses included.

        Args:
            labels: The labels tensor (a dict keyed by head name for MultiHead).
            logits: `[batch_size, logits_dimension]` tensor.
            features: The features dict (the weight column is read from it).
            mode: A ModeKeys value; unused by the built-in heads.
            regularization_losses: List of scalar losses added to the loss.

        Returns:
            A float32 scalar.

        Raises:
            ValueError, TypeError: If labels, logits or weights are malformed.
        """

    @abc.abstractmethod
    def predictions(self, logits, keys=None) -> dict[str, tf.Tensor]:
        """The predictions dict (all keys, or only `keys`) computed from the logits."""

    @abc.abstractmethod
    def metrics(self, regularization_losses=None) -> dict:
        """Creates the head's Keras metrics, keyed by metric name (not yet updated)."""

    @abc.abstractmethod
    def update_metrics(self, eval_metrics, features, logits, labels,
                       regularization_losses=None) -> dict:
        """Updates `eval_metrics` (as created by `metrics()`) with one batch; returns it."""

    def export_outputs(self, predictions: Mapping[str, tf.Tensor]) -> dict:
        """The export outputs (signature key to `el.export.ExportOutput`) for PREDICT mode.

        The default serves every prediction through `serving_default` and `predict`.
        """
        output = export_lib.PredictOutput(dict(predictions))
        return {SignatureKeys.DEFAULT: output, SignatureKeys.PREDICT: output}

    def create_estimator_spec(self, features, mode, logits, labels=None, optimizer=None,
                              train_op_fn: Callable | None = None,
                              regularization_losses: Sequence | None = None) -> EstimatorSpec:
        """Returns the EstimatorSpec for `mode`, ready for model_fn to return.

        Args:
            features: The features dict model_fn received.
            mode: A ModeKeys value (or its string).
            logits: `[batch_size, logits_dimension]` tensor (a dict by head name, or one
                tensor to split, for MultiHead).
            labels: The labels model_fn received; required in TRAIN and EVAL.
            optimizer: TRAIN: a Keras optimizer (or its name); the Estimator minimizes the
                loss with it over model_fn's trainable variables.
            train_op_fn: TRAIN, instead of `optimizer`: `train_op_fn(loss)` returning a
                callable `train_op(loss, tape, variables)` (or a Keras optimizer).
            regularization_losses: List of scalar losses added to the training loss (and
                reported as `regularization_loss` in EVAL).

        Returns:
            An `el.EstimatorSpec`: PREDICT has predictions and export_outputs; EVAL adds the
            loss and the updated eval_metric_ops; TRAIN the loss and train_op.

        Raises:
            ValueError: In TRAIN, if neither or both of optimizer and train_op_fn are given;
                if labels are missing in TRAIN or EVAL, or any input is malformed.
        """
        try:
            mode = ModeKeys(mode)
        except ValueError:
            raise ValueError(
                f"`mode` must be one of {[m.value for m in ModeKeys]}; received {mode!r}."
            ) from None
        # A mixed-precision network computes its logits in float16 or bfloat16; the loss,
        # predictions and metrics are float32 (Keras's advice for a model's outputs).
        logits = tf.nest.map_structure(_as_float32, logits)
        with tf.name_scope(_names.scope_name(self)), _per_call.scope():
            predictions = self.predictions(logits)
            if mode == ModeKeys.PREDICT:
                return EstimatorSpec(mode, predictions=predictions,
                                     export_outputs=self.export_outputs(predictions))
            loss = self.loss(labels, logits, features=features, mode=mode,
                             regularization_losses=regularization_losses)
            if mode == ModeKeys.EVAL:
                eval_metrics = self.update_metrics(
                    self.metrics(regularization_losses=regularization_losses), features, logits,
                    labels, regularization_losses=regularization_losses)
                return EstimatorSpec(mode, predictions=predictions, loss=loss,
                                     eval_metric_ops=eval_metrics)
            train_op = _train_op.train_op(_names.describe(self), loss, optimizer, train_op_fn)
        return EstimatorSpec(mode, predictions=predictions, loss=loss, train_op=train_op)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, logits_dimension={self.logits_dimension})"


def _as_float32(tensor):
    tensor = tf.convert_to_tensor(tensor)
    if tensor.dtype in (tf.float16, tf.bfloat16):
        return tf.cast(tensor, tf.float32)
    return tensor
