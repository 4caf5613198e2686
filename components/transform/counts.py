"""Row counts per split and stage, kept as Beam counters and checked after the run.

Each split's rows are counted where the analyzers read them (`analyzed`), where the transform
reads them (`read`), after tf.Transform (`transformed`) and right before the shards are
written (`written`); the shard manifest then says how many each file holds. A step that
silently writes nothing (a PTransform called as a function instead of applied with `|`, a
filter gone wrong) or a read that lost data shows up as a mismatch, and the run fails
instead of publishing short data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

NAMESPACE = "estimator_pipelines.transform"
STAGES = ("read", "transformed", "written", "analyzed")


def counter_name(split: str, stage: str) -> str:
    return f"{split}/{stage}"


def _rows_in(element) -> int:
    """The rows of a RecordBatch, a `(RecordBatch, ...)` tuple or a `(key, [row, ...])` pair."""
    if isinstance(element, tuple):
        first = element[0]
        if isinstance(first, str) and isinstance(element[1], list):
            return len(element[1])
        element = first
    return element.num_rows


class CountRows(beam.DoFn):
    """Passes elements through, adding their row count to the `<split>/<stage>` counter.

    Args:
        split: The split name.
        stage: One of `STAGES`.
        batched: True when elements are Arrow RecordBatches (or `(RecordBatch, ...)` tuples,
            as TransformDataset emits them, or `(key, [row, ...])` pairs); False when each
            element is one row.
    """

    def __init__(self, split: str, stage: str, *, batched: bool):
        if stage not in STAGES:
            raise ValueError(f"`stage` ({stage!r}) must be one of {STAGES}.")
        self._name = counter_name(split, stage)
        self._batched = batched
        self._counter = None

    def setup(self):
        self._counter = Metrics.counter(NAMESPACE, self._name)

    def process(self, element):
        self._counter.inc(_rows_in(element) if self._batched else 1)
        yield element


class CountSplitRows(beam.DoFn):
    """Counts `(split, RecordBatch)` pairs under `<split>/<stage>`; passes the RecordBatch on.

    Args:
        stage: One of `STAGES`.
    """

    def __init__(self, stage: str):
        if stage not in STAGES:
            raise ValueError(f"`stage` ({stage!r}) must be one of {STAGES}.")
        self._stage = stage

    def process(self, element):
        split, batch = element
        Metrics.counter(NAMESPACE, counter_name(split, self._stage)).inc(batch.num_rows)
        yield batch


@dataclasses.dataclass(frozen=True)
class SplitCounts:
    """The rows one split had at each stage (`analyzed`: 0 if the analyzers did not read it)."""

    read: int
    transformed: int
    written: int
    analyzed: int = 0

    @property
    def rows(self) -> int:
        """The rows the split has: as the transform read it, else as the analyzers did."""
        return self.read or self.analyzed


def query_counts(result: beam.runners.runner.PipelineResult,
                 splits: Iterable[str]) -> dict[str, SplitCounts] | None:
    """Reads the counters back from a finished pipeline, or None if the runner reports none."""
    counters = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    if not counters:
        return None
    totals: dict[str, int] = {}
    for counter in counters:
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[counter.key.metric.name] = totals.get(counter.key.metric.name, 0) + (value or 0)
    return {split: SplitCounts(*(totals.get(counter_name(split, stage), 0) for stage in STAGES))
            for split in splits}


def check_counts(counts: Mapping[str, SplitCounts], expected_files: Mapping[str, int]) -> None:
    """Fails unless every split read some rows and kept all of them through every stage.

    Args:
        counts: Per transformed split, the counted rows; the analyzers' read of a split
            they saw must count the same rows as the transform's.
        expected_files: Per split, how many shard files are on disk after the run.

    Raises:
        RuntimeError: Naming the split and the stage where rows went missing.
    """
    problems = []
    for split, c in counts.items():
        if c.read == 0:
            problems.append(f"split {split!r}: no rows were read (are the shards empty?).")
        elif not c.read == c.transformed == c.written:
            problems.append(f"split {split!r}: read {c.read} rows, transformed {c.transformed}, "
                            f"wrote {c.written}; every stage must keep every row.")
        elif c.analyzed and c.analyzed != c.read:
            problems.append(f"split {split!r}: the analyzers read {c.analyzed} rows, the "
                            f"transform {c.read}; both must read the same rows.")
        elif expected_files.get(split, 0) == 0:
            problems.append(f"split {split!r}: {c.written} rows were counted as written, but no "
                            "shard file is on disk.")
    if problems:
        raise RuntimeError("The transform run lost rows:\n" + "\n".join(f"  - {p}"
                                                                         for p in problems))
