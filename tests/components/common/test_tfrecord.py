"""TFRecord framing written here reads back with tf.data, and damage is detected."""

from __future__ import annotations

import io as std_io

import pytest
import tensorflow as tf

from components.common.tfrecord import (
    CorruptRecordError,
    encode_record,
    encode_records,
    iter_records,
)

RECORDS = [b"", b"a", b"x" * 100_000]


def test_tf_data_reads_what_we_frame(tmp_path):
    path = tmp_path / "r.tfrecord"
    path.write_bytes(b"".join(encode_record(r) for r in RECORDS))
    assert [r.numpy() for r in tf.data.TFRecordDataset(str(path))] == RECORDS


def test_batch_framing_equals_one_by_one():
    assert encode_records(RECORDS) == b"".join(encode_record(r) for r in RECORDS)
    assert encode_records([]) == b""


def test_we_read_what_tf_writes(tmp_path):
    path = str(tmp_path / "r.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for record in RECORDS:
            writer.write(record)
    with open(path, "rb") as f:
        assert list(iter_records(f, path=path)) == RECORDS


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[:-3], r"record 2 is truncated"),
    (lambda b: b[:len(encode_record(b"a")) + 5], r"record 2 is truncated \(a 5-byte header\)"),
    (lambda b: b[:-1] + bytes([b[-1] ^ 1]), r"record 2 fails its data checksum"),
    (lambda b: b[:len(encode_record(b"a"))] + b"\x01" + b[len(encode_record(b"a")) + 1:],
     r"record 2 has a corrupt length header"),
])
def test_damage_is_reported(damage, message):
    data = damage(encode_record(b"a") + encode_record(b"bc"))
    with pytest.raises(CorruptRecordError, match=message):
        list(iter_records(std_io.BytesIO(data), path="mem"))
