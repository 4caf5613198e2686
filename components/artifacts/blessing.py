"""The blessing artifact: the evaluator's verdict, which the pusher reads.

```
<blessing>/blessing.json   {"blessed": bool, "reasons": [...], "metrics": {...}}
```

The details (every check, the baseline, the slices) are in the evaluation artifact.

Example:
    >>> write_blessing(uri, Blessing(blessed=True, reasons=("PASSED auc ...",),
    ...                              metrics={"auc": 0.94}))
    >>> read_blessing(uri).blessed
    True
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

from components.artifacts import io

__all__ = ["BLESSING_FILE", "Blessing", "read_blessing", "write_blessing"]

BLESSING_FILE = "blessing.json"


@dataclasses.dataclass(frozen=True)
class Blessing:
    """Whether the evaluator blessed a model, why (not), and the metrics it decided on.

    Attributes:
        blessed: True if the model passed every threshold.
        reasons: Every reason, one sentence each (why it was not blessed, or notes).
        metrics: The metrics the verdict was decided on.

    Example:
        >>> Blessing(blessed=False, reasons=("auc 0.61 < 0.70",), metrics={"auc": 0.61})
    """

    blessed: bool
    reasons: tuple[str, ...] = ()
    metrics: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def write_blessing(blessing_uri: str, blessing: Blessing) -> str:
    """Writes `blessing.json` atomically (undefined metrics left out); returns its path."""
    path = io.join(blessing_uri, BLESSING_FILE)
    io.makedirs(blessing_uri)
    io.write_json_atomic(path, {
        "blessed": blessing.blessed,
        "reasons": list(blessing.reasons),
        "metrics": {k: v for k, v in blessing.metrics.items()
                    if v is not None and math.isfinite(v)},
    })
    return path


def read_blessing(blessing_uri: str) -> Blessing:
    """Reads `<blessing_uri>/blessing.json`.

    Raises:
        FileNotFoundError: If there is no `blessing.json` (the evaluator did not finish, or
            the wrong artifact was wired in).
        ValueError: If the file is not JSON, or `blessed` is not a bool, `reasons` not a list
            of strings or `metrics` not an object.

    Example:
        >>> read_blessing("/pipeline/evaluator/blessing").blessed
        True
    """
    path = io.join(blessing_uri, BLESSING_FILE)
    if not io.exists(path):
        raise FileNotFoundError(
            f"No {BLESSING_FILE} in the blessing artifact {blessing_uri!r} (expected "
            f"{path!r}): the evaluator did not finish, or another artifact was wired in.")
    try:
        value = io.read_json(path)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path!r} is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path!r} must hold a JSON object, got {type(value).__name__}.")
    blessed, reasons = value.get("blessed"), value.get("reasons", [])
    metrics = value.get("metrics", {})
    if not isinstance(blessed, bool):
        raise ValueError(f"{path!r}: `blessed` must be true or false, got {blessed!r}.")
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise ValueError(f"{path!r}: `reasons` must be a list of strings, got {reasons!r}.")
    if not isinstance(metrics, dict):
        raise ValueError(f"{path!r}: `metrics` must be an object, got {metrics!r}.")
    return Blessing(blessed=blessed, reasons=tuple(reasons), metrics=metrics)
