"""The metrics log: one JSON line per evaluated checkpoint, written as each one is evaluated.

```
{"step": 200, "checkpoint": ".../model.ckpt-200", "metrics": {"auc": 0.87, ...},
 "time": 1760000000.0, "seconds": 1.9}
```

Each append rewrites the file atomically (object stores cannot append), so a reader sees
every line so far or the previous version, never a torn line. A restarted evaluator reads
the log and skips the steps in it.

Example:
    >>> log = MetricsLog("/runs/1/evaluator/evaluation/metrics.jsonl")
    >>> log.append(CheckpointEvaluation(step=200, checkpoint=path, metrics={"auc": 0.87},
    ...                                 time=time.time(), seconds=1.9))
    >>> [e.step for e in log.read()]
    [100, 200]
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from components.artifacts import io

__all__ = ["CheckpointEvaluation", "MetricsLog"]


@dataclasses.dataclass(frozen=True)
class CheckpointEvaluation:
    """One checkpoint's evaluation: its step, path, metrics, when, and how long it took."""

    step: int
    checkpoint: str
    metrics: Mapping[str, float]
    time: float
    seconds: float

    def to_json(self) -> dict[str, Any]:
        """The evaluation as one JSON object."""
        return {"step": self.step, "checkpoint": self.checkpoint, "metrics": dict(self.metrics),
                "time": round(self.time, 3), "seconds": round(self.seconds, 3)}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> CheckpointEvaluation:
        """Parses what `to_json` wrote."""
        return cls(step=int(value["step"]), checkpoint=value["checkpoint"],
                   metrics=dict(value["metrics"]), time=float(value["time"]),
                   seconds=float(value.get("seconds", 0.0)))


class MetricsLog:
    """The JSON-lines log of checkpoint evaluations at `path`.

    Args:
        path: The log file (`<evaluation_uri>/metrics.jsonl`); created on the first append.

    Example:
        >>> MetricsLog(path).steps()
        {100, 200}
    """

    def __init__(self, path: str):
        self.path = path

    def read(self) -> list[CheckpointEvaluation]:
        """The logged evaluations, in the order written; [] if there is no log yet.

        Raises:
            ValueError: If a line is not a logged evaluation (naming the line).
        """
        if not io.exists(self.path):
            return []
        evaluations = []
        for number, line in enumerate(io.read_text(self.path).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                evaluations.append(CheckpointEvaluation.from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{self.path!r} line {number} is not a checkpoint evaluation "
                                 f"({type(error).__name__}: {error}): {line[:200]!r}") from None
        return evaluations

    def steps(self) -> set[int]:
        """The steps already evaluated."""
        return {evaluation.step for evaluation in self.read()}

    def append(self, evaluation: CheckpointEvaluation) -> None:
        """Adds one line, rewriting the file atomically."""
        lines = [json.dumps(e.to_json(), sort_keys=True) for e in self.read()]
        lines.append(json.dumps(evaluation.to_json(), sort_keys=True))
        io.write_text_atomic(self.path, "\n".join(lines) + "\n")
