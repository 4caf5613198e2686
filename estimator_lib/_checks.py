"""Run-time checks of tensor values inside traced code."""

from __future__ import annotations

import tensorflow as tf


def none_bad(values: tf.Tensor, bad: tf.Tensor, message: str) -> tf.Tensor:
    """`values`, checked when run to have no element where `bad` is True.

    The error reads `message`, then "First values out of range:" and up to 10 of them.
    String data keeps this one plain Assert op: numeric data would put tf.debugging.Assert
    in a cond, which costs a branch per step and time at every trace.

    Example:
        >>> ids = none_bad(ids, ids < 0, "Column 'a' received negative ids.")
    """
    # gather_nd of `where`: boolean_mask is 27 ops to trace, for a message that is
    # rarely shown.
    first_bad = tf.strings.reduce_join(
        tf.strings.as_string(tf.gather_nd(values, tf.where(bad)[:10])), separator=" ")
    check = tf.debugging.Assert(tf.logical_not(tf.reduce_any(bad)),
                                [f"{message} First values out of range:", first_bad])
    with tf.control_dependencies([check]):
        return tf.identity(values)
