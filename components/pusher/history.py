"""The push history of one model: `<serving_base>/<model_name>/_pushes.jsonl`.

One JSON line per change to the served versions: a push or a rollback. It is what the
pusher reads to number versions (a number is never reused, even after pruning), to find an
already-published model by its fingerprint, and to know which versions a rollback refers to.
TF Serving ignores the file: its name is not an integer.

Example:
    >>> entries = read_history("/srv/models/chicago_taxi")
    >>> [(e.event, e.version) for e in entries]
    [('push', 1), ('push', 2), ('rollback', 3)]
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import logging
from collections.abc import Iterable
from typing import Any

import tensorflow as tf

from components.artifacts import io, serving

__all__ = ["HistoryEntry", "HistoryEvent", "append_history", "history_path", "read_history",
           "utc_now"]

_LOGGER = logging.getLogger(__name__)


class HistoryEvent(enum.StrEnum):
    """What changed the served versions: a pushed model, or a rollback to an older version."""

    PUSH = "push"
    ROLLBACK = "rollback"


@dataclasses.dataclass(frozen=True, kw_only=True)
class HistoryEntry:
    """One line of the history.

    Attributes:
        event: PUSH or ROLLBACK.
        version: The version the event published.
        fingerprint: The content fingerprint of that version (see `fingerprint.py`).
        time: When, as an ISO 8601 UTC string.
        model_uri: PUSH: the model artifact the version came from.
        source_version: ROLLBACK: the older version whose content was republished.
        rolled_back_from: ROLLBACK: the latest version before the rollback.
        pruned: Versions deleted after the event (beyond `keep_versions`).
    """

    event: HistoryEvent
    version: int
    fingerprint: str
    time: str
    model_uri: str | None = None
    source_version: int | None = None
    rolled_back_from: int | None = None
    pruned: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this entry (None fields left out)."""
        value = {"event": str(self.event), "version": self.version,
                 "fingerprint": self.fingerprint, "time": self.time,
                 "model_uri": self.model_uri, "source_version": self.source_version,
                 "rolled_back_from": self.rolled_back_from, "pruned": list(self.pruned)}
        return {k: v for k, v in value.items() if v is not None}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> HistoryEntry:
        """Parses what `to_json` writes."""
        return cls(event=HistoryEvent(value["event"]), version=int(value["version"]),
                   fingerprint=str(value["fingerprint"]), time=str(value["time"]),
                   model_uri=value.get("model_uri"), source_version=value.get("source_version"),
                   rolled_back_from=value.get("rolled_back_from"),
                   pruned=tuple(value.get("pruned", ())))


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string, e.g. '2026-05-01T12:00:00.123+00:00'."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def history_path(model_base_uri: str) -> str:
    """`<model_base_uri>/_pushes.jsonl`."""
    return io.join(model_base_uri, serving.HISTORY_FILE)


def read_history(model_base_uri: str) -> list[HistoryEntry]:
    """The entries of a model's history, oldest first; [] if there is none.

    A line that does not parse is skipped with a warning: the history helps, it does not
    decide what is served (the version folders do).
    """
    path = history_path(model_base_uri)
    if not tf.io.gfile.exists(path):
        return []
    with tf.io.gfile.GFile(path, "r") as f:
        lines = f.read().splitlines()
    entries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entries.append(HistoryEntry.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError) as error:
            _LOGGER.warning("Skipping line %d of %s, which is not a history entry: %s",
                            number, path, error)
    return entries


def append_history(model_base_uri: str, entries: Iterable[HistoryEntry]) -> None:
    """Appends entries to the history, rewriting the file atomically.

    Object stores cannot append, so the file is read, extended and written to a temporary
    name that is renamed over it: a reader never sees half a line. Two writers at the same
    moment may lose one's line; the version folders, not the history, are what is served.
    """
    path = history_path(model_base_uri)
    text = ""
    if tf.io.gfile.exists(path):
        with tf.io.gfile.GFile(path, "r") as f:
            text = f.read()
        if text and not text.endswith("\n"):
            text += "\n"
    text += "".join(json.dumps(e.to_json()) + "\n" for e in entries)
    io.write_text_atomic(path, text)
