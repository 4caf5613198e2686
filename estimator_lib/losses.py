"""TF1-style loss functions (``tf.compat.v1.losses``) written with TF2 ops.

Each function computes an element-wise loss, multiplies it by ``weights`` and
reduces the result with a :class:`Reduction`, exactly like the TF1 functions of
the same name. The default reduction is ``Reduction.SUM_BY_NONZERO_WEIGHTS``
(the weighted sum divided by the number of non-zero weights), as in TF1.

Differences from TF1:

* Nothing is added to a loss collection (TF2 has none) and there is no
  ``scope``/``loss_collection`` argument; the loss is simply returned.
* ``float64`` inputs are computed in ``float64`` (TF1 always went through
  ``float32``); other dtypes are computed in ``float32`` and the result is cast
  back to a floating input dtype.
* ``weights`` of shape ``[batch_size]`` are accepted for losses of shape
  ``[batch_size, d]`` (they are expanded to ``[batch_size, 1]``), and
  ``[batch_size, 1]`` weights for ``[batch_size]`` losses (squeezed). Apart from
  that, weights broadcast as in TF1: a scalar, or the same rank as the losses
  with every dimension either 1 or equal to the loss dimension.

Weighted-reduction arithmetic (``L`` the element-wise losses, ``w`` the weights
broadcast to ``L``'s shape):

================================  =================================
``Reduction``                     result
================================  =================================
``NONE``                          ``L * w`` (same shape as ``L``)
``SUM``                           ``sum(L * w)``
``MEAN``                          ``sum(L * w) / sum(w)``
``SUM_OVER_BATCH_SIZE``           ``sum(L * w) / size(L)``
``SUM_BY_NONZERO_WEIGHTS``        ``sum(L * w) / count(w != 0)``
================================  =================================

Divisions return 0 when the denominator is 0 (``tf.math.divide_no_nan``).

Example, inside a ``model_fn``::

    from estimator_lib import losses

    def model_fn(features, labels, mode):
        logits = my_network(features)
        loss = losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
        ...
"""

from __future__ import annotations

import enum
import numbers

import tensorflow as tf

__all__ = [
    "Reduction",
    "absolute_difference",
    "compute_weighted_loss",
    "hinge_loss",
    "huber_loss",
    "log_loss",
    "mean_squared_error",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
]


class Reduction(str, enum.Enum):  # noqa: UP042 -- (str, Enum) as in the API spec
    """How a weighted loss tensor is reduced (TF1 ``tf.compat.v1.losses.Reduction``).

    Members compare equal to their string values, so ``reduction="sum"`` and
    ``reduction=Reduction.SUM`` are interchangeable.

    Attributes:
        NONE: No reduction; the weighted element-wise losses are returned.
        SUM: Sum of the weighted losses.
        MEAN: Sum of the weighted losses divided by the sum of the weights.
        SUM_OVER_BATCH_SIZE: Sum of the weighted losses divided by the number
            of loss elements.
        SUM_BY_NONZERO_WEIGHTS: Sum of the weighted losses divided by the
            number of non-zero weights (the TF1 default).

    Example:

        >>> Reduction.validate("weighted_mean") is Reduction.MEAN
        True
    """

    NONE = "none"
    SUM = "sum"
    MEAN = "weighted_mean"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def all(cls) -> tuple[Reduction, ...]:
        """Returns every reduction, in declaration order.

        Example:

            >>> len(Reduction.all())
            5
        """
        return tuple(cls)

    @classmethod
    def validate(cls, key) -> Reduction:
        """Returns the `Reduction` for ``key`` (a member or its string value).

        Args:
            key: A `Reduction` member or one of the string values, e.g.
                ``"weighted_sum_by_nonzero_weights"``.

        Returns:
            The matching `Reduction` member.

        Raises:
            ValueError: If ``key`` is not a valid reduction.

        Example:

            >>> Reduction.validate("sum")
            <Reduction.SUM: 'sum'>
        """
        if isinstance(key, cls):
            return key
        if isinstance(key, str):
            try:
                return cls(key)
            except ValueError:
                pass
        valid = ", ".join(repr(r.value) for r in cls)
        raise ValueError(
            f"Invalid `reduction`: {key!r}. Expected a `Reduction` member or one "
            f"of the strings {valid}. For example pass "
            f"`reduction=Reduction.SUM_BY_NONZERO_WEIGHTS` (the default) or "
            f"`reduction='weighted_mean'`."
        )


# --------------------------------------------------------------------------- helpers


def _shape_str(shape: tf.TensorShape) -> str:
    if shape.rank is None:
        return "<unknown>"
    return str(tuple(shape.as_list()))


def _require(value, arg_name: str):
    if value is None:
        raise ValueError(f"`{arg_name}` must not be None; pass a tensor (received None).")
    return value


def _to_float_tensor(value, arg_name: str) -> tf.Tensor:
    """Converts to a tensor; non-floating dtypes are cast to float32."""
    t = tf.convert_to_tensor(_require(value, arg_name))
    if not t.dtype.is_floating:
        t = tf.cast(t, tf.float32)
    return t


def _assert_same_shape(a: tf.Tensor, a_name: str, b: tf.Tensor, b_name: str) -> None:
    if not a.shape.is_compatible_with(b.shape):
        raise ValueError(
            f"`{a_name}` shape {_shape_str(a.shape)} is not compatible with `{b_name}` "
            f"shape {_shape_str(b.shape)}. They must have the same shape (for example "
            f"both [batch_size, 1]); reshape one of them, e.g. with `tf.reshape` or "
            f"`tf.expand_dims`."
        )


def _broadcast_weights(weights: tf.Tensor, losses: tf.Tensor) -> tf.Tensor:
    """Broadcasts ``weights`` to the shape of ``losses`` (TF1 rules, see module doc)."""
    w_shape, l_shape = weights.shape, losses.shape
    if w_shape.rank is None or l_shape.rank is None:
        # Unknown rank: let the runtime broadcast check it.
        return weights * tf.ones_like(losses)
    if w_shape.rank == 0:
        return tf.broadcast_to(weights, tf.shape(losses))
    if w_shape.rank == l_shape.rank - 1:
        weights = tf.expand_dims(weights, -1)
    elif w_shape.rank == l_shape.rank + 1 and w_shape[-1] == 1:
        weights = tf.squeeze(weights, -1)
    compatible = weights.shape.rank == l_shape.rank and all(
        wd is None or ld is None or wd == 1 or wd == ld
        for wd, ld in zip(weights.shape.as_list(), l_shape.as_list(), strict=True)
    )
    if not compatible:
        raise ValueError(
            f"`weights` shape {_shape_str(w_shape)} cannot be broadcast to the loss "
            f"shape {_shape_str(l_shape)}. `weights` must be a scalar, have shape "
            f"[batch_size] or [batch_size, 1], or have the loss's rank with every "
            f"dimension either 1 or equal to the loss's. Reshape `weights` to match."
        )
    return tf.broadcast_to(weights, tf.shape(losses))


# --------------------------------------------------------------------------- public API


def compute_weighted_loss(
    losses,
    weights=1.0,
    reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
):
    """Weights element-wise ``losses`` and reduces them.

    Args:
        losses: Tensor of element-wise losses, shape ``[batch_size, d0, .. dN]``.
        weights: Scalar or tensor broadcastable to ``losses`` (see module
            docstring). ``None`` means 1.0.
        reduction: A `Reduction` or its string value.

    Returns:
        The weighted loss: a scalar, or a tensor shaped like ``losses`` when
        ``reduction`` is ``Reduction.NONE``. Floating inputs keep their dtype;
        other dtypes give float32.

    Raises:
        ValueError: If ``reduction`` is invalid or ``weights`` cannot be
            broadcast to ``losses``.

    Example:

        >>> loss = compute_weighted_loss([1.0, 2.0, 3.0], weights=[1.0, 0.0, 1.0])
        >>> float(loss)  # (1 + 3) / 2 non-zero weights
        2.0
        >>> float(compute_weighted_loss([1.0, 2.0, 3.0], reduction="sum"))
        6.0
    """
    reduction = Reduction.validate(reduction)
    with tf.name_scope("weighted_loss"):
        losses = tf.convert_to_tensor(_require(losses, "losses"))
        input_dtype = losses.dtype
        compute_dtype = tf.float64 if input_dtype == tf.float64 else tf.float32
        losses = tf.cast(losses, compute_dtype)
        weights = tf.cast(1.0 if weights is None else weights, compute_dtype)
        weights = _broadcast_weights(weights, losses)
        weighted = losses * weights
        if reduction == Reduction.NONE:
            loss = weighted
        else:
            loss = tf.reduce_sum(weighted)
            if reduction == Reduction.MEAN:
                loss = tf.math.divide_no_nan(loss, tf.reduce_sum(weights))
            elif reduction == Reduction.SUM_BY_NONZERO_WEIGHTS:
                num_present = tf.math.count_nonzero(weights, dtype=compute_dtype)
                loss = tf.math.divide_no_nan(loss, num_present)
            elif reduction == Reduction.SUM_OVER_BATCH_SIZE:
                loss = tf.math.divide_no_nan(loss, tf.cast(tf.size(losses), compute_dtype))
        if input_dtype.is_floating and input_dtype != compute_dtype:
            loss = tf.cast(loss, input_dtype)
        return loss


def _regression_inputs(labels, predictions, predictions_name="predictions"):
    predictions = _to_float_tensor(predictions, predictions_name)
    labels = tf.cast(_require(labels, "labels"), predictions.dtype)
    _assert_same_shape(predictions, predictions_name, labels, "labels")
    return labels, predictions


def mean_squared_error(
    labels,
    predictions,
    weights=1.0,
    reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
):
    """Weighted sum-of-squares loss: ``(predictions - labels) ** 2``.

    Args:
        labels: Ground-truth tensor, same shape as ``predictions``.
        predictions: Predicted values.
        weights: Scalar or tensor broadcastable to the loss (see module docstring).
        reduction: A `Reduction` or its string value.

    Returns:
        The weighted loss (scalar unless ``reduction`` is ``Reduction.NONE``).

    Raises:
        ValueError: If the shapes of ``labels`` and ``predictions`` differ, if
            ``weights`` cannot be broadcast, or ``reduction`` is invalid.

    Example:

        >>> float(mean_squared_error([[1.0], [2.0]], [[1.5], [2.0]]))
        0.125
    """
    with tf.name_scope("mean_squared_error"):
        labels, predictions = _regression_inputs(labels, predictions)
        losses = tf.math.squared_difference(predictions, labels)
        return compute_weighted_loss(losses, weights, reduction=reduction)


def absolute_difference(
    labels,
    predictions,
    weights=1.0,
    reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
):
    """Weighted absolute-difference loss: ``|predictions - labels|``.

    Args:
        labels: Ground-truth tensor, same shape as ``predictions``.
        predictions: Predicted values.
        weights: Scalar or tensor broadcastable to the loss (see module docstring).
        reduction: A `Reduction` or its string value.

    Returns:
        The weighted loss (scalar unless ``reduction`` is ``Reduction.NONE``).

    Raises:
        ValueError: If the shapes of ``labels`` and ``predictions`` differ, if
            ``weights`` cannot be broadcast, or ``reduction`` is invalid.

    Example:

        >>> float(absolute_difference([[1.0], [2.0]], [[1.5], [3.0]]))
        0.75
    """
    with tf.name_scope("absolute_difference"):
        labels, predictions = _regression_inputs(labels, predictions)
        losses = tf.abs(predictions - labels)
        return compute_weighted_loss(losses, weights, reduction=reduction)


def huber_loss(
    labels,
    predictions,
    weights=1.0,
    delta=1.0,
    reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
):
    """Weighted Huber loss.

    For each element ``x = |predictions - labels|`` the loss is
    ``0.5 * x**2`` if ``x <= delta`` and ``0.5 * delta**2 + delta * (x - delta)``
    otherwise.

    Args:
        labels: Ground-truth tensor, same shape as ``predictions``.
        predictions: Predicted values.
        weights: Scalar or tensor broadcastable to the loss (see module docstring).
        delta: Point where the loss changes from quadratic to linear.
        reduction: A `Reduction` or its string value.

    Returns:
        The weighted loss (scalar unless ``reduction`` is ``Reduction.NONE``).

    Raises:
        ValueError: If the shapes of ``labels`` and ``predictions`` differ, if
            ``weights`` cannot be broadcast, or ``reduction`` is invalid.

    Example:

        >>> float(huber_loss([[0.0], [0.0]], [[0.5], [3.0]], reduction="sum"))
        2.625
    """
    with tf.name_scope("huber_loss"):
        labels, predictions = _regression_inputs(labels, predictions)
        delta = tf.cast(delta, predictions.dtype)
        abs_error = tf.abs(predictions - labels)
        quadratic = tf.minimum(abs_error, delta)
        linear = abs_error - quadratic
        losses = 0.5 * quadratic * quadratic + delta * linear
        return compute_weighted_loss(losses, weights, reduction=reduction)


def log_loss(
    labels,
    predictions,
    weights=1.0,
    epsilon=1e-7,
    reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
):
    """Weighted log loss (binary cross-entropy on probabilities).

    ``-labels * log(predictions + epsilon) - (1 - labels) * log(1 - predictions + epsilon)``

    Args:
        labels: Ground-truth values in ``[0, 1]``, same shape as ``predictions``.
        predictions: Predicted probabilities in ``[0, 1]``.
        weights: Scalar or tensor broadcastable to the loss (see module docstring).
        epsilon: Small constant added inside the logarithms to avoid ``log(0)``.
        reduction: A `Reduction` or its string value.

    Returns:
        The weighted loss (scalar unless ``reduction`` is ``Reduction.NONE``).

    Raises:
        ValueError: If the shapes of ``labels`` and ``predictions`` differ, if
            ``weights`` cannot be broadcast, or ``reduction`` is invalid.

    Example:

        >>> round(float(log_loss([[1.0], [0.0]], [[0.5], [0.5]])), 4)  # log(2)
        0.6931
    """
    with tf.name_scope("log_loss"):
        labels, predictions = _regression_inputs(labels, predictions)
        epsilon = tf.cast(epsilon, predictions.dtype)
        losses = -labels * tf.math.log(predictions + epsilon) - (1.0 - labels) * tf.math.log(
            1.0 - predictions + epsilon
        )
        return compute_weighted_loss(losses, weights, reduction=reduction)


def hinge_loss(
    labels,
    logits,
    weights=1.0,
    reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
):
    """Weighted hinge loss: ``max(0, 1 - (2 * labels - 1) * logits)``.

    Args:
        labels: Ground-truth tensor of 0/1 values, same shape as ``logits``.
            They are mapped to -1/+1 internally.
        logits: Unscaled scores.
        weights: Scalar or tensor broadcastable to the loss (see module docstring).
        reduction: A `Reduction` or its string value.

    Returns:
        The weighted loss (scalar unless ``reduction`` is ``Reduction.NONE``).

    Raises:
        ValueError: If the shapes of ``labels`` and ``logits`` differ, if
            ``weights`` cannot be broadcast, or ``reduction`` is invalid.

    Example:

        >>> float(hinge_loss([[1.0], [0.0]], [[0.5], [0.5]], reduction="sum"))
        2.0
    """
    with tf.name_scope("hinge_loss"):
        labels, logits = _regression_inputs(labels, logits, predictions_name="logits")
        signed_labels = 2.0 * labels - 1.0
        losses = tf.nn.relu(1.0 - signed_labels * logits)
        return compute_weighted_loss(losses, weights, reduction=reduction)


def _check_label_smoothing(label_smoothing):
    if isinstance(label_smoothing, numbers.Real) and not 0 <= label_smoothing <= 1:
        raise ValueError(
            f"`label_smoothing` must be in [0, 1], received {label_smoothing!r}. "
            f"Use 0 to disable smoothing."
        )


def sigmoid_cross_entropy(
    multi_class_labels,
    logits,
    weights=1.0,
    label_smoothing=0,
    reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
):
    """Weighted sigmoid cross-entropy (``tf.nn.sigmoid_cross_entropy_with_logits``).

    With ``label_smoothing > 0`` the labels become
    ``labels * (1 - label_smoothing) + 0.5 * label_smoothing``.

    Args:
        multi_class_labels: 0/1 (or soft) labels, same shape as ``logits``.
        logits: Unscaled log-odds, e.g. shape ``[batch_size, num_classes]``.
        weights: Scalar or tensor broadcastable to the loss (see module docstring).
        label_smoothing: Value in ``[0, 1]``; 0 disables smoothing.
        reduction: A `Reduction` or its string value.

    Returns:
        The weighted loss (scalar unless ``reduction`` is ``Reduction.NONE``).

    Raises:
        ValueError: If the shapes of ``multi_class_labels`` and ``logits`` differ,
            ``label_smoothing`` is outside ``[0, 1]``, ``weights`` cannot be
            broadcast, or ``reduction`` is invalid.

    Example:

        >>> round(float(sigmoid_cross_entropy([[1.0, 0.0]], [[0.0, 0.0]])), 4)  # log(2)
        0.6931
    """
    _check_label_smoothing(label_smoothing)
    with tf.name_scope("sigmoid_cross_entropy_loss"):
        logits = _to_float_tensor(logits, "logits")
        labels = tf.cast(_require(multi_class_labels, "multi_class_labels"), logits.dtype)
        _assert_same_shape(logits, "logits", labels, "multi_class_labels")
        if not isinstance(label_smoothing, numbers.Real) or label_smoothing > 0:
            smoothing = tf.cast(label_smoothing, logits.dtype)
            labels = labels * (1.0 - smoothing) + 0.5 * smoothing
        losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
        return compute_weighted_loss(losses, weights, reduction=reduction)


def softmax_cross_entropy(
    onehot_labels,
    logits,
    weights=1.0,
    label_smoothing=0,
    reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
):
    """Weighted softmax cross-entropy on one-hot labels.

    The element-wise loss has shape ``[batch_size]`` (one value per example), so
    ``weights`` should be a scalar or have shape ``[batch_size]``. With
    ``label_smoothing > 0`` the labels become
    ``onehot_labels * (1 - label_smoothing) + label_smoothing / num_classes``.
    No gradient flows into the labels.

    Args:
        onehot_labels: One-hot (or soft) labels, shape ``[batch_size, num_classes]``.
        logits: Unscaled scores, shape ``[batch_size, num_classes]``.
        weights: Scalar or ``[batch_size]`` tensor.
        label_smoothing: Value in ``[0, 1]``; 0 disables smoothing.
        reduction: A `Reduction` or its string value.

    Returns:
        The weighted loss (scalar unless ``reduction`` is ``Reduction.NONE``,
        in which case it has shape ``[batch_size]``).

    Raises:
        ValueError: If the shapes of ``onehot_labels`` and ``logits`` differ,
            ``label_smoothing`` is outside ``[0, 1]``, ``weights`` cannot be
            broadcast, or ``reduction`` is invalid.

    Example:

        >>> round(float(softmax_cross_entropy([[0.0, 1.0]], [[0.0, 0.0]])), 4)  # log(2)
        0.6931
    """
    _check_label_smoothing(label_smoothing)
    with tf.name_scope("softmax_cross_entropy_loss"):
        logits = _to_float_tensor(logits, "logits")
        labels = tf.cast(_require(onehot_labels, "onehot_labels"), logits.dtype)
        _assert_same_shape(logits, "logits", labels, "onehot_labels")
        if not isinstance(label_smoothing, numbers.Real) or label_smoothing > 0:
            smoothing = tf.cast(label_smoothing, logits.dtype)
            num_classes = tf.cast(tf.shape(labels)[-1], logits.dtype)
            labels = labels * (1.0 - smoothing) + smoothing / num_classes
        labels = tf.stop_gradient(labels)
        losses = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        return compute_weighted_loss(losses, weights, reduction=reduction)


def sparse_softmax_cross_entropy(
    labels,
    logits,
    weights=1.0,
    reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
):
    """Weighted softmax cross-entropy on integer class ids.

    Args:
        labels: Class ids in ``[0, num_classes)``, shape ``[batch_size]`` or
            ``[batch_size, 1]`` (the trailing 1 is squeezed). Non-int32/int64
            dtypes are cast to int64.
        logits: Unscaled scores, shape ``[batch_size, num_classes]``.
        weights: Scalar, ``[batch_size]`` or ``[batch_size, 1]`` tensor.
        reduction: A `Reduction` or its string value.

    Returns:
        The weighted loss (scalar unless ``reduction`` is ``Reduction.NONE``,
        in which case it has shape ``[batch_size]``).

    Raises:
        ValueError: If ``labels`` does not have rank ``rank(logits) - 1`` (after
            squeezing a trailing 1) or its shape does not match the leading
            dimensions of ``logits``, if ``weights`` cannot be broadcast, or
            ``reduction`` is invalid.

    Example:

        >>> round(float(sparse_softmax_cross_entropy([1], [[0.0, 0.0]])), 4)  # log(2)
        0.6931
    """
    with tf.name_scope("sparse_softmax_cross_entropy_loss"):
        logits = _to_float_tensor(logits, "logits")
        labels = tf.convert_to_tensor(_require(labels, "labels"))
        if labels.dtype not in (tf.int32, tf.int64):
            labels = tf.cast(labels, tf.int64)
        l_rank, g_rank = labels.shape.rank, logits.shape.rank
        if l_rank is not None and g_rank is not None:
            if l_rank == g_rank and labels.shape[-1] == 1:
                labels = tf.squeeze(labels, -1)
            if labels.shape.rank != g_rank - 1 or not labels.shape.is_compatible_with(
                logits.shape[:-1]
            ):
                raise ValueError(
                    f"`labels` shape {_shape_str(labels.shape)} does not match `logits` "
                    f"shape {_shape_str(logits.shape)}. `labels` must hold one class id "
                    f"per example, with shape `logits.shape[:-1]` (e.g. [batch_size] or "
                    f"[batch_size, 1] for logits [batch_size, num_classes]). For one-hot "
                    f"labels use `softmax_cross_entropy` instead."
                )
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        return compute_weighted_loss(losses, weights, reduction=reduction)
