"""Server-side batching: concurrent requests to one signature run as one larger call.

Like TF Serving's `--enable_batching`: requests queue per signature; a batch thread waits
until `max_batch_size` examples are queued or `batch_timeout_micros` passed since the
oldest request, concatenates the inputs along the first dimension, runs the signature
once, and hands every request its slice of the outputs. Batching trades a little latency
at low load for throughput at high load.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
import re
import threading
import time
from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from serving import errors

logger = logging.getLogger("serving")


@dataclasses.dataclass(frozen=True)
class BatchingOptions:
    """How requests are batched (TF Serving's BatchingParameters).

    Args:
        max_batch_size: Most examples in one batch (default 32). A single request larger
            than this runs on its own.
        batch_timeout_micros: How long the oldest queued request waits for more (default
            1000, 1 ms).
        max_enqueued_batches: Queue bound, in batches; a request beyond it gets
            UNAVAILABLE (default 64).
        num_batch_threads: Threads running batches per signature (default 2).
        allowed_batch_sizes: Optional increasing batch sizes, the last equal to
            `max_batch_size`; a batch is padded up to the next one (fewer shapes to run).

    Example:
        >>> BatchingOptions(max_batch_size=64, batch_timeout_micros=2000)
    """

    max_batch_size: int = 32
    batch_timeout_micros: int = 1000
    max_enqueued_batches: int = 64
    num_batch_threads: int = 2
    allowed_batch_sizes: tuple[int, ...] = ()

    def __post_init__(self):
        for field in ("max_batch_size", "max_enqueued_batches", "num_batch_threads"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"`{field}` ({value!r}) must be a positive integer.")
        if not isinstance(self.batch_timeout_micros, int) or self.batch_timeout_micros < 0:
            raise ValueError(
                f"`batch_timeout_micros` ({self.batch_timeout_micros!r}) must be a "
                "non-negative integer.")
        sizes = tuple(self.allowed_batch_sizes)
        if sizes:
            if list(sizes) != sorted(set(sizes)) or sizes[0] < 1:
                raise ValueError(
                    f"`allowed_batch_sizes` ({list(sizes)}) must be increasing positive integers.")
            if sizes[-1] != self.max_batch_size:
                raise ValueError(
                    f"The last of `allowed_batch_sizes` ({sizes[-1]}) must equal "
                    f"`max_batch_size` ({self.max_batch_size}).")
        object.__setattr__(self, "allowed_batch_sizes", sizes)

    @classmethod
    def from_text(cls, text: str) -> BatchingOptions:
        """Reads TF Serving's batching parameters file.

        Example:
            >>> BatchingOptions.from_text('''
            ...     max_batch_size { value: 64 }
            ...     batch_timeout_micros { value: 2000 }
            ...     num_batch_threads { value: 4 }
            ... ''').max_batch_size
            64
        """
        values: dict[str, object] = {}
        allowed = []
        known = {f.name for f in dataclasses.fields(cls)}
        for match in re.finditer(r"(\w+)\s*(?::\s*(\d+)|\{\s*value\s*:\s*(\d+)\s*\})", text):
            key, plain, wrapped = match.group(1), match.group(2), match.group(3)
            number = int(plain if plain is not None else wrapped)
            if key == "allowed_batch_sizes":
                allowed.append(number)
            elif key in known:
                values[key] = number
            else:
                logger.warning("Batching parameter %r is not supported; ignored.", key)
        if allowed:
            values["allowed_batch_sizes"] = tuple(allowed)
        return cls(**values)

    @classmethod
    def from_file(cls, path: str) -> BatchingOptions:
        """Reads a batching parameters file (see `from_text`)."""
        with open(os.fspath(path)) as f:
            return cls.from_text(f.read())


class _Task:
    __slots__ = ("tensors", "size", "key", "enqueued", "done", "outputs", "error")

    def __init__(self, tensors: Mapping[str, tf.Tensor]):
        self.tensors = tensors
        self.size = int(next(iter(tensors.values())).shape[0])
        self.key = tuple((k, tuple(t.shape[1:])) for k, t in sorted(tensors.items()))
        self.enqueued = time.monotonic()
        self.done = threading.Event()
        self.outputs = None
        self.error = None


class Batcher:
    """Batches concurrent calls of one signature.

    Args:
        signature: A `serving.servable.Signature` whose inputs all have a batch dimension.
        options: `BatchingOptions`.
        name: For log messages.

    Example:
        >>> batcher = Batcher(servable.signature("predict"), BatchingOptions())
        >>> outputs = batcher.submit(signature.check_inputs(inputs))  # blocks
        >>> batcher.close()
    """

    def __init__(self, signature, options: BatchingOptions, name: str = ""):
        self._signature = signature
        self._options = options
        self._name = name or signature.key
        self._queue: collections.deque[_Task] = collections.deque()
        self._queued_size = 0
        self._condition = threading.Condition()
        self._closed = False
        self._unbatchable = False
        self._threads = [threading.Thread(target=self._loop, name=f"batch-{self._name}-{i}",
                                          daemon=True)
                         for i in range(options.num_batch_threads)]
        for thread in self._threads:
            thread.start()

    def submit(self, tensors: Mapping[str, tf.Tensor]) -> dict[str, np.ndarray]:
        """Runs the signature on `tensors` as part of a batch; blocks until done."""
        task = _Task(tensors)
        if (self._unbatchable or task.size > self._options.max_batch_size
                or task.size == 0):
            return self._signature(tensors)
        capacity = self._options.max_batch_size * self._options.max_enqueued_batches
        with self._condition:
            if self._closed:  # Unloaded while this request was on its way: run it alone.
                closed = True
            else:
                closed = False
                if self._queued_size + task.size > capacity:
                    raise errors.unavailable(
                        f"The batch queue of {self._name} is full ({self._queued_size} examples "
                        "queued); retry later or raise max_enqueued_batches.")
                self._queue.append(task)
                self._queued_size += task.size
                self._condition.notify_all()
        if closed:
            return self._signature(tensors)
        task.done.wait()
        if task.error is not None:
            raise task.error
        return task.outputs

    def close(self) -> None:
        """Runs what is queued, then stops the batch threads."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=30)

    def _loop(self) -> None:
        timeout = self._options.batch_timeout_micros / 1e6
        limit = self._options.max_batch_size
        while True:
            with self._condition:
                while not self._queue and not self._closed:
                    self._condition.wait()
                if not self._queue:
                    return
                deadline = self._queue[0].enqueued + timeout
                while (not self._closed and self._queue and self._queued_size < limit
                       and (remaining := deadline - time.monotonic()) > 0):
                    self._condition.wait(remaining)
                if not self._queue:
                    continue
                batch = self._take(limit)
            self._run(batch)

    def _take(self, limit: int) -> list[_Task]:
        """Pops the oldest task and the queued tasks of the same shape that fit with it."""
        first = self._queue.popleft()
        batch, total, rest = [first], first.size, collections.deque()
        while self._queue:
            task = self._queue.popleft()
            if task.key == first.key and total + task.size <= limit:
                batch.append(task)
                total += task.size
            else:
                rest.append(task)
        self._queue.extendleft(reversed(rest))
        self._queued_size -= total
        return batch

    def _run(self, batch: list[_Task]) -> None:
        try:
            if len(batch) == 1 and not self._options.allowed_batch_sizes:
                batch[0].outputs = self._signature(batch[0].tensors)
            else:
                self._run_merged(batch)
        except errors.ServingError as exc:
            for task in batch:
                task.error = exc
        except Exception as exc:  # Never leave a caller waiting.
            error = errors.from_exception(exc)
            for task in batch:
                task.error = error
        finally:
            for task in batch:
                task.done.set()

    def _run_merged(self, batch: list[_Task]) -> None:
        total = sum(t.size for t in batch)
        padded = next((s for s in self._options.allowed_batch_sizes if s >= total), total)
        merged = {}
        for name in batch[0].tensors:
            parts = [t.tensors[name] for t in batch]
            if padded > total:  # Pad with copies of the first example.
                parts.append(tf.repeat(parts[0][:1], padded - total, axis=0))
            merged[name] = tf.concat(parts, axis=0) if len(parts) > 1 else parts[0]
        outputs = self._signature(merged)
        if any(np.ndim(v) == 0 or np.shape(v)[0] != padded for v in outputs.values()):
            # Some output is not per example (e.g. a batch mean): batching would be wrong.
            logger.warning("Signature %s has outputs without a batch dimension; batching "
                           "is turned off for it.", self._name)
            self._unbatchable = True
            for task in batch:
                task.outputs = self._signature(task.tensors)
            return
        start = 0
        for task in batch:
            task.outputs = {k: v[start:start + task.size] for k, v in outputs.items()}
            start += task.size
