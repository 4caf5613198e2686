"""`MultiHead`: several named heads trained together (multi-objective learning)."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import keras
import tensorflow as tf

from estimator_lib import export as export_lib
from estimator_lib.heads import _inputs, _loss, _metrics, _predictions
from estimator_lib.heads.base import Head
from estimator_lib.heads.keys import MetricKeys, SignatureKeys


class MultiHead(Head):
    """Combines named heads: one loss (the weighted sum), one EstimatorSpec.

    Logits and labels are dicts keyed by head name (logits may also be one tensor of width
    `logits_dimension`, split among the heads in order). Predictions are keyed
    `<head name>/<key>` (tf.estimator's tuple key `(head name, key)` as a string). Eval
    metrics are each head's (already suffixed `/<head name>`) plus `loss/<head name>`, the
    mean of that head's loss. Export outputs: the first head's default as
    `serving_default`, each head's default under its name, each head's other outputs as
    `<head name>/<key>`, and `predict` with every head's predictions.

    Args:
        heads: The heads, each with a distinct `name`. The first is served by default.
        head_weights: Optional loss weight per head (same length as heads). Default: 1 each.

    Raises:
        ValueError, TypeError: For an empty list, unnamed or duplicate heads, or bad weights.

    Example:
        >>> head = MultiHead([MultiClassHead(3, name="color"), MultiClassHead(4, name="size")])
        >>> def model_fn(features, labels, mode):  # labels: {"color": ..., "size": ...}
        ...     hidden = keras.layers.Dense(16, activation="relu")(features["x"])
        ...     logits = {h.name: keras.layers.Dense(h.logits_dimension)(hidden)
        ...               for h in head.heads}
        ...     return head.create_estimator_spec(features, mode, logits, labels,
        ...                                       optimizer=keras.optimizers.Adagrad(0.1))
    """

    def __init__(self, heads: Sequence[Head], *, head_weights: Sequence[float] | None = None):
        if isinstance(heads, Head) or not isinstance(heads, Sequence) or not heads:
            raise ValueError(f"`heads` must be a non-empty list of heads; received {heads!r}.")
        for head in heads:
            if not isinstance(head, Head):
                raise TypeError(f"`heads` must hold el.heads.Head instances; received {head!r}.")
            if head.name is None:
                raise ValueError(
                    f"Every head in a MultiHead needs a name (it keys logits, labels, "
                    f"predictions and metrics); {head!r} has none. Pass name='...'."
                )
        names = [head.name for head in heads]
        for name in names:
            clash = [n for n in names if n != name and n.startswith(name + "/")]
            if names.count(name) > 1 or clash:
                raise ValueError(f"Head names must be distinct, and none a `<name>/` prefix of "
                                 f"another; received {names}.")
        if head_weights is not None:
            if len(head_weights) != len(heads) or not all(
                    isinstance(w, numbers.Real) for w in head_weights):
                raise ValueError(
                    f"`head_weights` must be one number per head ({len(heads)}); received "
                    f"{head_weights!r}."
                )
            head_weights = tuple(float(w) for w in head_weights)
        self._heads = tuple(heads)
        self._head_weights = head_weights

    @property
    def heads(self) -> tuple[Head, ...]:
        return self._heads

    @property
    def name(self):
        """See base class: the head names joined by `_`."""
        return "_".join(head.name for head in self._heads)

    @property
    def logits_dimension(self):
        """See base class: the sum over the heads."""
        return sum(head.logits_dimension for head in self._heads)

    @property
    def loss_reduction(self):
        """See base class: the heads' common loss_reduction."""
        reductions = {head.loss_reduction for head in self._heads}
        if len(reductions) > 1:
            raise ValueError(
                "The heads of a MultiHead use different loss_reduction values "
                f"({sorted(r.value for r in reductions)}); give them the same one."
            )
        return reductions.pop()

    def _logits_dict(self, logits) -> dict:
        if isinstance(logits, Mapping):
            missing = [h.name for h in self._heads if h.name not in logits]
            unknown = sorted(set(logits) - {h.name for h in self._heads})
            if missing or unknown:
                raise ValueError(
                    f"MultiHead: `logits` must be a dict keyed by head name "
                    f"{[h.name for h in self._heads]}; missing {missing}, unknown {unknown}."
                )
            return dict(logits)
        logits = _inputs.check_logits(logits, self.logits_dimension, "MultiHead")
        splits = tf.split(logits, [h.logits_dimension for h in self._heads], axis=-1)
        return {head.name: part for head, part in zip(self._heads, splits, strict=True)}

    def _labels_dict(self, labels) -> dict:
        names = [h.name for h in self._heads]
        if labels is None:
            raise ValueError(
                "MultiHead: `labels` is None, but TRAIN and EVAL need labels: a dict keyed by "
                f"head name {names}."
            )
        if not isinstance(labels, Mapping):
            raise TypeError(
                f"MultiHead: `labels` must be a dict keyed by head name {names}; received "
                f"{type(labels).__name__}."
            )
        missing = [n for n in names if n not in labels]
        if missing:
            raise ValueError(
                f"MultiHead: `labels` has no entry for heads {missing}; it has {sorted(labels)}."
            )
        return labels

    def _head_losses(self, labels, logits, features, mode) -> list[tf.Tensor]:
        logits, labels = self._logits_dict(logits), self._labels_dict(labels)
        return [head.loss(labels[head.name], logits[head.name], features=features, mode=mode)
                for head in self._heads]

    def loss(self, labels, logits, features=None, mode=None, regularization_losses=None):
        """See base class: the weighted sum of the heads' losses, plus regularization."""
        losses = self._head_losses(labels, logits, features, mode)
        if self._head_weights is not None:
            losses = [loss * w for loss, w in zip(losses, self._head_weights, strict=True)]
        total = tf.add_n(losses)
        if regularization_losses:
            total += _loss.regularization_loss(regularization_losses)
        return total

    def predictions(self, logits, keys=None):
        """See base class: keyed `<head name>/<key>`."""
        logits = self._logits_dict(logits)
        predictions = {}
        for head in self._heads:
            for key, value in head.predictions(logits[head.name]).items():
                predictions[f"{head.name}/{key}"] = value
        return _predictions.select(predictions, keys, "MultiHead")

    def metrics(self, regularization_losses=None):
        """See base class."""
        metrics = {}
        for head in self._heads:
            key = f"{MetricKeys.LOSS}/{head.name}"
            metrics[key] = keras.metrics.Mean(name=key)
        for head in self._heads:
            metrics.update(head.metrics())
        metrics.update(_metrics.regularization_metric(regularization_losses, None))
        return metrics

    def update_metrics(self, eval_metrics, features, logits, labels, regularization_losses=None):
        """See base class."""
        logits, labels = self._logits_dict(logits), self._labels_dict(labels)
        for head in self._heads:
            loss = head.loss(labels[head.name], logits[head.name], features=features)
            eval_metrics[f"{MetricKeys.LOSS}/{head.name}"].update_state(loss)
            head.update_metrics(eval_metrics, features, logits[head.name], labels[head.name])
        _metrics.update_regularization_metric(eval_metrics, regularization_losses, None)
        return eval_metrics

    def export_outputs(self, predictions):
        """See base class."""
        outputs, merged_predict = {}, {}
        for index, head in enumerate(self._heads):
            prefix = f"{head.name}/"
            head_predictions = {k[len(prefix):]: v for k, v in predictions.items()
                                if k.startswith(prefix)}
            for key, output in head.export_outputs(head_predictions).items():
                if key == SignatureKeys.DEFAULT:
                    outputs[head.name] = output
                    if index == 0:
                        outputs[SignatureKeys.DEFAULT] = output
                else:
                    outputs[f"{head.name}/{key}"] = output
                if key == SignatureKeys.PREDICT and isinstance(output, export_lib.PredictOutput):
                    merged_predict.update({f"{prefix}{k}": v for k, v in output.outputs().items()})
        outputs[SignatureKeys.PREDICT] = export_lib.PredictOutput(merged_predict)
        return outputs
