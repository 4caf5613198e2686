"""A SavedModel's content fingerprint: what makes a re-push of the same model a no-op."""

from __future__ import annotations

import hashlib

import tensorflow as tf

from components.artifacts import io, serving

__all__ = ["fingerprint"]

_CHUNK = 1 << 20


def fingerprint(saved_model_dir: str) -> str:
    """A SHA-256 over every file of a SavedModel folder: its relative path, size and bytes.

    Two folders get the same fingerprint exactly when they hold the same files with the same
    bytes (saved_model.pb, variables/, assets/, ...), wherever they are; a copy keeps it.

    Args:
        saved_model_dir: The SavedModel folder.

    Returns:
        `"sha256:<64 hex digits>"`.

    Raises:
        FileNotFoundError: If the folder holds no file.

    Example:
        >>> fingerprint("/srv/models/chicago_taxi/3")
        'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
    """
    digest = hashlib.sha256()
    files = list(serving.walk_files(saved_model_dir))
    if not files:
        raise FileNotFoundError(f"{saved_model_dir!r} holds no file to fingerprint.")
    for relative in files:
        path = io.join(saved_model_dir, relative)
        digest.update(f"{relative}\0{tf.io.gfile.stat(path).length}\0".encode())
        with tf.io.gfile.GFile(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"
