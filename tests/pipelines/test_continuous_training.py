"""Continuous training end to end: spans arrive, runs warm-start, only blessed models are served.

The taxi data is cut into three spans by month; they arrive one after the other, and each
pipeline run (real kfp.local runs of the real steps) takes the newest span, warm-starts from
the latest blessed model, is judged against the served model, and is pushed when blessed. A
fourth span with corrupted labels (tips drawn at random: the label no longer follows from
the trip) is trained on but not pushed, and the served version does not change. A rollback
restores the version before, and the run records say which span made which version.
"""

import csv
import os
import random

import pytest
import yaml

from components.pusher.rollback import rollback
from pipelines import cli
from pipelines.config import load_config
from pipelines.local_run import run_local
from pipelines.records import latest_blessed_model, lineage, list_runs

EXAMPLE_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "chicago_taxi")
MONTHS = {1: range(1, 5), 2: range(5, 9), 3: range(9, 13)}


def _rows_by_month():
    with open(os.path.join(EXAMPLE_DIR, "data", "data.csv"), newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, list(reader)


def _write_span(root, span, header, rows):
    folder = root / "data" / f"span-{span}"
    folder.mkdir(parents=True)
    with open(folder / "trips.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def _assert_span_2_kept_span_1s_company_rows(records):
    """Span 2 starts where span 1 ended for every company both spans' vocabularies hold, in
    the company embedding and the linear weights, wherever the token's id moved."""
    import numpy as np
    import tensorflow as tf

    from components.model.recipe import ModelRecipe

    first, second = records[0]["model_dir"], records[1]["model_dir"]
    end_of_first = tf.train.latest_checkpoint(first)
    checkpoints = tf.train.get_checkpoint_state(second).all_model_checkpoint_paths
    initial = next(c for c in checkpoints if c.endswith("-0"))  # saved before step 1

    def tokens(model_dir):
        path = ModelRecipe.read(model_dir).vocabulary_files()["company"]
        with tf.io.gfile.GFile(path) as f:
            return [line.rstrip("\n") for line in f]

    old, new = tokens(first), tokens(second)
    assert old != new  # the vocabulary changed between the spans
    shared = [t for t in new if t in old and t]
    assert len(shared) > 10
    import estimator_lib as el

    names = [n for n in el.checkpoint.list_variables(end_of_first)
             if "company" in n and "optimizer" not in n]
    assert any("embedding" in n for n in names) and any("linear" in n for n in names), names
    for name in names:
        before = el.checkpoint.load_variable(end_of_first, name)
        after = el.checkpoint.load_variable(initial, name)
        for token in shared:
            np.testing.assert_allclose(after[new.index(token)], before[old.index(token)],
                                       rtol=1e-6, err_msg=f"{name} {token!r}")


def _served_versions(serving):
    return sorted(int(v) for v in os.listdir(serving) if v.isdigit())


@pytest.mark.slow
def test_spans_arrive_models_warm_start_and_only_blessed_ones_are_served(tmp_path, capsys):
    header, rows = _rows_by_month()
    month = header.index("trip_start_month")
    spans = {span: [r for r in rows if r[month] and int(r[month]) in months]
             for span, months in MONTHS.items()}
    with open(os.path.join(EXAMPLE_DIR, "pipeline.yaml")) as f:
        raw = yaml.safe_load(f)
    raw["pipeline"]["root"] = str(tmp_path / "runs")
    raw["data"]["input_pattern"] = str(tmp_path / "data" / "span-{SPAN}" / "*.csv")
    raw["transform"]["spec"] = os.path.abspath(os.path.join(EXAMPLE_DIR, "transform_spec.yaml"))
    raw["model"]["params"] = {"dnn_hidden_units": [16, 8]}
    raw["training"].update(train_steps=300, save_checkpoints_steps=300, warm_start=True)
    raw["evaluation"]["thresholds"] = {"auc": {"lower_bound": 0.7, "max_decrease": 0.03}}
    raw["serving"]["base_dir"] = str(tmp_path / "serving")
    config_path = tmp_path / "pipeline.yaml"
    config_path.write_text(yaml.safe_dump(raw))
    config = load_config(str(config_path))
    serving = tmp_path / "serving" / "chicago_taxi"

    # Spans 1, 2, 3 arrive one after the other; each run is warm-started from the one before.
    for span in (1, 2, 3):
        _write_span(tmp_path, span, header, spans[span])
        before = latest_blessed_model(config.root)
        result = run_local(config)
        assert result.skipped is None
        record = list_runs(config.root)[-1]
        assert record["span"] == span and record["blessed"] and record["pushed"]
        assert record["version"] == span
        assert record["warm_started_from"] == (before["model_uri"] if before else None)
        if span == 1:  # nothing new: the next run is skipped, and says why
            skipped = run_local(config)
            assert skipped.skipped and "span 1 was already run" in skipped.skipped
            assert len(list_runs(config.root)) == 1
    assert _served_versions(serving) == [1, 2, 3]
    _assert_span_2_kept_span_1s_company_rows(list_runs(config.root))

    # Span 4: the labels are corrupted. It is trained on (warm-started) but not pushed.
    rng = random.Random(4)
    tips, fare = header.index("tips"), header.index("fare")
    corrupted = [r[:tips] + [f"{rng.uniform(0, 0.4) * float(r[fare] or 0):.2f}"] + r[tips + 1:]
                 for r in spans[3]]
    _write_span(tmp_path, 4, header, corrupted)
    run_local(config)
    record = list_runs(config.root)[-1]
    assert record["span"] == 4 and record["final_step"] is not None
    assert not record["blessed"] and not record["pushed"]
    assert record["push_outcome"] == "not_blessed"
    assert any(reason.startswith("FAILED auc") for reason in record["blessing_reasons"])
    assert _served_versions(serving) == [1, 2, 3]  # still serving version 3

    # A rollback restores the version before; lineage follows it to the span that made it.
    restored = rollback(str(tmp_path / "serving"), "chicago_taxi")
    assert (restored.source_version, restored.version) == (2, 4)
    assert lineage(config.root, str(tmp_path / "serving"), "chicago_taxi", 4)["run"]["span"] == 2
    assert lineage(config.root, str(tmp_path / "serving"), "chicago_taxi", 3)["run"]["span"] == 3

    # The records answer from the command line too.
    capsys.readouterr()
    assert cli.main(["runs", str(config_path)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 5  # a header and four runs
    assert [line.split()[1] for line in table[1:]] == ["1", "2", "3", "4"]
    assert cli.main(["lineage", "4", str(config_path)]) == 0
    assert capsys.readouterr().out.startswith("Version 4 of 'chicago_taxi': a rollback on ")
    assert cli.main(["lineage", "4", str(config_path), "--json"]) == 0
    assert '"source_version": 2' in capsys.readouterr().out
