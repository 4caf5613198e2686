"""File access over Beam's file systems: local paths, gs:// and every scheme Beam knows.

Components take URIs and never assume a local disk, so every read and write in
`components/` goes through these helpers. Writes that others read are atomic: the bytes go
to a temporary name next to the target, which is then renamed over it.

A scheme Beam does not know but TensorFlow does (TF's `ram://`, file systems that
tensorflow-io registers) goes through `tf.io.gfile` instead, so a serving base that TF
Serving can read is one the steps can write. TensorFlow is imported only for those.

Example:
    >>> from components.artifacts import io
    >>> io.write_json_atomic(io.join(uri, "result.json"), {"rows": 3})
    >>> io.read_json(io.join(uri, "result.json"))
    {'rows': 3}
"""

from __future__ import annotations

import gzip
import json
import os
import uuid
from collections.abc import Iterable
from typing import Any

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

__all__ = [
    "delete",
    "exists",
    "is_local",
    "join",
    "makedirs",
    "match",
    "open_for_read",
    "read_bytes",
    "read_json",
    "read_text",
    "rename",
    "temp_name",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_text_atomic",
]


def is_local(path: str) -> bool:
    """Whether `path` is on the local file system (no `scheme://` prefix)."""
    return "://" not in path


def _beam_knows(path: str) -> bool:
    try:
        FileSystems.get_filesystem(path)
    except ValueError:
        return False
    return True


def _gfile():
    import tensorflow as tf

    return tf.io.gfile


def join(base: str, *parts: str) -> str:
    """Joins path components the way the file system of `base` expects."""
    if not parts:
        return base
    if not _beam_knows(base):
        return "/".join([base.rstrip("/"), *parts])
    return FileSystems.join(base, *parts)


def exists(path: str) -> bool:
    """Whether a file (or, locally, a directory) exists at `path`."""
    if not _beam_knows(path):
        return _gfile().exists(path)
    return FileSystems.exists(path)


def match(pattern: str) -> list[str]:
    """The sorted paths of the files that match a glob `pattern`; [] when none match."""
    if not _beam_knows(pattern):
        return sorted(_gfile().glob(pattern))
    results = FileSystems.match([pattern])[0].metadata_list
    return sorted(m.path for m in results)


class _OwningGzipFile(gzip.GzipFile):
    """A GzipFile that closes the stream it reads from (GzipFile leaves it open)."""

    def __init__(self, stream):
        super().__init__(fileobj=stream, mode="rb")
        self._stream = stream

    def close(self):
        try:
            super().close()
        finally:
            self._stream.close()


def open_for_read(path: str, *, compressed: bool | None = None):
    """Opens `path` for binary reading, decompressing gzip.

    The stream is a regular `io.BufferedIOBase` (it can be wrapped in `io.TextIOWrapper`).

    Args:
        path: the file to read.
        compressed: True for gzip, False for none, None (default) for gzip if the name
            ends with `.gz`.
    """
    if compressed is None:
        compressed = path.endswith(".gz")
    if not _beam_knows(path):
        stream = _gfile().GFile(path, "rb")
    else:
        stream = FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    return _OwningGzipFile(stream) if compressed else stream


def read_bytes(path: str) -> bytes:
    """Reads a whole (uncompressed) file."""
    with open_for_read(path, compressed=False) as f:
        return f.read()


def read_text(path: str) -> str:
    """Reads a whole UTF-8 text file."""
    return read_bytes(path).decode("utf-8")


def read_json(path: str) -> Any:
    """Reads a JSON file."""
    return json.loads(read_text(path))


def temp_name(path: str) -> str:
    """A unique temporary name next to `path`, hidden from `*` globs."""
    head, tail = path.rsplit("/", 1) if not _beam_knows(path) else FileSystems.split(path)
    return join(head, f".{tail}.tmp-{uuid.uuid4().hex}")


def rename(source: str, destination: str) -> None:
    """Renames one file, replacing `destination` if it exists (atomically on local disks)."""
    if is_local(destination):
        makedirs(os.path.dirname(destination))
    if not _beam_knows(destination):
        _gfile().rename(source, destination, overwrite=True)
        return
    FileSystems.rename([source], [destination])


def makedirs(path: str) -> None:
    """Creates a local directory and its parents; object stores need none, so a no-op there."""
    if is_local(path) and path:
        os.makedirs(path, exist_ok=True)


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Writes `data` to a temporary file next to `path`, then renames it to `path`.

    Readers see either the old file (or none) or the whole new one, never a partial file.
    """
    temporary = temp_name(path)
    if not _beam_knows(path):
        _gfile().makedirs(path.rsplit("/", 1)[0])
        with _gfile().GFile(temporary, "wb") as f:
            f.write(data)
    else:
        with FileSystems.create(temporary, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            f.write(data)
    rename(temporary, path)


def write_text_atomic(path: str, text: str) -> None:
    """Writes UTF-8 `text` atomically (see `write_bytes_atomic`)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str, value: Any) -> None:
    """Writes `value` as indented JSON, atomically (see `write_bytes_atomic`)."""
    write_text_atomic(path, json.dumps(value, indent=2, sort_keys=False) + "\n")


def delete(paths: Iterable[str]) -> None:
    """Deletes files or directory trees; paths that do not exist are skipped."""
    existing = []
    for path in paths:
        if not _beam_knows(path):
            if _gfile().isdir(path):
                _gfile().rmtree(path)
            elif _gfile().exists(path):
                _gfile().remove(path)
        elif is_local(path):
            if exists(path):
                existing.append(path)
        else:
            # Object stores have no directories: delete the object and everything under
            # the prefix.
            existing.extend(p for p in (path, path.rstrip("/") + "/") if _remote_exists(p))
    if existing:
        FileSystems.delete(existing)


def _remote_exists(path: str) -> bool:
    if path.endswith("/"):
        return bool(FileSystems.match([path + "**"])[0].metadata_list)
    return exists(path)
