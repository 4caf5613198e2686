"""Writing the blessing: `<blessing_uri>/blessing.json`, the verdict the pusher reads.

```
{"blessed": true, "reasons": ["PASSED auc: 0.9120 >= lower_bound 0.7.", ...],
 "metrics": {"auc": 0.912, "log_loss": 0.31, ...}}
```

Exactly the keys `components/pusher/blessing.py` reads; the details (every check, the
baseline, the slices) are in the evaluation artifact's `evaluation.json`.

Example:
    >>> write_blessing("/runs/1/evaluator/blessing", validation, analysis.metrics)
    '/runs/1/evaluator/blessing/blessing.json'
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from components.common import io
from components.evaluator.config import BLESSING_FILE
from components.evaluator.validation import Validation

__all__ = ["write_blessing"]


def write_blessing(blessing_uri: str, validation: Validation,
                   metrics: Mapping[str, float | None]) -> str:
    """Writes `blessing.json` atomically; returns its path.

    Args:
        blessing_uri: The blessing artifact folder.
        validation: The verdict and its reasons.
        metrics: The candidate's metrics the verdict was decided on (undefined ones are
            left out).
    """
    path = io.join(blessing_uri, BLESSING_FILE)
    io.makedirs(blessing_uri)
    io.write_json_atomic(path, {
        "blessed": validation.blessed,
        "reasons": list(validation.reasons),
        "metrics": {k: v for k, v in metrics.items()
                    if v is not None and math.isfinite(v)},
    })
    return path
