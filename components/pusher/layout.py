"""Where the pusher reads and writes: the artifact and serving layouts, in one place.

Inputs (what the trainer and the evaluator write):

    <model_uri>/serving_model/             a SavedModel taking serialized tf.Example (or
                                           export_saved_model's `<version>/` folders: the
                                           highest is used)
    <model_uri>/trainer_result.json        optional; copied into the push record
    <blessing_uri>/blessing.json           {"blessed": bool, "reasons": [...], "metrics": {...}}
    <examples_uri>/Split-<split>/*.tfrecord.gz   raw tf.Example, for the infra validation

Outputs:

    <pushed_model_uri>/push_record.json    what happened, pushed or not (`PushRecord`)
    <serving_base>/<model_name>/<version>/ TF Serving's layout: one SavedModel per integer
                                           version; TF Serving loads the highest
    <serving_base>/<model_name>/_pushes.jsonl   one JSON line per push and rollback
    <serving_base>/<model_name>/_staging-<version>-<hex>/   a version being copied; renamed
                                           to `<version>/` when complete

TF Serving treats only children whose names parse as integers as versions, so it never sees
`_pushes.jsonl` or a `_staging-*` folder. Every file operation goes through `tf.io.gfile`,
so the serving base and the artifacts may be any URI TensorFlow can open (gs://, s3://, ...).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import tensorflow as tf

__all__ = [
    "BLESSING_FILE",
    "HISTORY_FILE",
    "PUSH_RECORD_FILE",
    "SAVED_MODEL_FILES",
    "SERVING_MODEL_DIR",
    "STAGING_PREFIX",
    "TRAINER_RESULT_FILE",
    "is_local",
    "join",
    "list_versions",
    "model_base",
    "read_json",
    "staging_dir",
    "version_dir",
    "walk_files",
    "write_json_atomic",
    "write_text_atomic",
]

SERVING_MODEL_DIR = "serving_model"
TRAINER_RESULT_FILE = "trainer_result.json"
BLESSING_FILE = "blessing.json"
PUSH_RECORD_FILE = "push_record.json"
HISTORY_FILE = "_pushes.jsonl"
STAGING_PREFIX = "_staging-"
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def is_local(path: str) -> bool:
    """Whether `path` is on the local file system (no `scheme://` prefix)."""
    return "://" not in path


def join(base: str, *parts: str) -> str:
    """Joins with "/" (what every TensorFlow file system and object store understands)."""
    return "/".join([base.rstrip("/"), *parts]) if parts else base


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


def read_json(path: str) -> Any:
    """Reads a JSON file through tf.io.gfile."""
    with tf.io.gfile.GFile(path, "r") as f:
        return json.load(f)


def write_json_atomic(path: str, value: Mapping[str, Any]) -> None:
    """Writes `value` as indented JSON to a temporary name beside `path`, then renames it."""
    write_text_atomic(path, json.dumps(value, indent=2) + "\n")


def write_text_atomic(path: str, text: str) -> None:
    """Writes `text` to a temporary name beside `path`, then renames it over `path`."""
    directory = path.rsplit("/", 1)[0] if "/" in path else "."
    tf.io.gfile.makedirs(directory)
    temporary = join(directory, f"_tmp-{uuid.uuid4().hex}-{path.rsplit('/', 1)[-1]}")
    with tf.io.gfile.GFile(temporary, "w") as f:
        f.write(text)
    tf.io.gfile.rename(temporary, path, overwrite=True)
