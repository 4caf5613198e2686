"""numpy references the head tests compare with (float64, written from the definitions)."""

import numpy as np

from estimator_lib.losses import Reduction


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def sigmoid_cross_entropy(labels, logits):
    """-y log p - (1 - y) log(1 - p), with p = sigmoid(logits)."""
    labels, p = np.asarray(labels, np.float64), sigmoid(logits)
    return -labels * np.log(p) - (1 - labels) * np.log(1 - p)


def softmax(logits):
    logits = np.asarray(logits, np.float64)
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def reduce(losses, weights, reduction):
    """The head's training loss from per-element losses and weights broadcast to them."""
    losses = np.asarray(losses, np.float64)
    weights = np.broadcast_to(np.asarray(1.0 if weights is None else weights, np.float64),
                              losses.shape)
    total = np.sum(losses * weights)
    return {
        Reduction.SUM: total,
        Reduction.MEAN: total / np.sum(weights),
        Reduction.SUM_OVER_BATCH_SIZE: total / losses.size,
        Reduction.SUM_BY_NONZERO_WEIGHTS: total / np.count_nonzero(weights),
    }[Reduction.validate(reduction)]


def weighted_mean(values, weights=None):
    values = np.asarray(values, np.float64)
    weights = np.broadcast_to(np.asarray(1.0 if weights is None else weights, np.float64),
                              values.shape)
    return np.sum(values * weights) / np.sum(weights)


def roc_auc(labels, scores, weights=None):
    """Weighted Mann-Whitney: P(score of a positive > score of a negative), ties half."""
    labels, scores = np.asarray(labels).astype(bool), np.asarray(scores, np.float64)
    weights = np.broadcast_to(np.asarray(1.0 if weights is None else weights, np.float64),
                              labels.shape)
    labels, scores, weights = labels.ravel(), scores.ravel(), weights.ravel()
    pos, neg = labels, ~labels
    wins = 0.0
    for i in np.flatnonzero(pos):
        for j in np.flatnonzero(neg):
            wins += weights[i] * weights[j] * (1.0 if scores[i] > scores[j] else
                                               0.5 if scores[i] == scores[j] else 0.0)
    return wins / (weights[pos].sum() * weights[neg].sum())


def precision(labels, predicted, weights=None):
    labels, predicted = np.asarray(labels, bool), np.asarray(predicted, bool)
    weights = np.broadcast_to(np.asarray(1.0 if weights is None else weights, np.float64),
                              labels.shape)
    return np.sum(weights * (labels & predicted)) / np.sum(weights * predicted)


def recall(labels, predicted, weights=None):
    labels, predicted = np.asarray(labels, bool), np.asarray(predicted, bool)
    weights = np.broadcast_to(np.asarray(1.0 if weights is None else weights, np.float64),
                              labels.shape)
    return np.sum(weights * (labels & predicted)) / np.sum(weights * labels)


def accuracy(labels, predicted, weights=None):
    return weighted_mean(np.asarray(labels) == np.asarray(predicted), weights)
