"""Lookup tables owned by feature columns: created once, outside tf.function.

A column's model_fn is traced many times (per mode, per loop, per export), but its
vocabulary table is created once, in eager mode under `tf.init_scope()`, and cached on
the (frozen) column object. Each trace that uses the table registers it with
`_variables.track_resource`, so a SavedModel export saves it (and the vocabulary file,
an asset of its initializer).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import tensorflow as tf

from estimator_lib import _variables

_ATTRIBUTE = "_lookup_table"
_LOCK = threading.Lock()


def lookup_table(column, make_table: Callable[[], tf.lookup.StaticHashTable]):
    """The column's table: made by `make_table()` on first use, then reused and tracked."""
    with tf.init_scope():
        if tf.executing_eagerly():
            table = column.__dict__.get(_ATTRIBUTE)
            if table is None:
                with _LOCK:  # Two threads tracing at once must not make two tables.
                    table = column.__dict__.get(_ATTRIBUTE)
                    if table is None:
                        table = make_table()
                        object.__setattr__(column, _ATTRIBUTE, table)
        else:  # A legacy graph owns its resources: one table per use.
            table = make_table()
    _variables.track_resource(table)
    return table


class TableOwner:
    """Mixin for columns with a cached table: copies and pickles leave the table behind."""

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop(_ATTRIBUTE, None)
        return state
