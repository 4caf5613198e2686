"""Timing helpers the benchmarks share: CPU snapshots, other processes' load, a train timer.

(The legacy peers run under TensorFlow 2.15 in their own venv and keep their own copies of
`cpu_snapshot`, so that they import nothing from this project.)
"""

from __future__ import annotations

import contextlib
import os
import time

import keras

import estimator_lib as el


def cpu_snapshot() -> tuple[float, float | None, float]:
    """(wall s, CPU-busy s of the whole machine or None, CPU s of this process)."""
    wall, times = time.perf_counter(), os.times()
    busy = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:9]]
        busy = (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")
    return wall, busy, times.user + times.system


def foreign_load(start, end) -> float | None:
    """Cores kept busy by *other* processes between two snapshots (noise indicator)."""
    if start[1] is None or end[1] is None or end[0] <= start[0]:
        return None
    return max(0.0, ((end[1] - start[1]) - (end[2] - start[2])) / (end[0] - start[0]))


class EstimatorTimer(el.Hook):
    """Times the loops after the first `warmup` steps of one train() call (see bench/README).

    Example:
        >>> timer = EstimatorTimer(warmup=300, batch_size=256)
        >>> estimator.train(input_fn, hooks=[timer], steps=2300)
        >>> timer.rate()  # examples/s after the warm-up
    """

    def __init__(self, warmup: int, batch_size: int):
        self.warmup = warmup
        self.batch_size = batch_size
        self.start_step = self.c0 = self.s0 = self.c1 = self.s1 = None

    def after_create(self, run_context):
        self.start_step = run_context.global_step

    def after_run(self, run_context, run_values):
        now, done = cpu_snapshot(), run_context.global_step - self.start_step
        if self.c0 is None and done >= self.warmup:
            self.c0, self.s0 = now, done
        self.c1, self.s1 = now, done

    def next_boundary(self, global_step):
        # Makes a loop end right after the warm-up (a no-op at default settings, whose
        # loops end at multiples of 100 anyway).
        if self.start_step is None or global_step >= self.start_step + self.warmup:
            return None
        return self.start_step + self.warmup

    def rate(self) -> float:
        return (self.s1 - self.s0) * self.batch_size / (self.c1[0] - self.c0[0])


class KerasTimer(keras.callbacks.Callback):
    """Times from the first execution at or after `warmup` to the epoch end.

    Overrides only on_train_batch_begin and on_epoch_end, so Keras keeps dispatching its
    batch-end callbacks asynchronously (as it does with no callbacks).
    """

    def __init__(self, warmup: int, batch_size: int):
        super().__init__()
        self.warmup = warmup
        self.batch_size = batch_size
        self.c0 = self.s0 = self.c1 = None

    def on_train_batch_begin(self, batch, logs=None):
        if self.c0 is None and batch >= self.warmup:
            self.c0, self.s0 = cpu_snapshot(), batch

    def on_epoch_end(self, epoch, logs=None):
        self.c1 = cpu_snapshot()

    def rate(self, total_steps: int) -> float:
        return (total_steps - self.s0) * self.batch_size / (self.c1[0] - self.c0[0])
