"""The EstimatorSpec's train_op in TRAIN mode: a head's `optimizer` or its `train_op_fn`."""

from __future__ import annotations

import keras


def train_op(head: str, loss, optimizer, train_op_fn):
    """The EstimatorSpec train_op: the optimizer, or what train_op_fn(loss) returns."""
    if optimizer is not None and train_op_fn is not None:
        raise ValueError(
            f"{head}: pass exactly one of `optimizer` and `train_op_fn` in TRAIN mode; "
            "received both."
        )
    if optimizer is not None:
        if isinstance(optimizer, str):
            optimizer = keras.optimizers.get(optimizer)
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise TypeError(
                f"{head}: `optimizer` must be a Keras optimizer (e.g. "
                f"keras.optimizers.Adagrad(0.1)) or its name; received {optimizer!r}."
            )
        return optimizer
    if train_op_fn is not None:
        if not callable(train_op_fn):
            raise TypeError(f"{head}: `train_op_fn` must be callable; received {train_op_fn!r}.")
        result = train_op_fn(loss)
        if not (isinstance(result, keras.optimizers.Optimizer) or callable(result)):
            raise TypeError(
                f"{head}: `train_op_fn(loss)` must return a callable train_op(loss, tape, "
                f"variables) or a Keras optimizer; it returned {result!r}."
            )
        return result
    raise ValueError(
        f"{head}: in TRAIN mode create_estimator_spec needs `optimizer` (e.g. "
        "keras.optimizers.Adagrad(0.1)) or `train_op_fn`; received neither."
    )
