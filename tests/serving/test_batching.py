"""Batcher: concurrent calls merged into one signature call, sliced back per request."""

import threading

import grpc
import numpy as np
import pytest
import tensorflow as tf

from serving import BatchingOptions, ServingError
from serving.batching import Batcher


class FakeSignature:
    """Doubles `x`; records the batch sizes it was called with."""

    key = "fake"

    def __init__(self, per_example=True, fail=False):
        self.calls, self.per_example, self.fail = [], per_example, fail
        self.lock = threading.Lock()

    def __call__(self, tensors):
        x = tensors["x"].numpy()
        with self.lock:
            self.calls.append(len(x))
        if self.fail:
            raise ServingError(grpc.StatusCode.INVALID_ARGUMENT, "bad batch")
        outputs = {"y": 2 * x}
        if not self.per_example:
            outputs["total"] = np.float32(x.sum())
        return outputs


def _concurrently(batcher, values, timeout=20):
    results, errors = [None] * len(values), []
    barrier = threading.Barrier(len(values))

    def call(i):
        barrier.wait()
        try:
            results[i] = batcher.submit({"x": tf.constant(values[i])})
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(values))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results, errors


def test_concurrent_requests_share_batches_and_get_their_own_rows():
    signature = FakeSignature()
    batcher = Batcher(signature, BatchingOptions(max_batch_size=16, batch_timeout_micros=200_000,
                                                 num_batch_threads=1))
    values = [np.full([i % 3 + 1, 2], i, np.float32) for i in range(8)]
    try:
        results, errors = _concurrently(batcher, values)
    finally:
        batcher.close()
    assert not errors
    for value, result in zip(values, results, strict=True):
        np.testing.assert_array_equal(result["y"], 2 * value)
    assert sum(signature.calls) == sum(len(v) for v in values)
    assert len(signature.calls) < len(values)  # Some requests were merged.
    assert max(signature.calls) <= 16


def test_padding_to_allowed_batch_sizes():
    signature = FakeSignature()
    batcher = Batcher(signature, BatchingOptions(max_batch_size=8, allowed_batch_sizes=(4, 8),
                                                 batch_timeout_micros=0))
    try:
        result = batcher.submit({"x": tf.constant(np.ones([3, 2], np.float32))})
    finally:
        batcher.close()
    assert result["y"].shape == (3, 2) and signature.calls == [4]


def test_outputs_without_batch_dimension_turn_batching_off():
    signature = FakeSignature(per_example=False)
    batcher = Batcher(signature, BatchingOptions(max_batch_size=16, batch_timeout_micros=100_000))
    values = [np.full([2, 2], i, np.float32) for i in range(4)]
    try:
        results, errors = _concurrently(batcher, values)
    finally:
        batcher.close()
    assert not errors
    for value, result in zip(values, results, strict=True):
        assert result["total"] == value.sum()  # Each request's own total, not the batch's.


def test_errors_reach_every_caller_and_closed_batchers_run_directly():
    batcher = Batcher(FakeSignature(fail=True), BatchingOptions(batch_timeout_micros=50_000))
    _, errors = _concurrently(batcher, [np.ones([1, 2], np.float32)] * 3)
    assert len(errors) == 3 and all("bad batch" in str(e) for e in errors)
    batcher.close()
    signature = FakeSignature()
    closed = Batcher(signature, BatchingOptions())
    closed.close()
    assert closed.submit({"x": tf.constant(np.ones([2, 2], np.float32))})["y"].shape == (2, 2)


def test_full_queue_is_unavailable():
    running, gate = threading.Event(), threading.Event()

    class Slow(FakeSignature):
        def __call__(self, tensors):
            running.set()
            gate.wait(10)
            return super().__call__(tensors)

    batcher = Batcher(Slow(), BatchingOptions(max_batch_size=1, max_enqueued_batches=1,
                                              num_batch_threads=1, batch_timeout_micros=0))
    one = {"x": tf.constant(np.ones([1, 2], np.float32))}
    threads = [threading.Thread(target=batcher.submit, args=(one,)) for _ in range(2)]
    try:
        threads[0].start()
        assert running.wait(10)  # The first request runs (and blocks) ...
        threads[1].start()
        for _ in range(200):  # ... the second waits in the queue ...
            if batcher._queued_size == 1:
                break
            threading.Event().wait(0.01)
        with pytest.raises(ServingError, match="queue .* is full") as raised:
            batcher.submit(one)  # ... so a third is refused at once.
        assert raised.value.code is grpc.StatusCode.UNAVAILABLE
    finally:
        gate.set()
        for thread in threads:
            thread.join(10)
        batcher.close()


def test_options():
    options = BatchingOptions.from_text("""
        max_batch_size { value: 64 }
        batch_timeout_micros { value: 2000 }
        num_batch_threads { value: 4 }
        allowed_batch_sizes: 32
        allowed_batch_sizes: 64
    """)
    assert options == BatchingOptions(max_batch_size=64, batch_timeout_micros=2000,
                                      num_batch_threads=4, allowed_batch_sizes=(32, 64))
    with pytest.raises(ValueError, match="must equal `max_batch_size`"):
        BatchingOptions(max_batch_size=8, allowed_batch_sizes=(4,))
    with pytest.raises(ValueError, match="`max_batch_size` .* positive"):
        BatchingOptions(max_batch_size=0)
