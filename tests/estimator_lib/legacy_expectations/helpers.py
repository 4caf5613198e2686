"""What the legacy-expectation tests share: eager metric results and checkpoints."""

import numpy as np
import tensorflow as tf

import estimator_lib as el

# tf.test.TestCase.assertAllClose's default tolerance, which the legacy tests mostly use.
LEGACY_TOLERANCE = {"rtol": 1e-6, "atol": 1e-6}


def metric_results(head, features, logits, labels, regularization_losses=None):
    """The head's eval metrics after one batch, as floats (legacy's eager branch)."""
    metrics = head.update_metrics(head.metrics(regularization_losses=regularization_losses),
                                  features, logits, labels,
                                  regularization_losses=regularization_losses)
    return {key: float(metric.result()) for key, metric in metrics.items()}


def assert_metrics(actual, expected, rtol=1e-6, atol=1e-6):
    """Same keys, and every value within the tolerance."""
    assert sorted(actual) == sorted(expected), (sorted(actual), sorted(expected))
    for key, value in expected.items():
        np.testing.assert_allclose(actual[key], value, rtol=rtol, atol=atol, err_msg=key)


def write_checkpoint(model_dir, values, global_step=0):
    """A checkpoint of this library's format in `model_dir` holding `values` (name ->
    array), as the legacy tests wrote one with a TF1 Saver before building an estimator.
    Integer numpy values stay int64 (an optimizer's `iteration`); others become float32."""
    checkpoint = el.checkpoint.make_checkpoint(
        tf.Variable(global_step, dtype=tf.int64),
        {name: tf.Variable(value if isinstance(value, np.integer)
                           else np.asarray(value, np.float32))
         for name, value in values.items()})
    tf.train.CheckpointManager(checkpoint, str(model_dir), max_to_keep=None,
                               checkpoint_name="model.ckpt").save(checkpoint_number=global_step)
    return str(model_dir)


def sgd_state(global_step, learning_rate=0.0):
    """The variables of `optimizer=lambda: keras.optimizers.SGD(learning_rate)` in a
    checkpoint at `global_step`: resuming needs the optimizer's state too (this library
    refuses to restart an optimizer silently, where the legacy tests' mock optimizer had
    none)."""
    return {"optimizer/iteration": np.int64(global_step), "optimizer/learning_rate": learning_rate}


class LossRecorder(el.Hook):
    """Records the training loss of every loop (the legacy tests' mock optimizer asserted
    the loss it was given)."""

    def __init__(self):
        self.losses = []

    def before_run(self, run_context):
        return el.RunArgs(fetches="loss")

    def after_run(self, run_context, run_values):
        self.losses.append(float(run_values.results))


def one_batch(features, labels=None, repeat=False):
    """An input_fn of a single batch (the legacy tests' `lambda: (features, labels)`)."""

    def input_fn():
        element = features if labels is None else (features, labels)
        dataset = tf.data.Dataset.from_tensors(element)
        return dataset.repeat() if repeat else dataset

    return input_fn
