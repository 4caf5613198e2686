"""Rollback: serve an older version again, by republishing it as the newest version.

TF Serving serves the highest version, so rolling back copies the chosen version's files to
a new, highest version (atomically, as a push does) instead of deleting anything: the bad
version stays on disk for inspection, and rolling forward again is one more rollback. The
history records it; the pusher keeps the source version as long as the rollback's version
exists, and does not re-push a model whose content is still published (so a pipeline re-run
does not silently undo a rollback).

Example:
    >>> result = rollback("/srv/models", "chicago_taxi")  # to the version before the latest
    >>> result.version, result.source_version, result.rolled_back_from
    (6, 4, 5)
"""

from __future__ import annotations

import dataclasses
import logging

from components.artifacts import serving
from components.pusher.fingerprint import fingerprint
from components.pusher.history import HistoryEntry, HistoryEvent, append_history, read_history
from components.pusher.history import utc_now as _utc_now
from components.pusher.versions import VersionExistsError, next_version, publish_version
from model_names import validate_model_name

__all__ = ["RollbackResult", "rollback"]

_LOGGER = logging.getLogger(__name__)
_PUBLISH_ATTEMPTS = 5


@dataclasses.dataclass(frozen=True)
class RollbackResult:
    """What a rollback published.

    Attributes:
        version: The new (highest) version, a copy of `source_version`.
        source_version: The version whose content is served again.
        rolled_back_from: The version that was the latest before.
        destination: The new version's folder.
        fingerprint: Its content fingerprint.
    """

    version: int
    source_version: int
    rolled_back_from: int
    destination: str
    fingerprint: str


def rollback(serving_base_uri: str, model_name: str, to_version: int | None = None
             ) -> RollbackResult:
    """Republishes an older version of a model as its newest version.

    Args:
        serving_base_uri: The serving root (`<serving_base_uri>/<model_name>/<version>/`).
        model_name: The model's name.
        to_version: The version to serve again. Defaults to None: the version before the
            latest.

    Returns:
        A `RollbackResult`.

    Raises:
        FileNotFoundError: If the model has no published version.
        ValueError: If there is no version to roll back to, `to_version` is not published,
            is the latest or has the latest's content, or `model_name` is not valid.
        TypeError: If `to_version` is not an integer.

    Example:
        >>> rollback("/srv/models", "chicago_taxi", to_version=3).destination
        '/srv/models/chicago_taxi/7'
    """
    validate_model_name(model_name)
    base = serving.model_base(serving_base_uri, model_name)
    versions = serving.list_versions(base)
    if not versions:
        raise FileNotFoundError(f"Model {model_name!r} has no published version under "
                                f"{base!r}; nothing to roll back.")
    latest = versions[-1]
    if to_version is None:
        if len(versions) < 2:
            raise ValueError(f"Model {model_name!r} has one version ({latest}); there is no "
                             "earlier version to roll back to.")
        to_version = versions[-2]
    if isinstance(to_version, bool) or not isinstance(to_version, int):
        raise TypeError(f"`to_version` must be an integer version, got {to_version!r}.")
    if to_version not in versions:
        raise ValueError(f"Version {to_version} of {model_name!r} is not published; the "
                         f"versions under {base!r} are {versions}.")
    if to_version == latest:
        raise ValueError(f"Version {to_version} is already the latest version of "
                         f"{model_name!r}; choose an earlier one of {versions[:-1]}.")

    source = serving.version_dir(base, to_version)
    content = fingerprint(source)
    history = read_history(base)
    known = {e.version: e.fingerprint for e in history}
    if content == (known.get(latest) or fingerprint(serving.version_dir(base, latest))):
        raise ValueError(f"Version {to_version} of {model_name!r} has the same content as the "
                         f"latest version {latest}: it is already served.")
    for _ in range(_PUBLISH_ATTEMPTS):
        version = next_version(base, history)
        try:
            destination = publish_version(source, base, version)
            break
        except VersionExistsError:
            continue
    else:
        raise RuntimeError(f"Could not publish under {base!r}: {_PUBLISH_ATTEMPTS} version "
                           "numbers in a row were taken by other pushers meanwhile.")
    append_history(base, [HistoryEntry(
        event=HistoryEvent.ROLLBACK, version=version, fingerprint=content, time=_utc_now(),
        source_version=to_version, rolled_back_from=latest)])
    _LOGGER.info("Rolled back %s: version %d serves version %d again (was %d).", model_name,
                 version, to_version, latest)
    return RollbackResult(version=version, source_version=to_version, rolled_back_from=latest,
                          destination=destination, fingerprint=content)
