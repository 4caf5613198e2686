"""The pushed-model artifact: what one pusher run did, `<pushed_model>/push_record.json`.

The versions themselves are published in TF Serving's layout (`serving.py`).

Example:
    >>> read_push_record(pushed_model_uri).outcome
    <PushOutcome.PUSHED: 'pushed'>
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from components.artifacts import io

__all__ = ["PUSH_RECORD_FILE", "PushOutcome", "PushRecord", "read_push_record",
           "write_push_record"]

PUSH_RECORD_FILE = "push_record.json"

RECORD_FORMAT_VERSION = 1


class PushOutcome(enum.StrEnum):
    """How a pusher run ended. Each is a normal outcome: the step succeeds with any of them.

    PUSHED: published as a new version.
    ALREADY_PUSHED: the same content is already published (see the record's `version`);
        nothing changed.
    NOT_BLESSED: the evaluator did not bless the model; nothing changed.
    INFRA_VALIDATION_FAILED: the model failed in a fresh process; nothing changed.
    """

    PUSHED = "pushed"
    ALREADY_PUSHED = "already_pushed"
    NOT_BLESSED = "not_blessed"
    INFRA_VALIDATION_FAILED = "infra_validation_failed"


@dataclasses.dataclass(frozen=True, kw_only=True)
class PushRecord:
    """What a pusher run did, and from what.

    Attributes:
        outcome: How the run ended (`PushOutcome`).
        reason: One readable sentence (or several, joined) on why.
        model_name: The model's name in TF Serving.
        serving_base_uri: The serving root.
        model_uri: The trainer's model artifact the run was given.
        version: PUSHED: the new version; ALREADY_PUSHED: the version with the same content;
            otherwise None.
        destination: `<serving_base>/<model_name>/<version>` for `version`, else None.
        fingerprint: The content fingerprint of the serving model (None if not computed).
        blessing_uri: The blessing artifact, if one was given.
        metrics: The evaluator's metrics from the blessing (or the trainer's, without one).
        blessing_reasons: The evaluator's reasons.
        trainer_result: `trainer_result.json` of the model artifact, if present.
        infra_validation: The infra validation result (`InfraValidationResult.to_json()`),
            if it ran.
        pruned_versions: Versions deleted after the push.
        started_at, finished_at: ISO 8601 UTC times.

    Example:
        >>> record = read_push_record("/pipeline/pusher/pushed_model")
        >>> record.pushed, record.version, record.destination
        (True, 4, '/srv/models/chicago_taxi/4')
    """

    outcome: PushOutcome
    reason: str
    model_name: str
    serving_base_uri: str
    model_uri: str
    version: int | None = None
    destination: str | None = None
    fingerprint: str | None = None
    blessing_uri: str | None = None
    metrics: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    blessing_reasons: tuple[str, ...] = ()
    trainer_result: Mapping[str, Any] | None = None
    infra_validation: Mapping[str, Any] | None = None
    pruned_versions: tuple[int, ...] = ()
    started_at: str = ""
    finished_at: str = ""

    @property
    def pushed(self) -> bool:
        """Whether this run published a new version."""
        return self.outcome is PushOutcome.PUSHED

    def to_json(self) -> dict[str, Any]:
        """The JSON object written to `push_record.json`."""
        return {
            "format_version": RECORD_FORMAT_VERSION,
            "pushed": self.pushed,
            "outcome": str(self.outcome),
            "reason": self.reason,
            "version": self.version,
            "destination": self.destination,
            "model_name": self.model_name,
            "serving_base_uri": self.serving_base_uri,
            "model_uri": self.model_uri,
            "fingerprint": self.fingerprint,
            "blessing_uri": self.blessing_uri,
            "metrics": dict(self.metrics),
            "blessing_reasons": list(self.blessing_reasons),
            "trainer_result": (dict(self.trainer_result) if self.trainer_result is not None
                               else None),
            "infra_validation": (dict(self.infra_validation)
                                 if self.infra_validation is not None else None),
            "pruned_versions": list(self.pruned_versions),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> PushRecord:
        """Parses what `to_json` writes."""
        return cls(
            outcome=PushOutcome(value["outcome"]), reason=value["reason"],
            model_name=value["model_name"], serving_base_uri=value["serving_base_uri"],
            model_uri=value["model_uri"], version=value.get("version"),
            destination=value.get("destination"), fingerprint=value.get("fingerprint"),
            blessing_uri=value.get("blessing_uri"), metrics=value.get("metrics") or {},
            blessing_reasons=tuple(value.get("blessing_reasons", ())),
            trainer_result=value.get("trainer_result"),
            infra_validation=value.get("infra_validation"),
            pruned_versions=tuple(value.get("pruned_versions", ())),
            started_at=value.get("started_at", ""), finished_at=value.get("finished_at", ""))


def read_push_record(pushed_model_uri: str) -> PushRecord:
    """Reads `<pushed_model_uri>/push_record.json`.

    Raises:
        FileNotFoundError: If there is none (the pusher did not finish).
    """
    path = io.join(pushed_model_uri, PUSH_RECORD_FILE)
    if not io.exists(path):
        raise FileNotFoundError(f"No push record at {path!r}: the pusher did not finish.")
    return PushRecord.from_json(io.read_json(path))


def write_push_record(pushed_model_uri: str, record: PushRecord) -> str:
    """Writes `<pushed_model_uri>/push_record.json` atomically; returns its path."""
    path = io.join(pushed_model_uri, PUSH_RECORD_FILE)
    io.write_json_atomic(path, record.to_json())
    return path
