"""Publishing and pruning the versions under `<serving_base>/<model_name>/`.

A version is published whole or not at all. On a local disk the SavedModel is copied into a
staging folder beside the versions (`_staging-<version>-<hex>`, a name TF Serving ignores)
and renamed to `<version>/`, which is atomic. Object stores cannot rename a folder
atomically, so there the files are copied straight into `<version>/` with `saved_model.pb`
last: TF Serving cannot load the version before every other file is in place. (There, two
pushers publishing the same model at the same moment are not guarded against each other.)

Example:
    >>> base = model_base("/srv/models", "chicago_taxi")
    >>> destination = publish_version("/pipeline/model/serving_model", base, version=4)
    >>> prune_versions(base, keep=3, protect={4})
    [1]
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Collection, Iterable

import tensorflow as tf

from components.artifacts import io, serving
from components.pusher.history import HistoryEntry, HistoryEvent

__all__ = ["STALE_STAGING_SECONDS", "VersionExistsError", "next_version", "protected_versions",
           "prune_versions", "publish_version", "remove_stale_staging"]

_LOGGER = logging.getLogger(__name__)


# A staging folder untouched this long belongs to a push that was killed: no copy of a model
# goes this long without writing a file.
STALE_STAGING_SECONDS = 3600.0


class VersionExistsError(FileExistsError):
    """The version folder already exists (another pusher took the number first)."""


def next_version(model_base_uri: str, history: Iterable[HistoryEntry] = ()) -> int:
    """One more than the highest version on disk or in the history; 1 for a new model.

    Counting the history too means a number is never reused after its folder was pruned, so
    a client that cached a version number never gets different content under it.
    """
    versions = [*serving.list_versions(model_base_uri), *(e.version for e in history)]
    return max(versions, default=0) + 1


def publish_version(source_dir: str, model_base_uri: str, version: int) -> str:
    """Copies a SavedModel folder to `<model_base_uri>/<version>/`, whole or not at all.

    Args:
        source_dir: The SavedModel folder to publish.
        model_base_uri: `<serving_base>/<model_name>`; created if missing.
        version: The version number (see `next_version`).

    Returns:
        The new version folder.

    Raises:
        VersionExistsError: If `<version>/` already exists; nothing was changed.
        tf.errors.OpError: If a file could not be copied; the partial copy is removed.

    Example:
        >>> publish_version("/pipeline/model/serving_model", "/srv/models/taxi", 3)
        '/srv/models/taxi/3'
    """
    destination = serving.version_dir(model_base_uri, version)
    if tf.io.gfile.exists(destination):
        raise VersionExistsError(f"Version folder {destination!r} already exists.")
    tf.io.gfile.makedirs(model_base_uri)
    if io.is_local(model_base_uri):
        remove_stale_staging(model_base_uri)
        staging = serving.staging_dir(model_base_uri, version)
        try:
            _copy_tree(source_dir, staging)
            if tf.io.gfile.exists(destination):
                raise VersionExistsError(f"Version folder {destination!r} already exists.")
            tf.io.gfile.rename(staging, destination, overwrite=False)
        except (tf.errors.OpError, VersionExistsError) as error:
            _remove(staging)
            if not isinstance(error, VersionExistsError) and tf.io.gfile.exists(destination):
                raise VersionExistsError(
                    f"Version folder {destination!r} appeared during the copy.") from error
            raise
    else:
        try:
            _copy_tree(source_dir, destination)
        except tf.errors.OpError:
            _remove(destination)
            raise
    return destination


def remove_stale_staging(model_base_uri: str, *,
                         older_than_seconds: float = STALE_STAGING_SECONDS) -> list[str]:
    """Deletes the staging folders of killed pushes under a local model base; returns them.

    A push copies into `_staging-<version>-<hex>/` and renames it when complete; a push
    killed mid-copy leaves it behind. A folder none of whose files changed for
    `older_than_seconds` is such a leftover (a live copy keeps writing); younger ones may be
    another pusher's copy in progress and are left alone.

    Example:
        >>> remove_stale_staging("/srv/models/taxi")
        ['/srv/models/taxi/_staging-2-1a2b3c4d5e6f']
    """
    if not os.path.isdir(model_base_uri):
        return []
    removed, now = [], time.time()
    for name in sorted(os.listdir(model_base_uri)):
        path = os.path.join(model_base_uri, name)
        if not name.startswith(serving.STAGING_PREFIX) or not os.path.isdir(path):
            continue
        newest = max([os.path.getmtime(os.path.join(folder, entry))
                      for folder, folders, files in os.walk(path)
                      for entry in (*folders, *files)] + [os.path.getmtime(path)])
        if now - newest >= older_than_seconds:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
            _LOGGER.warning("Removed %s: the staging folder of a push that did not finish "
                            "(untouched for %.0f s).", path, now - newest)
    return removed


def protected_versions(history: Iterable[HistoryEntry], existing: Collection[int]) -> set[int]:
    """The versions a rollback refers to while the rollback's own version is kept.

    A rollback republishes version S as a new version R; S stays as long as R does, so the
    history keeps pointing at a folder that exists.
    """
    return {e.source_version for e in history
            if e.event is HistoryEvent.ROLLBACK and e.version in existing
            and e.source_version is not None}


def prune_versions(model_base_uri: str, keep: int, protect: Collection[int] = ()) -> list[int]:
    """Deletes all but the newest `keep` versions, never one in `protect`.

    Args:
        model_base_uri: `<serving_base>/<model_name>`.
        keep: How many of the newest versions to keep (at least 1).
        protect: Versions never deleted (the one just pushed, those rollbacks refer to);
            they are kept on top of the newest `keep`.

    Returns:
        The deleted versions, ascending.
    """
    if keep < 1:
        raise ValueError(f"`keep` ({keep!r}) must be at least 1.")
    versions = serving.list_versions(model_base_uri)
    doomed = [v for v in versions[:-keep] if v not in protect]
    for version in doomed:
        _LOGGER.info("Pruning version %d of %s.", version, model_base_uri)
        tf.io.gfile.rmtree(serving.version_dir(model_base_uri, version))
    return doomed


def _copy_tree(source_dir: str, destination: str) -> None:
    """Copies every file, the root's saved_model.pb(txt) last."""
    files = list(serving.walk_files(source_dir))
    if not any(name in files for name in serving.SAVED_MODEL_FILES):
        raise FileNotFoundError(f"{source_dir!r} is not a SavedModel folder: it holds no "
                                f"{' or '.join(serving.SAVED_MODEL_FILES)}.")
    files.sort(key=lambda name: name in serving.SAVED_MODEL_FILES)
    made = set()
    for relative in files:
        target = io.join(destination, relative)
        parent = target.rsplit("/", 1)[0]
        if parent not in made:
            tf.io.gfile.makedirs(parent)
            made.add(parent)
        tf.io.gfile.copy(io.join(source_dir, relative), target, overwrite=False)


def _remove(path: str) -> None:
    try:
        if tf.io.gfile.exists(path):
            tf.io.gfile.rmtree(path)
    except tf.errors.OpError as error:  # Leave it; its name keeps it out of TF Serving's way.
        _LOGGER.warning("Could not remove %s: %s", path, error)

