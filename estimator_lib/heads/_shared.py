"""`shared`: a head method of tensors that runs once per head and inputs within one
`create_estimator_spec` call (the loss and the EVAL metrics share the checked logits,
labels and per-example loss).
"""

from __future__ import annotations

import functools

from estimator_lib import _per_call


def shared(method):
    """Decorates a head method of tensors so it runs once per head and inputs within a
    `_per_call.scope()`, which `Head.create_estimator_spec` opens: the loss and, in EVAL,
    the metrics both check the logits and labels and compute the per-example loss, and
    sharing those halves the ops a head adds to a trace (and the time to trace them)."""

    @functools.wraps(method)
    def wrapper(self, *args):
        return _per_call.memoized((id(self), method.__name__, *map(id, args)), args,
                                  lambda: method(self, *args))

    return wrapper
