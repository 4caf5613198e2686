"""Sharded, counted, atomic writes of record batches from a Beam pipeline.

`WriteShards` takes `(key, [record, ...])` elements (a key per output folder, e.g. a split
name) and streams them into one temporary file per key and bundle, in a staging folder,
without grouping the data (memory stays flat in the number of records). Each file's record
count comes back in a manifest. After the pipeline, `publish_shards` checks the counts
against what the caller expected (a step that silently wrote nothing fails here) and renames
the files to their final names, `<prefix>-00000-of-00002<suffix>`.

Files from retried bundles never reach the manifest, so they are never published.

Example:
    >>> _ = batches | WriteShards(staging, ShardFormat.TFRECORD_GZIP, manifest_path)
    >>> # after the pipeline has run:
    >>> published = publish_shards(read_manifest(manifest_path), {"train": train_dir},
    ...                            expected={"train": 1200}, prefix="data",
    ...                            shard_format=ShardFormat.TFRECORD_GZIP)
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
import zlib
from collections.abc import Iterable, Mapping, Sequence

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows

from components import artifacts
from components.artifacts import io
from components.common.tfrecord import encode_records

__all__ = ["CountMismatchError", "ShardFile", "ShardFormat", "WriteShards", "publish_shards",
           "read_manifest"]


class CountMismatchError(RuntimeError):
    """A pipeline step wrote a different number of records than the step before it produced."""


class ShardFormat(enum.StrEnum):
    """How records are stored: gzip TFRecord (bytes records) or JSON lines (str records)."""

    TFRECORD_GZIP = "tfrecord_gzip"
    JSON_LINES = "jsonl"

    @property
    def suffix(self) -> str:
        return {ShardFormat.TFRECORD_GZIP: artifacts.EXAMPLES_SUFFIX,
                ShardFormat.JSON_LINES: artifacts.QUARANTINE_SUFFIX}[self]


@dataclasses.dataclass(frozen=True)
class ShardFile:
    """One file a bundle wrote: its key, its staging path and how many records it holds."""

    key: str
    path: str
    num_records: int


class _ShardWriter:
    """One open staging file."""

    def __init__(self, path: str, shard_format: ShardFormat, compression_level: int):
        self.path = path
        self.num_records = 0
        self._format = shard_format
        self._file = FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED)
        # wbits=31: a gzip stream, what tf.data's GZIP reader expects.
        self._compressor = (zlib.compressobj(compression_level, zlib.DEFLATED, 31)
                            if shard_format is ShardFormat.TFRECORD_GZIP else None)

    def write(self, records: Sequence[bytes] | Sequence[str]) -> None:
        if self._compressor is not None:
            self._file.write(self._compressor.compress(encode_records(records)))
        else:
            self._file.write("".join(f"{r}\n" for r in records).encode("utf-8"))
        self.num_records += len(records)

    def close(self) -> None:
        if self._compressor is not None:
            self._file.write(self._compressor.flush())
        self._file.close()


class _WriteShardsFn(beam.DoFn):
    def __init__(self, staging_dir: str, shard_format: ShardFormat, compression_level: int):
        self._staging_dir = staging_dir
        self._format = shard_format
        self._level = compression_level
        self._writers: dict[str, _ShardWriter] = {}

    def start_bundle(self):
        self._writers = {}

    def process(self, element):
        key, records = element
        if not records:
            return
        writer = self._writers.get(key)
        if writer is None:
            path = io.join(self._staging_dir, key, f"{uuid.uuid4().hex}{self._format.suffix}")
            writer = self._writers[key] = _ShardWriter(path, self._format, self._level)
        writer.write(records)
        beam.metrics.Metrics.counter("shards", f"{self._staging_dir}:{key}").inc(len(records))

    def finish_bundle(self):
        for key, writer in self._writers.items():
            writer.close()
            yield GlobalWindows.windowed_value(ShardFile(key, writer.path, writer.num_records))
        self._writers = {}


def _write_manifest(files: list[ShardFile], path: str) -> int:
    io.write_json_atomic(path, [dataclasses.asdict(f) for f in files])
    return len(files)


class WriteShards(beam.PTransform):
    """Writes `(key, [record, ...])` batches to staging files and a manifest of them.

    Args:
        staging_dir: where the temporary files go (`<staging_dir>/<key>/<uuid><suffix>`).
        shard_format: TFRECORD_GZIP for serialized protos, JSON_LINES for text lines.
        manifest_path: the JSON list of `ShardFile`s written once the files are closed.
        compression_level: zlib level for gzip (1 fastest .. 9 smallest). Default: 6.
    """

    def __init__(self, staging_dir: str, shard_format: ShardFormat, manifest_path: str, *,
                 compression_level: int = 6):
        super().__init__()
        self._staging_dir = staging_dir
        self._format = ShardFormat(shard_format)
        self._manifest_path = manifest_path
        self._level = compression_level

    def expand(self, batches):
        return (batches
                | "WriteFiles" >> beam.ParDo(
                    _WriteShardsFn(self._staging_dir, self._format, self._level))
                | "CollectManifest" >> beam.combiners.ToList()
                | "WriteManifest" >> beam.Map(_write_manifest, self._manifest_path))


def read_manifest(path: str) -> list[ShardFile]:
    """The files a `WriteShards` wrote, read after its pipeline has run.

    Raises:
        CountMismatchError: if there is no manifest (the write step never ran).
    """
    if not io.exists(path):
        raise CountMismatchError(
            f"The shard manifest {path!r} was not written: the write step never ran (was a "
            "PTransform called as a function instead of applied with `|`?).")
    return [ShardFile(**entry) for entry in io.read_json(path)]


def _empty_file(path: str, shard_format: ShardFormat) -> None:
    data = b""
    if shard_format is ShardFormat.TFRECORD_GZIP:
        compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
        data = compressor.compress(b"") + compressor.flush()
    io.write_bytes_atomic(path, data)


def publish_shards(files: Iterable[ShardFile], destinations: Mapping[str, str], *,
                   expected: Mapping[str, int], prefix: str,
                   shard_format: ShardFormat) -> dict[str, list[str]]:
    """Checks the record counts, then renames staging files to their final names.

    Args:
        files: the manifest (`read_manifest`).
        destinations: the final folder of each key; a key with no files gets one empty shard
            so that readers always find a file.
        expected: the records each key must hold (what the step before the write produced).
        prefix: the file name prefix (`data` gives `data-00000-of-00001<suffix>`).
        shard_format: the format the files were written in (gives the suffix).

    Returns:
        {key: [final paths]}.

    Raises:
        CountMismatchError: if a key's files hold a different number of records than
            expected, or files exist for a key without a destination.
    """
    shard_format = ShardFormat(shard_format)
    by_key: dict[str, list[ShardFile]] = {key: [] for key in destinations}
    for file in files:
        if file.key not in by_key:
            raise CountMismatchError(
                f"Shards were written for {file.key!r}, which is not one of the expected "
                f"keys {sorted(destinations)}.")
        by_key[file.key].append(file)
    for key, key_files in by_key.items():
        written = sum(f.num_records for f in key_files)
        if written != expected.get(key, 0):
            raise CountMismatchError(
                f"{written:,} records were written for {key!r}, but the step before the write "
                f"produced {expected.get(key, 0):,}: a pipeline step dropped or duplicated "
                "records (a PTransform called as a function instead of applied with `|` "
                "writes nothing). This is a bug in the pipeline, not in the data.")
    published: dict[str, list[str]] = {}
    for key, key_files in by_key.items():
        folder = destinations[key]
        key_files = sorted(key_files, key=lambda f: f.path)
        count = max(len(key_files), 1)
        names = [io.join(folder, artifacts.shard_name(prefix, i, count, shard_format.suffix))
                 for i in range(count)]
        if key_files:
            for file, name in zip(key_files, names, strict=True):
                io.rename(file.path, name)
        else:
            _empty_file(names[0], shard_format)
        published[key] = names
    return published
