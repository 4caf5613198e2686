"""A memo for one model_fn call: tensors computed once per call and inputs.

Tracing costs per op, and model code often computes the same thing twice in one call: a
wide & deep model looks up each categorical column's ids for its linear part and again
for its embeddings; a head checks the labels and computes the per-example loss for the
loss and again for the metrics. Inside `scope()`, `memoized` computes each value once.

Keys name the computation and the identity of its inputs; the inputs are kept with the
value, so their ids stay unique while the scope is open. Outside a scope nothing is
remembered.

Example:
    >>> with scope():
    ...     a = memoized(("ids", id(column), id(x)), x, lambda: column.dense_ids(features))
    ...     b = memoized(("ids", id(column), id(x)), x, lambda: column.dense_ids(features))
    >>> a is b
    True
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Hashable
from typing import Any

_MEMO: contextvars.ContextVar[dict | None] = contextvars.ContextVar("el_per_call", default=None)


@contextlib.contextmanager
def scope():
    """Opens a memo for one call; inside an open one, shares it (the outer call's)."""
    if _MEMO.get() is not None:
        yield
        return
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def memoized(key: tuple[Hashable, ...], inputs: Any, compute: Callable[[], Any]) -> Any:
    """`compute()`, once per `key` while a scope is open (every time outside one).

    Args:
        key: What is computed and from what: names and `id`s of the inputs.
        inputs: The objects whose ids are in `key`; kept alive with the value.
        compute: Computes the value.
    """
    memo = _MEMO.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = (compute(), inputs)
    return memo[key][0]
