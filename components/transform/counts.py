"""Row counts per split and stage, kept as Beam counters and checked after the run.

Each split's rows are counted where the analyzers read them (`analyzed`), where the transform
reads them (`read`), after tf.Transform (`transformed`) and right before the shards are
written (`written`); the shard manifest then says how many each file holds. A step that
silently writes nothing (a PTransform called as a function instead of applied with `|`, a
filter gone wrong) or a read that lost data shows up as a mismatch, and the run fails
instead of publishing short data.

For a class label (a `vocabulary` label, which keeps its class names), the splits the
analyzers did not see also count each label value (`<split>/labels/<value>`), so the step
can say which eval labels the training split never had (`unseen_labels`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

NAMESPACE = "estimator_pipelines.transform"
STAGES = ("read", "transformed", "written", "analyzed")
LABELS = "labels"


def counter_name(split: str, stage: str) -> str:
    return f"{split}/{stage}"


def label_counter_name(split: str, value: str) -> str:
    return f"{split}/{LABELS}/{value}"


class CountSplitRows(beam.DoFn):
    """Counts the rows of `(split, rows)` pairs under `<split>/<stage>`; passes them on.

    `rows` is a RecordBatch or a list of records (one per row).

    Args:
        stage: One of `STAGES`.
    """

    def __init__(self, stage: str):
        if stage not in STAGES:
            raise ValueError(f"`stage` ({stage!r}) must be one of {STAGES}.")
        self._stage = stage

    def process(self, element):
        split, rows = element
        Metrics.counter(NAMESPACE, counter_name(split, self._stage)).inc(
            len(rows) if isinstance(rows, list) else rows.num_rows)
        yield element


class CountLabels(beam.DoFn):
    """Passes `(split, RecordBatch)` pairs through, counting each value of the label column
    of the `splits` named under `<split>/labels/<value>`.

    Args:
        label_key: The label column: class names, one per row.
        splits: The splits whose labels are counted.
    """

    def __init__(self, label_key: str, splits: Iterable[str]):
        self._label_key = label_key
        self._splits = frozenset(splits)

    def process(self, element):
        split, batch = element
        if split in self._splits:
            for value, rows in label_values(batch, self._label_key).items():
                Metrics.counter(NAMESPACE, label_counter_name(split, value)).inc(rows)
        yield element


def label_values(batch: pa.RecordBatch, label_key: str) -> dict[str, int]:
    """{value: rows} of the label column of `batch` (a list column's values are flattened)."""
    column = batch.column(batch.schema.get_field_index(label_key))
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        column = column.flatten()
    return {_text(item["values"]): item["counts"]
            for item in pc.value_counts(column).to_pylist()}


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def unseen_labels(label_counts: Mapping[str, int], classes: Iterable[str]) -> dict[str, int]:
    """{label: rows} of the labels in `label_counts` that are not among `classes`, sorted.

    Example:
        >>> unseen_labels({"Adelie": 30, "Chinstrap": 4}, ["Adelie", "Gentoo"])
        {'Chinstrap': 4}
    """
    known = set(classes)
    return {label: rows for label, rows in sorted(label_counts.items()) if label not in known}


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
    totals = _totals(result)
    if totals is None:
        return None
    return {split: SplitCounts(*(totals.get(counter_name(split, stage), 0) for stage in STAGES))
            for split in splits}


def query_label_counts(result: beam.runners.runner.PipelineResult,
                       splits: Iterable[str]) -> dict[str, dict[str, int]] | None:
    """Per split, {label value: rows} as `CountLabels` counted them; None if the runner
    reports no counters."""
    totals = _totals(result)
    if totals is None:
        return None
    counted = {}
    for split in splits:
        prefix = label_counter_name(split, "")
        counted[split] = {name[len(prefix):]: rows for name, rows in sorted(totals.items())
                          if name.startswith(prefix)}
    return counted


def _totals(result: beam.runners.runner.PipelineResult) -> dict[str, int] | None:
    counters = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    if not counters:
        return None
    totals: dict[str, int] = {}
    for counter in counters:
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[counter.key.metric.name] = totals.get(counter.key.metric.name, 0) + (value or 0)
    return totals


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
