"""Finding the baseline: the model currently served, which the candidate must not fall behind.

TF Serving serves the highest integer version under `<serving_base>/<model_name>/`; that is
the baseline. Other names there (the pusher's `_pushes.jsonl`, `_staging-*` folders) are
not versions. No version (the first run) means no baseline: change thresholds are skipped.

Example:
    >>> resolve_served_model("/srv/models", "chicago_taxi")
    Baseline(saved_model_dir='/srv/models/chicago_taxi/7', version=7)
"""

from __future__ import annotations

import dataclasses
import os

import tensorflow as tf

from components.artifacts import model

__all__ = ["Baseline", "resolve_baseline_uri", "resolve_served_model"]

_SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


@dataclasses.dataclass(frozen=True)
class Baseline:
    """A SavedModel to compare the candidate with; `version` when it is a served version."""

    saved_model_dir: str
    version: int | None = None


def resolve_served_model(serving_base_uri: str, model_name: str) -> Baseline | None:
    """The highest integer version under `<serving_base_uri>/<model_name>/`, or None.

    Raises:
        FileNotFoundError: If the highest version holds no SavedModel (a broken push).
    """
    base = _join(serving_base_uri, model_name)
    version = _highest_version(base)
    if version is None:
        return None
    path = _join(base, str(version))
    if not _is_saved_model(path):
        raise FileNotFoundError(f"The served version {path!r} holds no saved_model.pb; TF "
                                "Serving could not load it either. Fix or remove it.")
    return Baseline(path, version)


def resolve_baseline_uri(uri: str) -> Baseline:
    """An explicit baseline: a SavedModel folder, a trainer model artifact (its
    `serving_model/`), or a TF Serving model folder (its highest version).

    Raises:
        FileNotFoundError: If `uri` is none of these.

    Example:
        >>> resolve_baseline_uri("/runs/0/trainer/model").saved_model_dir
        '/runs/0/trainer/model/serving_model'
    """
    if _is_saved_model(uri):
        return Baseline(uri)
    nested = _join(uri, model.SERVING_MODEL_DIR)
    if _is_saved_model(nested):
        return Baseline(nested)
    version = _highest_version(uri)
    if version is not None and _is_saved_model(_join(uri, str(version))):
        return Baseline(_join(uri, str(version)), version)
    raise FileNotFoundError(
        f"`baseline_model_uri` ({uri!r}) is not a SavedModel folder, a model artifact with "
        f"{model.SERVING_MODEL_DIR}/, or a folder of integer versions holding SavedModels.")


def _highest_version(base: str) -> int | None:
    if not tf.io.gfile.isdir(base):
        return None
    versions = []
    for name in tf.io.gfile.listdir(base):
        name = name.rstrip("/")
        if name.isascii() and name.isdigit() and tf.io.gfile.isdir(_join(base, name)):
            versions.append(int(name))
    return max(versions, default=None)


def _is_saved_model(path: str) -> bool:
    return any(tf.io.gfile.exists(_join(path, name)) for name in _SAVED_MODEL_FILES)


def _join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts]) if "://" in base else os.path.join(base, *parts)
