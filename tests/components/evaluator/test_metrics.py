"""The numpy metrics against brute-force computations."""

import numpy as np
import pytest

from components.evaluator.metrics import (
    ModelOutputs,
    TaskKind,
    auc,
    calibration_bins,
    compute_metrics,
    confusion_matrix,
    roc_curve,
)


def _pairwise_auc(labels, scores):
    positives, negatives = scores[labels == 1], scores[labels == 0]
    wins = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return (wins + 0.5 * ties) / (len(positives) * len(negatives))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_is_the_pairwise_probability_with_ties_counted_half(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 400)
    scores = np.round(rng.random(400) * 0.6 + labels * 0.3, 2)  # many ties
    assert auc(labels, scores) == pytest.approx(_pairwise_auc(labels, scores), abs=1e-12)


def test_the_roc_curve_integrates_to_the_auc_and_spans_the_square():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.random(300) + labels * 0.4, 1)
    curve = roc_curve(labels, scores)
    assert (curve.fpr[0], curve.tpr[0]) == (0.0, 0.0)
    assert (curve.fpr[-1], curve.tpr[-1]) == (1.0, 1.0)
    assert np.all(np.diff(curve.fpr) >= 0) and np.all(np.diff(curve.tpr) >= 0)
    assert np.trapezoid(curve.tpr, curve.fpr) == pytest.approx(auc(labels, scores), abs=1e-12)
    small = curve.downsample(5)
    assert len(small.fpr) == 5 and small.fpr[0] == 0.0 and small.tpr[-1] == 1.0


def test_binary_metrics_match_hand_counts():
    labels = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    probabilities = np.array([0.9, 0.6, 0.4, 0.7, 0.2, 0.1, 0.3, 0.8])
    metrics = compute_metrics(ModelOutputs(TaskKind.BINARY, labels, probabilities))
    # predicted positive: 0.9, 0.6, 0.7, 0.8 -> tp 3, fp 1, fn 1, tn 3
    assert metrics["accuracy"] == 6 / 8
    assert metrics["precision"] == 3 / 4 and metrics["recall"] == 3 / 4
    expected_loss = -np.mean(labels * np.log(probabilities)
                             + (1 - labels) * np.log(1 - probabilities))
    assert metrics["log_loss"] == pytest.approx(expected_loss)
    assert metrics["example_count"] == 8 and metrics["label_mean"] == 0.5
    assert metrics["auc"] == pytest.approx(_pairwise_auc(labels, probabilities))
    assert confusion_matrix(labels, probabilities > 0.5, 2) == [[3, 1], [1, 3]]


def test_undefined_metrics_are_none_not_nan():
    metrics = compute_metrics(ModelOutputs(TaskKind.BINARY, np.array([0, 0]),
                                           np.array([0.2, 0.3])))
    assert metrics["auc"] is None and metrics["precision"] is None
    assert metrics["recall"] is None and metrics["accuracy"] == 1.0
    assert roc_curve(np.array([0, 0]), np.array([0.2, 0.3])) is None


def test_regression_and_multiclass_metrics():
    metrics = compute_metrics(ModelOutputs(TaskKind.REGRESSION, np.array([1.0, 2.0, 4.0]),
                                           np.array([2.0, 2.0, 2.0])))
    assert metrics["mse"] == pytest.approx(5 / 3) and metrics["mae"] == pytest.approx(1.0)
    assert metrics["rmse"] == pytest.approx(np.sqrt(5 / 3))
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5],
                              [0.6, 0.3, 0.1]])
    labels = np.array([0, 1, 2, 1])
    metrics = compute_metrics(ModelOutputs(TaskKind.MULTICLASS, labels, probabilities))
    assert metrics["accuracy"] == 0.75
    assert metrics["log_loss"] == pytest.approx(-np.mean(np.log([0.7, 0.8, 0.5, 0.3])))
    per_class = [_pairwise_auc((labels == k).astype(int), probabilities[:, k]) for k in range(3)]
    assert metrics["auc"] == pytest.approx(np.mean(per_class))
    with pytest.raises(ValueError, match=r"Class ids must be in \[0, 3\)"):
        compute_metrics(ModelOutputs(TaskKind.MULTICLASS, np.array([3]),
                                     np.array([[0.2, 0.3, 0.5]])))


def test_calibration_bins_hold_the_means_of_their_examples():
    bins = calibration_bins(np.array([0, 1, 1, 0, 1]), np.array([0.05, 0.15, 0.95, 0.12, 1.0]),
                            num_bins=10)
    assert len(bins) == 10 and sum(b.count for b in bins) == 5
    assert (bins[0].count, bins[0].label_mean) == (1, 0.0)
    assert bins[1].count == 2 and bins[1].prediction_mean == pytest.approx(0.135)
    assert bins[9].count == 2 and bins[9].label_mean == 1.0  # 1.0 falls in the last bin
    assert bins[5].count == 0 and bins[5].prediction_mean is None


def test_outputs_check_their_shapes():
    with pytest.raises(ValueError, match=r"expected labels \[n\] and predictions \[n\]"):
        ModelOutputs(TaskKind.BINARY, np.array([1, 0]), np.array([[0.1], [0.2]]))
    with pytest.raises(ValueError, match="2 labels but 3 predictions"):
        ModelOutputs(TaskKind.BINARY, np.array([1, 0]), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="No examples"):
        compute_metrics(ModelOutputs(TaskKind.BINARY, np.array([]), np.array([])))


def test_the_estimators_loss_names_are_the_tasks_loss_so_thresholds_may_use_them():
    from components.evaluator.thresholds import parse_thresholds

    regression = compute_metrics(ModelOutputs(TaskKind.REGRESSION, np.array([1.0, 3.0]),
                                              np.array([2.0, 5.0])))
    assert regression["average_loss"] == regression["loss"] == regression["mse"] == 2.5
    binary = compute_metrics(ModelOutputs(TaskKind.BINARY, np.array([0, 1]),
                                          np.array([0.2, 0.9])))
    assert binary["average_loss"] == binary["log_loss"]
    assert parse_thresholds({"average_loss": {"upper_bound": 3.0}})["average_loss"].upper_bound \
        == 3.0
