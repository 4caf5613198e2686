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
    array), as the legacy tests wrote one with a TF1 Saver before building an estimator."""
    checkpoint = el.checkpoint.make_checkpoint(
        tf.Variable(global_step, dtype=tf.int64),
        {name: tf.Variable(np.asarray(value, np.float32)) for name, value in values.items()})
    tf.train.CheckpointManager(checkpoint, str(model_dir), max_to_keep=None,
                               checkpoint_name="model.ckpt").save(checkpoint_number=global_step)
    return str(model_dir)
