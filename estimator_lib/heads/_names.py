"""How a head is named: in error messages, metric keys and TensorFlow name scopes.

Example:
    >>> summary_key("loss", "churn")
    'loss/churn'
"""

from __future__ import annotations

import re


def describe(head) -> str:
    """How errors name a head: `BinaryClassHead` or `BinaryClassHead 'churn'`."""
    kind = type(head).__name__
    return kind if head.name is None else f"{kind} {head.name!r}"


def summary_key(key: str, name: str | None) -> str:
    """tf.estimator's metric key: `key`, suffixed with `/<name>` for a named head."""
    return key if name is None else f"{key}/{name}"


def scope_name(head) -> str:
    """A valid tf.name_scope name for the head's ops."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", head.name or "head")
