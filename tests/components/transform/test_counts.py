"""Row counts per stage: a stage that silently writes nothing fails the run."""

import apache_beam as beam
import pyarrow as pa
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from components.transform.counts import (
    CountLabels,
    CountSplitRows,
    SplitCounts,
    check_counts,
    query_counts,
    query_label_counts,
)


def test_counts_come_back_from_the_runner_and_a_lossy_stage_is_caught():
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    rows = (pipeline | beam.Create([("train", [i]) for i in range(10)])
            | "read" >> beam.ParDo(CountSplitRows("read")))
    _ = (rows | beam.Filter(lambda x: x[1][0] % 2 == 0)  # a stage that drops rows
            | "transformed" >> beam.ParDo(CountSplitRows("transformed")))
    # The write stage "called as a function instead of applied": it never runs.
    beam.ParDo(CountSplitRows("written"))
    result = pipeline.run()
    result.wait_until_finish()
    counts = query_counts(result, ["train"])
    assert counts == {"train": SplitCounts(read=10, transformed=5, written=0)}
    with pytest.raises(RuntimeError, match="split 'train': read 10 rows, transformed 5, wrote 0"):
        check_counts(counts, {"train": 1})


@pytest.mark.parametrize("counts, files, error", [
    (SplitCounts(0, 0, 0), 1, "no rows were read"),
    (SplitCounts(5, 5, 4), 1, "read 5 rows, transformed 5, wrote 4"),
    (SplitCounts(5, 5, 5), 0, "no shard file is on disk"),
    (SplitCounts(5, 5, 5, analyzed=4), 1, "the analyzers read 4 rows, the transform 5"),
])
def test_check_counts(counts, files, error):
    with pytest.raises(RuntimeError, match=error):
        check_counts({"eval": counts}, {"eval": files})
    check_counts({"eval": SplitCounts(5, 5, 5)}, {"eval": 1})


def test_stage_names_are_checked():
    with pytest.raises(ValueError, match="`stage` \\('wrote'\\) must be one of"):
        CountSplitRows("wrote")


def test_batches_and_keyed_record_lists_are_counted_by_their_rows_per_split():
    batch = pa.RecordBatch.from_arrays([pa.array([1, 2, 3])], ["x"])
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    tagged = pipeline | beam.Create([("train", batch), ("eval", batch), ("train", batch)])
    _ = tagged | "read" >> beam.ParDo(CountSplitRows("read"))
    _ = (pipeline | "Lists" >> beam.Create([("train", [b"a", b"b"]), ("train", [b"c"])])
         | "written" >> beam.ParDo(CountSplitRows("written")))
    result = pipeline.run()
    result.wait_until_finish()
    counts = query_counts(result, ["train", "eval"])
    assert counts == {"train": SplitCounts(read=6, transformed=0, written=3),
                      "eval": SplitCounts(read=3, transformed=0, written=0)}
    assert counts["eval"].rows == 3
    assert SplitCounts(0, 0, 0, analyzed=7).rows == 7


def test_labels_are_counted_for_the_named_splits_only():
    def batch(labels):
        return pa.RecordBatch.from_arrays([pa.array(labels)], ["label"])

    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    _ = (pipeline
         | beam.Create([("eval", batch(["a", "b", "a"])), ("train", batch(["a", "c"])),
                        ("eval", batch(["c"]))])
         | beam.ParDo(CountLabels("label", ["eval"])))
    result = pipeline.run()
    result.wait_until_finish()
    assert query_label_counts(result, ["eval", "train"]) == {
        "eval": {"a": 2, "b": 1, "c": 1}, "train": {}}
