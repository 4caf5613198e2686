"""Row counts per split and stage, kept as Beam counters and checked after the run.

Each split's rows are counted where they are read (`read`), after tf.Transform
(`transformed`) and right before the shards are written (`written`). A step that silently
writes nothing (a PTransform called as a function instead of applied with `|`, a filter gone
wrong) shows up as a mismatch, and the run fails instead of publishing short data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

NAMESPACE = "estimator_pipelines.transform"
STAGES = ("read", "transformed", "written")


def counter_name(split: str, stage: str) -> str:
    return f"{split}/{stage}"


class CountRows(beam.DoFn):
    """Passes elements through, adding their row count to the `<split>/<stage>` counter.

    Args:
        split: The split name.
        stage: One of `STAGES`.
        batched: True when elements are Arrow RecordBatches (or `(RecordBatch, ...)` tuples,
            as TransformDataset emits them); False when each element is one row.
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
        if self._batched:
            batch = element[0] if isinstance(element, tuple) else element
            self._counter.inc(batch.num_rows)
        else:
            self._counter.inc()
        yield element


@dataclasses.dataclass(frozen=True)
class SplitCounts:
    """The rows one split had at each stage."""

    read: int
    transformed: int
    written: int


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
        counts: Per split, the counted rows.
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
        elif expected_files.get(split, 0) == 0:
            problems.append(f"split {split!r}: {c.written} rows were counted as written, but no "
                            "shard file is on disk.")
    if problems:
        raise RuntimeError("The transform run lost rows:\n" + "\n".join(f"  - {p}"
                                                                         for p in problems))
