"""ModelManager: which model versions are loaded, and swapping them as the disk changes.

The manager is TF Serving's file-system source plus its availability-preserving manager:
each poll lists the integer version directories under every model's base path, asks the
model's VersionPolicy which of them to serve, loads the new ones, and only then unloads
the versions no longer wanted, so a model never goes without a version while a new one
loads. Requests look servables up in a dict that is replaced, never mutated, so a lookup
needs no lock, and a request that already holds a servable finishes on it even if that
version is unloaded meanwhile.

A failed load is retried as TF Serving retries it (`--max_num_load_retries`, the load retry
interval), and at once when any file of the version changes: a version copied in place,
`saved_model.pb` before its variables, fails its first load and is served once the copy
is complete.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping

import tensorflow as tf

from serving import errors
from serving.batching import BatchingOptions
from serving.model_config import ModelConfig
from serving.servable import Servable, is_saved_model_dir

logger = logging.getLogger("serving")

_VERSION_DIR = re.compile(r"[0-9]{1,18}")  # int64 range, ASCII digits only (as TF Serving).


class VersionState(enum.StrEnum):
    """A version's state, named as TF Serving's ModelVersionStatus.State."""

    START = "START"
    LOADING = "LOADING"
    AVAILABLE = "AVAILABLE"
    UNLOADING = "UNLOADING"
    END = "END"


@dataclasses.dataclass(frozen=True)
class VersionStatus:
    """The state of one version; `error` says why a load failed (state END)."""

    version: int
    state: VersionState
    error: str = ""


def list_versions(base_path: str) -> dict[int, str]:
    """The complete SavedModel version directories under `base_path`: version -> path.

    Entries that are not integers (temporary directories, files) are ignored, as are
    directories without saved_model.pb yet.

    Example:
        >>> list_versions("/serving/taxi")
        {1700000000: '/serving/taxi/1700000000'}
    """
    try:
        names = tf.io.gfile.listdir(base_path)
    except tf.errors.NotFoundError:
        return {}
    versions = {}
    for name in names:
        name = name.rstrip("/")
        if not _VERSION_DIR.fullmatch(name):
            continue
        path = os.path.join(base_path, name)
        if tf.io.gfile.isdir(path) and is_saved_model_dir(path):
            versions[int(name)] = path
    return versions


def _stamp(path: str) -> frozenset:
    """Every file of a version directory with its size and mtime: changes when any does."""
    stamp = set()
    try:
        for directory, _, files in tf.io.gfile.walk(path):
            for name in files:
                file = os.path.join(directory, name)
                try:
                    stat = tf.io.gfile.stat(file)
                except tf.errors.NotFoundError:  # Removed while we walk: next poll sees it.
                    continue
                stamp.add((os.path.relpath(file, path), stat.length, stat.mtime_nsec))
    except tf.errors.OpError:
        pass
    return frozenset(stamp)


@dataclasses.dataclass(frozen=True)
class _Failure:
    """A failed load: the files it saw, how many retries are spent, when the next is due."""

    stamp: frozenset
    retries: int
    retry_at: float


class ModelManager:
    """Loads, serves and unloads model versions.

    Args:
        configs: The models to serve (`serving.ModelConfig`).
        batching: If given, requests to each signature are batched (see serving.batching).
        on_change: Called (without arguments) after versions were loaded or unloaded.
        max_num_load_retries: How often a failed load of unchanged files is retried
            (default 5, as TF Serving); a change to the version's files always brings a
            new attempt, with the retries counted afresh.
        load_retry_interval_s: Seconds between those retries (default 60, as TF Serving);
            they happen on the polls (`poll`, `start_polling`).

    Example:
        >>> manager = ModelManager([ModelConfig("taxi", "/serving/taxi")])
        >>> manager.poll()                    # load what is on disk now
        >>> manager.start_polling(1.0)        # and follow new versions
        >>> servable = manager.resolve("taxi")  # the newest available version
    """

    def __init__(self, configs: Iterable[ModelConfig] = (), *,
                 batching: BatchingOptions | None = None,
                 on_change: Callable[[], None] | None = None,
                 max_num_load_retries: int = 5, load_retry_interval_s: float = 60.0):
        if batching is not None and not isinstance(batching, BatchingOptions):
            raise TypeError(f"`batching` must be serving.BatchingOptions; received {batching!r}.")
        if (not isinstance(max_num_load_retries, int) or isinstance(max_num_load_retries, bool)
                or max_num_load_retries < 0):
            raise ValueError(f"`max_num_load_retries` ({max_num_load_retries!r}) must be an "
                             "integer >= 0.")
        if not load_retry_interval_s >= 0:
            raise ValueError(f"`load_retry_interval_s` ({load_retry_interval_s!r}) must be >= 0.")
        self._batching = batching
        self._on_change = on_change
        self._max_retries = max_num_load_retries
        self._retry_interval_s = load_retry_interval_s
        self._configs: dict[str, ModelConfig] = {}
        self._servables: dict[str, dict[int, Servable]] = {}
        self._status: dict[str, dict[int, VersionStatus]] = {}
        self._failed: dict[tuple[str, int], _Failure] = {}
        self._warned_empty: set[str] = set()
        self._lock = threading.RLock()  # One poll or reload at a time; lookups need none.
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._set_configs(list(configs))

    # Configuration.

    @property
    def configs(self) -> dict[str, ModelConfig]:
        """Model name to its ModelConfig."""
        return dict(self._configs)

    def _set_configs(self, configs: list[ModelConfig]) -> None:
        names = set()
        for config in configs:
            if not isinstance(config, ModelConfig):
                raise TypeError(f"Expected serving.ModelConfig objects; received {config!r}.")
            if config.name in names:
                raise ValueError(f"Model {config.name!r} is configured twice.")
            names.add(config.name)
        self._configs = {c.name: c for c in configs}

    def reload(self, configs: Iterable[ModelConfig]) -> None:
        """Serves exactly `configs` from now on: unloads dropped models, loads new ones.

        Example:
            >>> manager.reload([ModelConfig("taxi", "/serving/taxi", VersionPolicy.all())])
        """
        with self._lock:
            self._set_configs(list(configs))
            for name in set(self._servables) - set(self._configs):
                for version in sorted(self._servables.get(name, {})):
                    self._unload(name, version)
                self._status.pop(name, None)
                self._servables = {k: v for k, v in self._servables.items() if k != name}
            self.poll()
        if self._on_change is not None:
            self._on_change()

    # Polling.

    def poll(self) -> None:
        """One pass over every model: load new versions, then unload unwanted ones."""
        with self._lock:
            changed = False
            for config in list(self._configs.values()):
                try:
                    changed |= self._sync(config)
                except Exception:  # A broken model must not stop the others.
                    logger.exception("Polling model %r failed", config.name)
        if changed and self._on_change is not None:
            self._on_change()

    def start_polling(self, interval_s: float = 1.0) -> None:
        """Polls every `interval_s` seconds in a daemon thread (TF Serving's default: 1 s)."""
        if interval_s <= 0:
            raise ValueError(f"`interval_s` ({interval_s!r}) must be positive.")
        if self._thread is not None:
            return
        self._stop.clear()

        def loop():
            while not self._stop.wait(interval_s):
                self.poll()

        self._thread = threading.Thread(target=loop, name="serving-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops polling and unloads every version."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        with self._lock:
            for name in list(self._servables):
                for version in sorted(self._servables.get(name, {})):
                    self._unload(name, version)

    def _sync(self, config: ModelConfig) -> bool:
        name = config.name
        on_disk = list_versions(config.base_path)
        if not on_disk and name not in self._warned_empty:
            logger.warning("No versions of model %r found under %s (expected integer version "
                           "directories holding a SavedModel).", name, config.base_path)
            self._warned_empty.add(name)
        elif on_disk:
            self._warned_empty.discard(name)
        aspired = set(config.version_policy.select(on_disk))
        loaded = set(self._servables.get(name, {}))
        changed = False
        for version in sorted(aspired - loaded, reverse=True):  # Newest first.
            changed |= self._load(name, version, on_disk[version])
        loaded = set(self._servables.get(name, {}))
        # Availability-preserving: unload only once an aspired version serves (or none is wanted).
        if loaded - aspired and (loaded & aspired or not aspired):
            for version in sorted(loaded - aspired):
                self._unload(name, version)
                changed = True
        statuses = self._status.get(name, {})
        gone = [v for v, s in statuses.items() if s.state is VersionState.END and v not in on_disk]
        if gone:  # Forget versions that ended and left the disk.
            self._status = {**self._status,
                            name: {v: s for v, s in statuses.items() if v not in gone}}
            for version in gone:
                self._failed.pop((name, version), None)
        return changed

    def _load(self, name: str, version: int, path: str) -> bool:
        stamp = _stamp(path)
        failure = self._failed.get((name, version))
        retries = 0
        if failure is not None and failure.stamp == stamp:  # Unchanged since it failed.
            if failure.retries >= self._max_retries or time.monotonic() < failure.retry_at:
                return False
            retries = failure.retries + 1
            logger.info("Retrying the load of model %r version %d (retry %d of %d)", name,
                        version, retries, self._max_retries)
        elif failure is not None:
            logger.info("The files of model %r version %d changed since its load failed; "
                        "loading it again", name, version)
        self._set_status(name, version, VersionState.LOADING)
        start = time.monotonic()
        try:
            servable = Servable.load(name, version, path)
            from serving import warmup

            warmup.run(servable)
            if self._batching is not None:
                servable.enable_batching(self._batching)
        except Exception as exc:
            message = errors.from_exception(exc).message
            left = self._max_retries - retries
            logger.error("Loading model %r version %d from %s failed: %s (%s)", name, version,
                         path, message,
                         f"retrying in {self._retry_interval_s:g} s, {left} retries left, or "
                         "when its files change" if left else
                         "no retries left; it loads again when its files change")
            self._failed[(name, version)] = _Failure(
                stamp, retries, time.monotonic() + self._retry_interval_s)
            self._set_status(name, version, VersionState.END, message)
            return False
        self._failed.pop((name, version), None)
        versions = dict(self._servables.get(name, {}))
        versions[version] = servable
        self._servables = {**self._servables, name: versions}
        self._set_status(name, version, VersionState.AVAILABLE)
        logger.info("Serving model %r version %d (signatures %s), loaded in %.2f s", name,
                    version, sorted(servable.signatures), time.monotonic() - start)
        return True

    def _unload(self, name: str, version: int) -> None:
        versions = dict(self._servables.get(name, {}))
        servable = versions.pop(version, None)
        if servable is None:
            return
        self._set_status(name, version, VersionState.UNLOADING)
        self._servables = {**self._servables, name: versions}  # New requests miss it now.
        servable.close()
        self._set_status(name, version, VersionState.END)
        logger.info("Unloaded model %r version %d", name, version)

    def _set_status(self, name: str, version: int, state: VersionState, error: str = "") -> None:
        statuses = dict(self._status.get(name, {}))
        statuses[version] = VersionStatus(version, state, error)
        self._status = {**self._status, name: statuses}

    # Lookups (lock-free).

    def resolve(self, name: str, version: int | None = None,
                label: str | None = None) -> Servable:
        """The servable for a request: a given version, a labelled one, or the newest.

        Raises:
            ServingError: NOT_FOUND for an unknown model or an unavailable version,
                INVALID_ARGUMENT for an unknown label or both version and label.
        """
        config = self._configs.get(name)
        if config is None:
            raise errors.not_found(f"Servable not found for request: model {name!r} is not "
                                   f"served (served models: {sorted(self._configs)}).")
        versions = self._servables.get(name, {})
        if version is not None and label:
            raise errors.invalid_argument("Set either a version or a version label, not both.")
        if label:
            if label not in config.version_labels:
                raise errors.invalid_argument(
                    f"Unrecognized servable version label {label!r} for model {name!r} "
                    f"(labels: {sorted(config.version_labels)}).")
            version = config.version_labels[label]
        if version is None:
            if not versions:
                raise errors.not_found(
                    f"Servable not found for request: Latest({name}); no version of model "
                    f"{name!r} is available (yet) under {config.base_path}.")
            return versions[max(versions)]
        servable = versions.get(version)
        if servable is None:
            raise errors.not_found(
                f"Servable not found for request: Specific({name}, {version}); available "
                f"versions: {sorted(versions)}.")
        return servable

    def model_status(self, name: str, version: int | None = None,
                     label: str | None = None) -> list[VersionStatus]:
        """The status of every known version of `name` (or of one version).

        Raises:
            ServingError: NOT_FOUND for an unknown model or version.
        """
        config = self._configs.get(name)
        if config is None:
            raise errors.not_found(f"Model {name!r} is not served (served models: "
                                   f"{sorted(self._configs)}).")
        if label:
            if label not in config.version_labels:
                raise errors.invalid_argument(
                    f"Unrecognized servable version label {label!r} for model {name!r}.")
            version = config.version_labels[label]
        statuses = self._status.get(name, {})
        if version is not None:
            if version not in statuses:
                raise errors.not_found(f"Could not find version {version} of model {name!r}.")
            return [statuses[version]]
        if not statuses:
            raise errors.not_found(f"Could not find any versions of model {name!r} under "
                                   f"{config.base_path}.")
        return [statuses[v] for v in sorted(statuses, reverse=True)]

    def available_versions(self) -> Mapping[str, list[int]]:
        """Model name to its available versions, ascending."""
        servables = self._servables
        return {name: sorted(servables.get(name, {})) for name in self._configs}

    def is_ready(self, name: str | None = None) -> bool:
        """Whether `name` (or every configured model) has an available version."""
        names = [name] if name else list(self._configs)
        return bool(names) and all(self._servables.get(n) for n in names)

    def wait_until_available(self, name: str, version: int | None = None,
                             timeout_s: float = 30.0) -> Servable:
        """Blocks until `name` (`version`) serves; returns it. Raises TimeoutError."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self.resolve(name, version)
            except errors.ServingError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"Model {name!r} version {version or 'latest'} was not available "
                        f"within {timeout_s} s.") from None
                time.sleep(0.05)
