"""The heads' loss: a user's `loss_fn` called and checked, weighting and reduction, and
the regularization losses added."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from estimator_lib.losses import compute_weighted_loss


def call_loss_fn(loss_fn: Callable, args: frozenset[str], labels, logits, features,
                 dimension: int, head: str) -> tf.Tensor:
    kwargs = {"features": features} if "features" in args else {}
    loss = tf.convert_to_tensor(loss_fn(labels=labels, logits=logits, **kwargs))
    wanted = logits.shape[:-1].concatenate([dimension])
    if not loss.shape.is_compatible_with(wanted):
        raise ValueError(
            f"{head}: `loss_fn` must return the unreduced loss of shape [batch_size, "
            f"{dimension}] (here {wanted}); it returned shape {loss.shape}."
        )
    return tf.cast(loss, tf.float32)


def weighted_loss(unweighted, weights, reduction, regularization_losses) -> tf.Tensor:
    loss = compute_weighted_loss(unweighted, weights, reduction=reduction)
    if regularization_losses:
        loss += regularization_loss(regularization_losses)
    return loss


def regularization_loss(regularization_losses) -> tf.Tensor:
    return tf.add_n([tf.cast(r, tf.float32) for r in regularization_losses])
