"""TFRecord framing without TensorFlow: encode records for writing, iterate them for reading.

A TFRecord is `uint64 length | masked crc32c(length) | data | masked crc32c(data)`, all
little-endian. This is the format `tf.data.TFRecordDataset` reads; keeping it here lets
Beam workers write and read shards without importing TensorFlow.

Example:
    >>> framed = b"".join(encode_record(r) for r in (b"a", b"bc"))
    >>> list(iter_records(io.BytesIO(framed), path="mem"))
    [b'a', b'bc']
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import google_crc32c

__all__ = ["CorruptRecordError", "encode_record", "encode_records", "iter_records"]

_MASK_DELTA = 0xA282EAD8
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")


class CorruptRecordError(ValueError):
    """A TFRecord file whose framing or checksums are wrong (truncated or damaged)."""


def _masked_crc(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


@functools.lru_cache(maxsize=1 << 16)
def _header(length: int) -> bytes:
    # Record lengths repeat a lot (similar rows serialize to similar sizes): cache headers.
    packed = _LENGTH.pack(length)
    return packed + _CRC.pack(_masked_crc(packed))


def encode_record(data: bytes) -> bytes:
    """Frames one record (the bytes to append to a TFRecord file)."""
    return b"".join((_header(len(data)), data, _CRC.pack(_masked_crc(data))))


def encode_records(records: Iterable[bytes]) -> bytes:
    """Frames many records at once (what `encode_record` gives, concatenated)."""
    header, pack, crc, mask = _header, _CRC.pack, google_crc32c.value, _MASK_DELTA
    parts = []
    append = parts.append
    for data in records:
        value = crc(data)
        append(header(len(data)))
        append(data)
        append(pack((((value >> 15) | (value << 17)) + mask) & 0xFFFFFFFF))
    return b"".join(parts)


def iter_records(stream: BinaryIO, *, path: str) -> Iterator[bytes]:
    """Yields the records of an open TFRecord stream, checking every checksum.

    Args:
        stream: an open binary stream (already decompressed).
        path: the file's name, for error messages.

    Raises:
        CorruptRecordError: if the stream is truncated or a checksum does not match.
    """
    index = 0
    while True:
        header = stream.read(12)
        if not header:
            return
        index += 1
        if len(header) != 12:
            raise CorruptRecordError(
                f"{path!r}: record {index} is truncated (a {len(header)}-byte header).")
        length_bytes = header[:8]
        if _CRC.unpack(header[8:])[0] != _masked_crc(length_bytes):
            raise CorruptRecordError(f"{path!r}: record {index} has a corrupt length header.")
        (length,) = _LENGTH.unpack(length_bytes)
        payload = stream.read(length + 4)
        if len(payload) != length + 4:
            raise CorruptRecordError(f"{path!r}: record {index} is truncated.")
        data = payload[:length]
        if _CRC.unpack(payload[length:])[0] != _masked_crc(data):
            raise CorruptRecordError(f"{path!r}: record {index} fails its data checksum.")
        yield data
