"""The contract every head keeps, as checks a test suite runs over each head.

Like scikit-learn's common tests: one battery, parametrized over every head (and any
user-written `el.heads.Head`), so a new head gets the whole contract for free:

    @pytest.mark.parametrize("check", head_checks.all_checks(), ids=lambda c: c.__name__)
    @pytest.mark.parametrize("case", CASES)
    def test_head_contract(case, check):
        check(case.head, case.sample)

Each check raises AssertionError (or the head's own error) when the head breaks it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from estimator_lib import export as export_lib
from estimator_lib.heads.base import Head
from estimator_lib.losses import Reduction
from estimator_lib.spec import EstimatorSpec, ModeKeys

_RESERVED_METRIC_KEYS = ("loss", "global_step")  # The Estimator reports these itself.
_REGULARIZATION = (0.5, 0.25)


@dataclasses.dataclass(frozen=True)
class HeadSample:
    """One batch a head can take: features (a dict), logits and labels.

    Example:
        >>> HeadSample(features={"x": np.ones([2, 1])}, logits=[[0.5], [-1.0]],
        ...            labels=[[1], [0]])
    """

    features: Mapping[str, Any]
    logits: Any
    labels: Any

    def tensors(self):
        """(features, logits, labels) as tensors (sparse and ragged kept as they are)."""
        return _convert(self.features), _convert(self.logits), _convert(self.labels)


def _convert(value):
    if isinstance(value, Mapping):
        return {key: _convert(item) for key, item in value.items()}
    if isinstance(value, tf.SparseTensor | tf.RaggedTensor):
        return value
    return tf.convert_to_tensor(value)


def _relaxed_spec(value):
    """A spec for `value` whose batch dimension is unknown."""
    if isinstance(value, tf.SparseTensor):
        return tf.SparseTensorSpec([None] * value.shape.rank, value.dtype)
    if isinstance(value, tf.RaggedTensor):
        return tf.RaggedTensorSpec([None] * value.shape.rank, value.dtype, value.ragged_rank)
    return tf.TensorSpec([None] + value.shape.as_list()[1:], value.dtype)


def _numpy(value):
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def _metric_results(metrics) -> dict[str, np.ndarray]:
    return {key: _numpy(metric.result()) for key, metric in metrics.items()}


def _batch_size(logits) -> int:
    if isinstance(logits, Mapping):
        return int(tf.shape(next(iter(logits.values())))[0])
    return int(tf.shape(logits)[0])


# -- the checks ----------------------------------------------------------------------------
def check_properties(head: Head, sample: HeadSample) -> None:
    """name is None or a string; logits_dimension a positive int; loss_reduction not NONE."""
    assert head.name is None or (isinstance(head.name, str) and head.name), head.name
    assert isinstance(head.logits_dimension, int) and head.logits_dimension > 0, \
        head.logits_dimension
    assert Reduction.validate(head.loss_reduction) != Reduction.NONE
    assert type(head).__name__ in repr(head)


def check_predictions(head: Head, sample: HeadSample) -> None:
    """predictions() is a dict of str to tensors with the batch first; `keys` selects."""
    _, logits, _ = sample.tensors()
    predictions = head.predictions(logits)
    assert isinstance(predictions, dict) and predictions, predictions
    batch_size = _batch_size(logits)
    for key, value in predictions.items():
        assert isinstance(key, str), f"prediction key {key!r} is not a string"
        assert tf.is_tensor(value), f"prediction {key!r} is {type(value).__name__}"
        assert value.shape.rank >= 1 and value.shape[0] == batch_size, \
            f"prediction {key!r} has shape {value.shape}; the batch size is {batch_size}"
    first = next(iter(predictions))
    assert list(head.predictions(logits, keys=[first])) == [first]


def check_loss(head: Head, sample: HeadSample) -> None:
    """loss() is a finite float32 scalar; regularization losses are added to it."""
    features, logits, labels = sample.tensors()
    loss = head.loss(labels, logits, features=features)
    assert loss.dtype == tf.float32 and loss.shape.rank == 0, (loss.dtype, loss.shape)
    assert np.isfinite(_numpy(loss)), loss
    regularized = head.loss(labels, logits, features=features,
                            regularization_losses=[tf.constant(r) for r in _REGULARIZATION])
    np.testing.assert_allclose(_numpy(regularized), _numpy(loss) + sum(_REGULARIZATION),
                               rtol=1e-5, atol=1e-6)


def check_metrics(head: Head, sample: HeadSample) -> None:
    """metrics() creates Keras metrics; update_metrics() fills them (and only them)."""
    features, logits, labels = sample.tensors()
    metrics = head.metrics()
    assert isinstance(metrics, dict) and metrics
    for key, metric in metrics.items():
        assert isinstance(metric, keras.metrics.Metric), f"metric {key!r}: {metric!r}"
        assert key not in _RESERVED_METRIC_KEYS, f"metric key {key!r} collides with the Estimator's"
    updated = head.update_metrics(metrics, features, logits, labels)
    assert set(updated) == set(metrics), set(updated) ^ set(metrics)
    for key, value in _metric_results(updated).items():
        assert value.shape == () and np.isfinite(value), f"metric {key!r} = {value!r}"
    regularization = [tf.constant(r) for r in _REGULARIZATION]
    with_regularization = head.metrics(regularization_losses=regularization)
    extra = set(with_regularization) - set(metrics)
    assert len(extra) == 1 and next(iter(extra)).startswith("regularization_loss"), (
        "metrics(regularization_losses=...) must add exactly one `regularization_loss` metric; "
        f"it added {sorted(extra)}")
    head.update_metrics(with_regularization, features, logits, labels,
                        regularization_losses=regularization)
    np.testing.assert_allclose(_numpy(with_regularization[extra.pop()].result()),
                               sum(_REGULARIZATION), rtol=1e-6)


def check_estimator_spec_modes(head: Head, sample: HeadSample) -> None:
    """create_estimator_spec returns a valid EstimatorSpec per mode, with serving_default."""
    features, logits, labels = sample.tensors()
    spec = head.create_estimator_spec(features, ModeKeys.PREDICT, logits)
    assert isinstance(spec, EstimatorSpec) and spec.mode == ModeKeys.PREDICT
    assert set(spec.predictions) == set(head.predictions(logits))
    assert "serving_default" in spec.export_outputs, sorted(spec.export_outputs)
    for key, output in spec.export_outputs.items():
        assert isinstance(output, export_lib.ExportOutput), f"export output {key!r}: {output!r}"
        assert output.outputs(), key

    spec = head.create_estimator_spec(features, "eval", logits, labels)
    assert spec.mode == ModeKeys.EVAL
    np.testing.assert_allclose(_numpy(spec.loss),
                               _numpy(head.loss(labels, logits, features=features)), rtol=1e-6)
    assert set(spec.eval_metric_ops) == set(head.metrics())

    optimizer = keras.optimizers.SGD(0.1)
    spec = head.create_estimator_spec(features, ModeKeys.TRAIN, logits, labels,
                                      optimizer=optimizer)
    assert spec.train_op is optimizer
    seen = []

    def train_op(loss, tape, variables):
        del loss, tape, variables

    def train_op_fn(loss):
        seen.append(loss)
        return train_op

    spec = head.create_estimator_spec(features, ModeKeys.TRAIN, logits, labels,
                                      train_op_fn=train_op_fn)
    assert spec.train_op is train_op and len(seen) == 1
    np.testing.assert_allclose(_numpy(seen[0]), _numpy(spec.loss))
    for kwargs in ({}, {"optimizer": optimizer, "train_op_fn": train_op_fn}):
        try:
            head.create_estimator_spec(features, ModeKeys.TRAIN, logits, labels, **kwargs)
        except ValueError as error:
            assert "optimizer" in str(error) and "train_op_fn" in str(error), error
        else:
            raise AssertionError(f"TRAIN with {sorted(kwargs) or 'neither'} did not raise")


def check_labels_required(head: Head, sample: HeadSample) -> None:
    """TRAIN and EVAL without labels fail with an error that says labels are missing."""
    features, logits, _ = sample.tensors()
    for mode in (ModeKeys.TRAIN, ModeKeys.EVAL):
        try:
            head.create_estimator_spec(features, mode, logits, None,
                                       optimizer=keras.optimizers.SGD(0.1))
        except (ValueError, TypeError) as error:
            assert "labels" in str(error), error
        else:
            raise AssertionError(f"{mode.name} without labels did not raise")


def check_graph_matches_eager(head: Head, sample: HeadSample) -> None:
    """Inside tf.function, with an unknown batch size, loss/predictions/metrics match eager."""
    features, logits, labels = sample.tensors()
    eager_loss = head.loss(labels, logits, features=features)
    eager_predictions = head.predictions(logits)
    eager_metrics = _metric_results(head.update_metrics(head.metrics(), features, logits, labels))
    graph_metrics = head.metrics()  # Created eagerly: tf.function may not create variables twice.
    specs = tf.nest.map_structure(_relaxed_spec, (features, logits, labels))

    @tf.function(input_signature=specs)
    def run(features, logits, labels):
        head.update_metrics(graph_metrics, features, logits, labels)
        return head.loss(labels, logits, features=features), head.predictions(logits)

    loss, predictions = run(features, logits, labels)
    np.testing.assert_allclose(_numpy(loss), _numpy(eager_loss), rtol=1e-5)
    assert set(predictions) == set(eager_predictions)
    for key, value in predictions.items():
        expected = _numpy(eager_predictions[key])
        if expected.dtype.kind in "fc":
            np.testing.assert_allclose(_numpy(value), expected, rtol=1e-5, err_msg=key)
        else:
            np.testing.assert_array_equal(_numpy(value), expected, err_msg=key)
    for key, value in _metric_results(graph_metrics).items():
        np.testing.assert_allclose(value, eager_metrics[key], rtol=1e-5, err_msg=key)


def all_checks() -> tuple[Callable[[Head, HeadSample], None], ...]:
    """Every check, in a stable order (use as a pytest parameter)."""
    return (check_properties, check_predictions, check_loss, check_metrics,
            check_estimator_spec_modes, check_labels_required, check_graph_matches_eager)


def check_head(head: Head, sample: HeadSample) -> None:
    """Runs every check on `head` with `sample`; raises at the first broken one.

    Example:
        >>> check_head(el.heads.BinaryClassHead(),
        ...            HeadSample(features={}, logits=[[0.5], [-1.0]], labels=[[1], [0]]))
    """
    for check in all_checks():
        check(head, sample)
