"""Where pushed models are served: TF Serving's layout under the serving base.

```
<serving_base>/<model_name>/<version>/   TF Serving's layout: one SavedModel per integer
                                         version; TF Serving loads the highest
<serving_base>/<model_name>/_pushes.jsonl    one JSON line per push and rollback
<serving_base>/<model_name>/_staging-<version>-<hex>/   a version being copied; renamed
                                         to `<version>/` when complete
```

TF Serving treats only children whose names parse as integers as versions, so it never sees
`_pushes.jsonl` or a `_staging-*` folder. Folder listings go through `tf.io.gfile` (the
file layer of `io` has no directory listing), so the serving base may be any URI TensorFlow
can open (gs://, s3://, ...).

Example:
    >>> list_versions(model_base("/srv/models", "chicago_taxi"))
    [3, 4, 5]
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import tensorflow as tf

from components.artifacts.io import join

__all__ = [
    "HISTORY_FILE",
    "SAVED_MODEL_FILES",
    "STAGING_PREFIX",
    "list_versions",
    "model_base",
    "staging_dir",
    "version_dir",
    "walk_files",
]

HISTORY_FILE = "_pushes.jsonl"
STAGING_PREFIX = "_staging-"
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def model_base(serving_base_uri: str, model_name: str) -> str:
    """`<serving_base_uri>/<model_name>`: the folder TF Serving's `model_base_path` names."""
    return join(serving_base_uri, model_name)


def version_dir(model_base_uri: str, version: int) -> str:
    """`<model_base_uri>/<version>`."""
    return join(model_base_uri, str(version))


def staging_dir(model_base_uri: str, version: int) -> str:
    """A fresh `<model_base_uri>/_staging-<version>-<hex>` (TF Serving ignores it)."""
    return join(model_base_uri, f"{STAGING_PREFIX}{version}-{uuid.uuid4().hex[:12]}")


def list_versions(model_base_uri: str) -> list[int]:
    """The published versions under a model base, ascending; [] if there is none.

    Only folders whose names are integers count, as in TF Serving: the history file and
    staging folders are not versions.

    Example:
        >>> list_versions("/srv/models/chicago_taxi")
        [3, 4, 5]
    """
    if not tf.io.gfile.isdir(model_base_uri):
        return []
    versions = []
    for name in tf.io.gfile.listdir(model_base_uri):
        name = name.rstrip("/")
        if name.isascii() and name.isdigit() and tf.io.gfile.isdir(version_dir(model_base_uri, int(name))):
            versions.append(int(name))
    return sorted(versions)


def walk_files(root: str) -> Iterator[str]:
    """Yields every file under `root` as a "/"-separated path relative to it, sorted."""
    root = root.rstrip("/")
    found = []
    for directory, _, files in tf.io.gfile.walk(root):
        relative = directory[len(root):].strip("/").replace(os.sep, "/")
        found.extend(f"{relative}/{name}" if relative else name for name in files)
    yield from sorted(found)
