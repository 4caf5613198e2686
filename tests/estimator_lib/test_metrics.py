"""Tests for estimator_lib.metrics (functional wrappers around Keras metrics)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from estimator_lib import metrics


def _value(metric):
    return np.asarray(metric.result())


# --------------------------------------------------------------------------- accuracy / mean


def test_accuracy_streams_over_batches_and_honours_weights():
    m = metrics.accuracy([1, 2, 3, 4], [1, 2, 0, 0])
    assert isinstance(m, keras.metrics.Accuracy)
    assert _value(m) == pytest.approx(0.5)
    m.update_state([5, 6], [5, 6])  # second batch: 2 more correct
    assert _value(m) == pytest.approx(4 / 6)

    weighted = metrics.accuracy([1, 2, 3, 4], [1, 2, 0, 0], weights=[1.0, 0.0, 3.0, 0.0])
    assert _value(weighted) == pytest.approx(1 / 4)


def test_accuracy_casts_predictions_to_label_dtype():
    labels = tf.constant([[1], [2], [0]], tf.int64)  # [batch, 1]
    predicted = tf.argmax([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]], axis=-1)
    m = metrics.accuracy(labels, tf.cast(predicted, tf.int32), name="acc")
    assert m.name == "acc"
    assert _value(m) == pytest.approx(2 / 3)


def test_mean_weighted_and_streaming():
    m = metrics.mean([1.0, 2.0, 3.0, 4.0], weights=[1.0, 1.0, 0.0, 2.0])
    assert _value(m) == pytest.approx((1 + 2 + 8) / 4)
    m.update_state([10.0], sample_weight=[1.0])
    assert _value(m) == pytest.approx((1 + 2 + 8 + 10) / 5)
    # [batch] weights apply to every element of a [batch, d] value.
    m2 = metrics.mean([[1.0, 2.0], [3.0, 4.0]], weights=[1.0, 0.0])
    assert _value(m2) == pytest.approx(1.5)


# --------------------------------------------------------------------------- regression


def test_regression_metrics_one_and_two_batches():
    labels1, preds1 = np.array([[1.0], [2.0]]), np.array([[2.0], [4.0]])
    labels2, preds2 = np.array([[0.0], [0.0]]), np.array([[3.0], [0.0]])
    errs1, errs2 = (preds1 - labels1).ravel(), (preds2 - labels2).ravel()
    both = np.concatenate([errs1, errs2])

    mse = metrics.mean_squared_error(labels1, preds1)
    rmse = metrics.root_mean_squared_error(labels1, preds1)
    mae = metrics.mean_absolute_error(labels1, preds1)
    assert _value(mse) == pytest.approx(np.mean(errs1**2))  # 2.5
    assert _value(rmse) == pytest.approx(np.sqrt(np.mean(errs1**2)))
    assert _value(mae) == pytest.approx(np.mean(np.abs(errs1)))  # 1.5
    for m in (mse, rmse, mae):
        m.update_state(labels2, preds2)
    assert _value(mse) == pytest.approx(np.mean(both**2))  # 14 / 4
    assert _value(rmse) == pytest.approx(np.sqrt(np.mean(both**2)))
    assert _value(mae) == pytest.approx(np.mean(np.abs(both)))  # 6 / 4


def test_regression_metrics_weights_and_int_labels():
    labels = np.array([1, 2, 3], np.int64)  # integer labels are cast to float
    preds = np.array([2.0, 2.0, 5.0], np.float32)
    weights = np.array([1.0, 5.0, 0.0], np.float32)
    assert _value(metrics.mean_squared_error(labels, preds, weights)) == pytest.approx(1 / 6)
    assert _value(metrics.mean_absolute_error(labels, preds, weights)) == pytest.approx(1 / 6)


def test_regression_metrics_1d_inputs_are_elementwise_across_unequal_batches():
    # Keras alone averages a 1-D batch into one sample; these wrappers must not.
    mse = metrics.mean_squared_error([0.0, 0.0, 0.0], [1.0, 1.0, 1.0])
    mae = metrics.mean_absolute_error([0.0, 0.0, 0.0], [1.0, 1.0, 1.0])
    rmse = metrics.root_mean_squared_error([0.0, 0.0, 0.0], [1.0, 1.0, 1.0])
    for m in (mse, mae, rmse):
        m.update_state([0.0], [4.0])  # 1 more example
    assert _value(mse) == pytest.approx((3 + 16) / 4)
    assert _value(mae) == pytest.approx((3 + 4) / 4)
    assert _value(rmse) == pytest.approx(np.sqrt((3 + 16) / 4))


def test_mean_relative_error_zero_normalizer_counts_as_zero():
    labels = np.array([2.0, 4.0, 0.0], np.float32)
    preds = np.array([1.0, 5.0, 3.0], np.float32)
    m = metrics.mean_relative_error(labels, preds, normalizer=labels)
    assert isinstance(m, keras.metrics.Mean)
    assert _value(m) == pytest.approx((0.5 + 0.25 + 0.0) / 3)
    m.update_state([10.0], [5.0], [10.0])
    assert _value(m) == pytest.approx((0.5 + 0.25 + 0.0 + 0.5) / 4)
    weighted = metrics.mean_relative_error(labels, preds, labels, weights=[0.0, 1.0, 1.0])
    assert _value(weighted) == pytest.approx(0.25 / 2)


# --------------------------------------------------------------------------- classification


def test_auc_perfectly_separable_is_one():
    labels = [0, 0, 1, 1, 0, 1]
    preds = [0.1, 0.3, 0.7, 0.9, 0.2, 0.8]
    assert _value(metrics.auc(labels, preds)) == pytest.approx(1.0)
    assert _value(metrics.auc(labels, preds, curve="PR")) == pytest.approx(1.0, abs=1e-3)
    inverted = metrics.auc([1 - x for x in labels], preds, name="inverted_auc")
    assert inverted.name == "inverted_auc"
    assert _value(inverted) == pytest.approx(0.0, abs=1e-6)


def test_auc_streams_and_honours_weights():
    m = metrics.auc([0, 1], [0.2, 0.8])
    assert _value(m) == pytest.approx(1.0)
    m.update_state([0.0, 1.0], [0.9, 0.1])  # two mis-ordered examples
    # ROC of 2 pos / 2 neg: pos scores {0.8, 0.1}, neg {0.2, 0.9}: 1 of 4 pairs correct.
    assert _value(m) == pytest.approx(0.25, abs=0.02)
    weighted = metrics.auc([0, 1, 0, 1], [0.2, 0.8, 0.9, 0.1], weights=[1.0, 1.0, 0.0, 0.0])
    assert _value(weighted) == pytest.approx(1.0)


def test_precision_recall_with_bool_predictions():
    labels = [1, 1, 0, 0, 1]
    predicted = tf.constant([True, False, True, False, True])
    p = metrics.precision(labels, predicted)
    r = metrics.recall(labels, predicted)
    assert _value(p) == pytest.approx(2 / 3)  # tp=2, fp=1
    assert _value(r) == pytest.approx(2 / 3)  # tp=2, fn=1
    p.update_state([0.0, 1.0], [1.0, 1.0])  # tp=3, fp=2
    r.update_state([0.0, 1.0], [1.0, 1.0])  # tp=3, fn=1
    assert _value(p) == pytest.approx(3 / 5)
    assert _value(r) == pytest.approx(3 / 4)
    weighted = metrics.precision(labels, predicted, weights=[1.0, 1.0, 0.0, 1.0, 1.0])
    assert _value(weighted) == pytest.approx(1.0)


def test_precision_recall_at_thresholds_are_vectors():
    labels = np.array([1, 0, 1, 1, 0], np.float32)
    preds = np.array([0.9, 0.6, 0.4, 0.7, 0.2], np.float32)
    thresholds = [0.3, 0.5, 0.8]
    expected_p, expected_r = [], []
    for t in thresholds:
        positive = preds > t
        tp = np.sum(positive & (labels == 1))
        expected_p.append(tp / max(positive.sum(), 1))
        expected_r.append(tp / labels.sum())
    p = metrics.precision_at_thresholds(labels, preds, thresholds)
    r = metrics.recall_at_thresholds(labels, preds, thresholds)
    assert _value(p).shape == (3,)
    np.testing.assert_allclose(_value(p), expected_p, rtol=1e-6)  # [3/4, 2/3, 1]
    np.testing.assert_allclose(_value(r), expected_r, rtol=1e-6)  # [1, 2/3, 1/3]
    # A single threshold gives a scalar (Keras behaviour).
    single = metrics.precision_at_thresholds(labels, preds, [0.5])
    assert _value(single).shape == ()


def test_thresholds_required():
    with pytest.raises(ValueError, match="`thresholds`"):
        metrics.precision_at_thresholds([1], [0.5], None)
    with pytest.raises(ValueError, match="received \\[\\]"):
        metrics.recall_at_thresholds([1], [0.5], [])


def test_confusion_counts_with_weights_and_streaming():
    labels = [1, 1, 0, 0, 1, 0]
    predicted = [1, 0, 1, 0, 1, 0]
    weights = [1.0, 2.0, 3.0, 4.0, 5.0, 0.0]
    tp = metrics.true_positives(labels, predicted, weights)
    fp = metrics.false_positives(labels, predicted, weights)
    tn = metrics.true_negatives(labels, predicted, weights)
    fn = metrics.false_negatives(labels, predicted, weights)
    assert (_value(tp), _value(fp), _value(tn), _value(fn)) == (6.0, 3.0, 4.0, 2.0)
    tp.update_state([1.0], [1.0])
    assert _value(tp) == 7.0
    unweighted = metrics.true_negatives(labels, predicted)
    assert _value(unweighted) == 2.0


def test_mean_iou():
    labels = [0, 1, 2, 1]
    predicted = [0, 1, 1, 1]
    m = metrics.mean_iou(labels, predicted, num_classes=3)
    # class 0: 1/1, class 1: 2/(2+1), class 2: 0/1.
    assert _value(m) == pytest.approx((1 + 2 / 3 + 0) / 3, rel=1e-5)
    m.update_state([2], [2])  # class 2 becomes 1/2
    assert _value(m) == pytest.approx((1 + 2 / 3 + 1 / 2) / 3, rel=1e-5)


# --------------------------------------------------------------------------- metric_value


def test_metric_value_for_metric_and_pair():
    m = metrics.mean([1.0, 3.0])
    assert float(metrics.metric_value(m)) == pytest.approx(2.0)
    value = tf.constant(0.25)
    assert metrics.metric_value((value, tf.no_op())) is value
    assert float(metrics.metric_value([0.5, None])) == 0.5
    with pytest.raises(TypeError, match="`\\(value, update_op\\)` pair, received 3"):
        metrics.metric_value(3)


# --------------------------------------------------------------------------- inside tf.function


class _ReuseVariables:
    """Stand-in for the Estimator's variable interception: each trace reuses, in
    creation order, the variables the first trace created."""

    def __init__(self):
        self.variables = []
        self._next = 0

    def start_trace(self):
        self._next = 0

    def __call__(self, next_creator, **kwargs):
        if self._next < len(self.variables):
            var = self.variables[self._next]
        else:
            with tf.init_scope():
                var = next_creator(**kwargs)
            self.variables.append(var)
        self._next += 1
        return var


def _eval_metric_ops(labels, probabilities):
    predicted = probabilities > 0.5
    return {
        "accuracy": metrics.accuracy(labels, tf.cast(predicted, labels.dtype)),
        "auc": metrics.auc(labels, probabilities),
        "precision_at": metrics.precision_at_thresholds(labels, probabilities, [0.25, 0.75]),
        "fn": metrics.false_negatives(labels, predicted),
        "mse": metrics.mean_squared_error(labels, probabilities),
        "relative": metrics.mean_relative_error(labels, probabilities, normalizer=labels),
        "mean": metrics.mean(probabilities),
    }


BATCH1 = (np.array([0, 1, 1, 0], np.int64), np.array([0.2, 0.9, 0.6, 0.4], np.float32))
BATCH2 = (np.array([1, 0], np.int64), np.array([0.3, 0.8], np.float32))


def _eager_reference():
    ops = _eval_metric_ops(tf.constant(BATCH1[0]), tf.constant(BATCH1[1]))
    after_one = {k: metrics.metric_value(m).numpy() for k, m in ops.items()}
    for name, m in ops.items():
        labels, probs = tf.constant(BATCH2[0]), tf.constant(BATCH2[1])
        predicted = probs > 0.5
        if name == "accuracy":
            m.update_state(labels, tf.cast(predicted, labels.dtype))
        elif name == "fn":
            m.update_state(tf.cast(labels, tf.float32), tf.cast(predicted, tf.float32))
        elif name == "relative":
            m.update_state(labels, probs, labels)
        elif name == "mean":
            m.update_state(probs)
        else:
            m.update_state(tf.cast(labels, tf.float32), probs)
    after_two = {k: metrics.metric_value(m).numpy() for k, m in ops.items()}
    return after_one, after_two


def test_metrics_inside_tf_function_accumulate_across_calls():
    reuse = _ReuseVariables()
    created = {}
    traces = []

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.int64), tf.TensorSpec([None], tf.float32)]
    )
    def eval_step(labels, probabilities):
        traces.append(1)
        reuse.start_trace()
        with tf.variable_creator_scope(reuse):
            ops = _eval_metric_ops(labels, probabilities)
        created.update(ops)
        return {k: metrics.metric_value(m) for k, m in ops.items()}

    after_one, after_two = _eager_reference()

    got_one = eval_step(*BATCH1)
    traces_after_first_call = len(traces)
    got_two = eval_step(*BATCH2)
    assert len(traces) == traces_after_first_call  # no re-trace: the same graph ran twice
    # Every trace reused the first trace's variables: one set per metric.
    assert len(reuse.variables) == sum(len(m.variables) for m in created.values())
    for key in after_one:
        np.testing.assert_allclose(got_one[key].numpy(), after_one[key], rtol=1e-5, err_msg=key)
        np.testing.assert_allclose(got_two[key].numpy(), after_two[key], rtol=1e-5, err_msg=key)
        # The metric objects read eagerly after the calls see the accumulated state.
        np.testing.assert_allclose(
            metrics.metric_value(created[key]).numpy(), after_two[key], rtol=1e-5
        )
    # Spot-check the hand-computable values after both batches.
    assert after_two["accuracy"] == pytest.approx(4 / 6)  # batch1: 4/4 right, batch2: 0/2
    assert after_two["fn"] == 1.0
    assert after_two["mean"] == pytest.approx(np.mean(np.concatenate([BATCH1[1], BATCH2[1]])))
