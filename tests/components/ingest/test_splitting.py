"""Hash splitting: fixed buckets (the same in every process), ratios, keys."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from components.ingest.splitting import NUM_BUCKETS, SplitAssigner, key_fingerprints


def test_buckets_are_fixed_values():
    # Golden values: CRC-32 and the mixer are defined bit for bit, so these never change
    # between runs, processes or machines (Python's hash() would).
    assert SplitAssigner({"a": 1}).buckets([b"", b"a", b"row 1", b"1380593700"]).tolist() == [
        0, 5047, 3145, 9321]


@pytest.mark.parametrize("splits", [{"train": 80, "eval": 20},
                                    {"train": 0.7, "eval": 0.2, "test": 0.1},
                                    {"a": 1, "b": 1}])
def test_ratios(splits):
    assigner = SplitAssigner(splits)
    assigned = assigner.assign([f"row {i}".encode() for i in range(50_000)])
    shares = np.bincount(assigned, minlength=len(splits)) / len(assigned)
    weights = np.array([splits[name] for name in assigner.names], dtype=float)
    np.testing.assert_allclose(shares, weights / weights.sum(), atol=0.01)
    assert assigner.names == tuple(sorted(splits))


def test_the_order_the_splits_are_given_in_does_not_move_rows():
    # A KFP struct parameter does not keep its keys' order: the same config arrived as
    # {"train", "eval"} in one run and {"eval", "train"} in the next, and 40% of the taxi
    # rows changed split between the two.
    rows = [f"row {i}".encode() for i in range(10_000)]
    forward = SplitAssigner({"train": 80, "eval": 20})
    backward = SplitAssigner({"eval": 20, "train": 80})
    assert forward.names == backward.names == ("eval", "train")
    np.testing.assert_array_equal(forward.assign(rows), backward.assign(rows))
    three = [SplitAssigner(dict(order)) for order in (
        [("a", 1), ("b", 2), ("c", 3)], [("c", 3), ("a", 1), ("b", 2)])]
    np.testing.assert_array_equal(three[0].assign(rows), three[1].assign(rows))


def test_every_bucket_has_a_split():
    assigner = SplitAssigner({"x": 1, "y": 1e-9})
    assert assigner.assign([b"anything"] * 3).tolist() == [0, 0, 0]
    assert set(np.searchsorted(assigner._bounds, np.arange(NUM_BUCKETS), side="right")) <= {0, 1}


def test_key_fingerprints():
    assert key_fingerprints(pa.array([[b"a"], [b"b"]], pa.large_list(pa.large_binary()))) == [
        b"a", b"b"]
    assert key_fingerprints(pa.array([[1], [22]], pa.large_list(pa.int64()))) == [b"1", b"22"]
    assert key_fingerprints(pa.array([[1, 2], [3]], pa.large_list(pa.int64()))) == [
        b"1\x1f2", b"3"]
