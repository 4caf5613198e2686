"""Deterministic hash splitting: the same row (or key) lands in the same split on every run.

A row's fingerprint (its raw CSV text, its TFRecord record, the repr of its Parquet values,
or the value of the split key column) is hashed with CRC-32 (zlib's: the same in every process, run and machine, unlike
Python's `hash`), mixed with a 64-bit finalizer so that similar inputs spread evenly, and
mapped to one of 10,000 buckets. Splits own consecutive bucket ranges in proportion to
their weights, in the order of their names: the order the splits were given in does not
matter (a KFP struct parameter does not keep it, so a run could otherwise split the same
rows differently from the last).

Example:
    >>> assigner = SplitAssigner({"train": 80, "eval": 20})
    >>> assigner.assign([b"row 1", b"row 2", b"row 3"]).tolist()   # split indices
    [0, 0, 0]
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["NUM_BUCKETS", "SplitAssigner", "key_fingerprints"]

NUM_BUCKETS = 10_000


def _mix(values: np.ndarray) -> np.ndarray:
    # splitmix64's finalizer: every input bit affects every output bit.
    z = values.astype(np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z


class SplitAssigner:
    """Maps fingerprints to split indices in proportion to the split weights.

    Args:
        splits: {name: positive weight}. `names` holds them sorted; bucket ranges follow it.
    """

    def __init__(self, splits: Mapping[str, float]):
        self.names = tuple(sorted(splits))
        weights = np.asarray([float(splits[name]) for name in self.names])
        cumulative = np.cumsum(weights) / weights.sum()
        self._bounds = np.round(cumulative * NUM_BUCKETS).astype(np.int64)
        self._bounds[-1] = NUM_BUCKETS

    def buckets(self, fingerprints: Sequence[bytes]) -> np.ndarray:
        """The bucket (0..NUM_BUCKETS-1) of each fingerprint."""
        crcs = np.fromiter((zlib.crc32(f) for f in fingerprints), dtype=np.uint64,
                           count=len(fingerprints))
        return (_mix(crcs) % np.uint64(NUM_BUCKETS)).astype(np.int64)

    def assign(self, fingerprints: Sequence[bytes]) -> np.ndarray:
        """The split index of each fingerprint (an int numpy array)."""
        return np.searchsorted(self._bounds, self.buckets(fingerprints), side="right")


def key_fingerprints(values: pa.Array) -> list[bytes]:
    """The fingerprint of each row's key: its values as text, joined (a list array in)."""
    flat = pc.list_flatten(values)
    lengths = pc.list_value_length(values).fill_null(0).to_numpy(zero_copy_only=False)
    if pa.types.is_large_binary(flat.type) or pa.types.is_binary(flat.type):
        items = flat.to_pylist()
    else:
        items = [str(v).encode("utf-8") for v in flat.to_pylist()]
    if (lengths == 1).all():
        return items
    fingerprints, start = [], 0
    for length in lengths:
        fingerprints.append(b"\x1f".join(items[start:start + length]))
        start += length
    return fingerprints
