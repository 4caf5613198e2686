"""The evaluator end to end on the taxi model: analysis, baseline, blessing, report, KFP."""

import json
import logging
import os
import re
import shutil
import xml.etree.ElementTree as ElementTree
from base64 import b64decode
from collections import Counter

import numpy as np
import pytest
import tensorflow as tf
from kfp.dsl import ClassificationMetrics, Metrics

from components import artifacts
from components.artifacts.blessing import read_blessing
from components.evaluator.executor import run
from components.evaluator.kfp_outputs import log_classification_metrics, log_metrics
from components.evaluator.report import IMAGE_PREFIX
from components.evaluator.validation import NO_THRESHOLDS
from tests.components.evaluator.conftest import make_config, model_dir_with, tensorboard_steps

THRESHOLDS = {"auc": {"lower_bound": 0.7, "max_decrease": 0.01},
              "log_loss": {"upper_bound": 0.6, "max_increase": 0.05},
              "example_count": {"lower_bound": 100}}


def _serve(serving_base: str, version: int, saved_model_dir: str) -> None:
    shutil.copytree(saved_model_dir, os.path.join(serving_base, "taxi", str(version)))


@pytest.fixture(scope="module")
def worse_run(trained, taxi_data, tmp_path_factory):
    """A candidate that stopped at step 0, judged against the trained model (served as v2)."""
    root = tmp_path_factory.mktemp("worse")
    serving_base = str(root / "serving")
    _serve(serving_base, 2, trained.serving_model_dir)
    model_dir = model_dir_with(trained, str(root / "model_dir"), [0], done=0)
    config = make_config(taxi_data, root, model_dir, thresholds=THRESHOLDS,
                         serving_base_uri=serving_base, model_name="taxi")
    return config, run(config)


@pytest.fixture(scope="module")
def good_run(trained, taxi_data, worse_run, tmp_path_factory):
    """The trained model's four checkpoints, judged against a worse served model: v3, the
    step-0 export (the highest version, though v2 is better).

    To save a minute of the default run, its output starts with the trainer's export of
    step 300 as `candidate/`, as a retried evaluator finds its own export; `worse_run`
    exercises the export itself.
    """
    root = tmp_path_factory.mktemp("good")
    candidate = root / "evaluation" / "candidate"
    shutil.copytree(trained.serving_model_dir, candidate / "serving_model")
    (candidate / "export.json").write_text(json.dumps({"step": 300}))
    serving_base = str(root / "serving")
    _serve(serving_base, 2, trained.serving_model_dir)
    _serve(serving_base, 3, os.path.join(worse_run[1].paths["candidate"], "serving_model"))
    os.makedirs(os.path.join(serving_base, "taxi", "_staging-4-0f0f"))
    model_dir = model_dir_with(trained, str(root / "model_dir"), [0, 100, 200, 300], done=300)
    config = make_config(taxi_data, root, model_dir, thresholds=THRESHOLDS,
                         serving_base_uri=serving_base, model_name="taxi",
                         slices=["payment_type", "trip_start_hour"])
    return config, run(config)


def _raw_feature(taxi_data, key):
    files = artifacts.examples_files(taxi_data.raw_examples_uri, "eval")
    values = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        feature = tf.train.Example.FromString(record.numpy()).features.feature[key]
        values.append(feature.bytes_list.value[0].decode() if feature.bytes_list.value
                      else feature.int64_list.value[0])
    return values


def test_a_better_candidate_is_blessed_with_every_check_passed(good_run):
    config, result = good_run
    assert result.blessed and result.final_step == 300
    assert result.baseline["version"] == 3
    assert result.baseline["saved_model_dir"].endswith(os.path.join("taxi", "3"))
    assert all(reason.startswith("PASSED") for reason in result.reasons)
    assert len(result.reasons) == 5
    gain = result.metrics["auc"] - result.baseline["metrics"]["auc"]
    assert gain > 0.3  # the step-0 model is near chance
    assert f"changed by +{gain:.4f} against the baseline" in result.reasons[1]


def test_final_metrics_agree_with_the_estimators_evaluation(good_run):
    """The same model scored two ways: the exported serving model plus the transform
    graph's label (the eval model) over RAW examples with the numpy metrics, and the
    Estimator over the transformed ones with its streaming metrics."""
    _, result = good_run
    estimator = result.evaluations[-1].metrics
    assert result.metrics["example_count"] == 600
    assert result.metrics["accuracy"] == pytest.approx(estimator["accuracy"], abs=1e-6)
    assert result.metrics["auc"] == pytest.approx(estimator["auc"], abs=2e-3)  # exact vs binned
    assert result.metrics["log_loss"] == pytest.approx(estimator["loss"], abs=1e-4)
    assert result.metrics["precision"] == pytest.approx(estimator["precision"], abs=1e-6)
    assert result.metrics["recall"] == pytest.approx(estimator["recall"], abs=1e-6)
    assert result.metrics["label_mean"] == pytest.approx(estimator["label/mean"], abs=1e-6)
    assert result.metrics["prediction_mean"] == pytest.approx(estimator["prediction/mean"],
                                                              abs=1e-5)
    matrix = np.array(result.analysis.confusion_matrix)
    assert matrix.sum() == 600
    assert (matrix[0, 0] + matrix[1, 1]) / 600 == pytest.approx(result.metrics["accuracy"])
    bins = result.analysis.calibration
    assert sum(b.count for b in bins) == 600
    assert sum(b.count * b.label_mean for b in bins if b.count) / 600 == \
        pytest.approx(result.metrics["label_mean"])


def test_slices_partition_the_examples_by_raw_feature_value(good_run, taxi_data):
    _, result = good_run
    for key in ("payment_type", "trip_start_hour"):
        expected = Counter(_raw_feature(taxi_data, key))
        slices = result.analysis.slices[key]
        assert {s.value: int(s.metrics["example_count"]) for s in slices} == dict(expected)
        counts = [s.metrics["example_count"] for s in slices]
        assert counts == sorted(counts, reverse=True)
    cash = next(s for s in result.analysis.slices["payment_type"] if s.value == "Cash")
    assert cash.metrics["label_mean"] < 0.05  # cash tips are not recorded in this data


def test_files_stream_and_summarize_the_evaluation(good_run):
    config, result = good_run
    with open(config.metrics_log_uri) as f:
        assert [json.loads(line)["step"] for line in f] == [0, 100, 200, 300]
    tensorboard = tensorboard_steps(os.path.join(config.model_dir, "eval"), "auc")
    assert sorted(tensorboard) == [0, 100, 200, 300]
    with open(os.path.join(config.evaluation_uri, "evaluation.json")) as f:
        written = json.load(f)
    assert written["blessed"] and written["final_step"] == 300
    assert written["baseline"]["version"] == 3
    assert len(written["analysis"]["roc"]["fpr"]) <= 201
    assert [c["outcome"] for c in written["validation"]["checks"]] == ["PASSED"] * 5
    assert sorted(os.listdir(os.path.join(config.evaluation_uri, "candidate"))) == \
        ["export.json", "serving_model"]
    with open(os.path.join(config.blessing_uri, "blessing.json")) as f:
        blessing = json.load(f)
    assert set(blessing) == {"blessed", "reasons", "metrics"}
    read = read_blessing(config.blessing_uri)  # what the pusher reads
    assert read.blessed and read.reasons == result.reasons
    assert read.metrics["auc"] == result.metrics["auc"]


def test_the_html_report_shows_verdict_plots_and_tables(good_run):
    config, result = good_run
    assert result.paths["report"] == os.path.join(config.evaluation_uri, "report.html")
    with open(result.paths["report"]) as f:
        page = f.read()
    images = re.findall(rf"src='{re.escape(IMAGE_PREFIX)}([A-Za-z0-9+/=]+)'", page)
    # One plot per metric that changes over the steps, then ROC and calibration, each a
    # well-formed SVG with its line.
    changing = {n for n in result.evaluations[0].metrics if n != "global_step"
                and len({e.metrics.get(n) for e in result.evaluations}) > 1}
    assert len(images) == page.count("<img ") == min(len(changing), 9) + 2
    assert "loss" in changing
    for image in images:
        svg = ElementTree.fromstring(b64decode(image))
        assert any(p.get("stroke-width") == "1.6" and "L" in p.get("d")
                   for p in svg.iter("{http://www.w3.org/2000/svg}path"))
    for text in ("Metrics over training steps", "ROC curve and calibration", "BLESSED",
                 "baseline (v3)", "Slices by payment_type", "Slices by trip_start_hour",
                 "Confusion matrix", "Credit Card"):
        assert text in page, text


def test_kfp_metrics_and_classification_metrics(good_run, tmp_path):
    _, result = good_run
    metrics = Metrics(name="metrics", uri=str(tmp_path / "m"))
    log_metrics(result, metrics)
    assert metrics.metadata["auc"] == result.metrics["auc"]
    assert metrics.metadata["baseline_auc"] == result.baseline["metrics"]["auc"]
    assert metrics.metadata["blessed"] == 1.0 and metrics.metadata["final_step"] == 300
    assert metrics.metadata["checkpoints_evaluated"] == 4
    classification = ClassificationMetrics(name="cm", uri=str(tmp_path / "c"))
    assert log_classification_metrics(result, classification)
    roc = classification.metadata["confidenceMetrics"]
    assert roc[0]["falsePositiveRate"] == 0.0 and roc[-1]["recall"] == 1.0
    assert all(0.0 <= point["confidenceThreshold"] <= 1.0 for point in roc)
    matrix = classification.metadata["confusionMatrix"]
    assert [c["displayName"] for c in matrix["annotationSpecs"]] == ["not big_tipper", "big_tipper"]
    assert sum(sum(row["row"]) for row in matrix["rows"]) == 600


def test_a_worse_candidate_is_not_blessed_and_every_failure_is_a_reason(worse_run):
    config, result = worse_run
    assert not result.blessed and result.final_step == 0
    assert result.baseline["version"] == 2
    failed = [(c.metric, c.bound) for c in result.validation.failed]
    assert failed == [("auc", "lower_bound"), ("auc", "max_decrease"),
                      ("log_loss", "upper_bound"), ("log_loss", "max_increase")]
    assert result.reasons[0].startswith("FAILED auc: 0.4")
    assert result.reasons[-1] == "PASSED example_count: 600.0000 >= lower_bound 100."
    blessing = read_blessing(config.blessing_uri)
    assert not blessing.blessed and len(blessing.reasons) == 5
    with open(result.paths["report"]) as f:
        assert "NOT_BLESSED" in f.read()


def test_a_restart_resumes_and_no_baseline_or_no_thresholds_say_so(good_run, trained, tmp_path,
                                                                   caplog):
    config, result = good_run
    shutil.copytree(config.evaluation_uri, tmp_path / "evaluation")  # a retried step's output
    empty_base = tmp_path / "serving"
    os.makedirs(empty_base / "taxi")
    caplog.set_level(logging.INFO, logger="components.evaluator")
    first = run(make_config(_data(config), tmp_path, config.model_dir, thresholds=THRESHOLDS,
                            serving_base_uri=str(empty_base), model_name="taxi"))
    assert first.new_steps == () and len(first.evaluations) == 4
    assert "Reusing the export of step 300" in caplog.text
    assert first.blessed and first.baseline is None
    note = ("No baseline (no version is served under "
            f"{str(empty_base / 'taxi')!r} yet: the first push): change thresholds skipped "
            "(auc max_decrease, log_loss max_increase).")
    assert first.reasons[0] == note
    assert first.metrics == result.metrics
    with open(first.paths["report"]) as f:
        assert "change thresholds skipped" in f.read()

    caplog.clear()
    unchecked = run(make_config(_data(config), tmp_path, config.model_dir))
    assert unchecked.blessed and unchecked.reasons == (NO_THRESHOLDS,)
    assert "NOTHING WAS VALIDATED" in caplog.text
    assert read_blessing(str(tmp_path / "blessing")).reasons == (NO_THRESHOLDS,)
    with open(unchecked.paths["report"]) as f:
        assert "nothing was validated" in f.read()

    # A baseline that cannot score raw examples (the transform graph's SavedModel) fails the
    # change thresholds, with the reason.
    broken = run(make_config(
        _data(config), tmp_path, config.model_dir, thresholds=THRESHOLDS,
        baseline_model_uri=os.path.join(config.transform_graph_uri, "transform_fn")))
    assert not broken.blessed and "no signature over serialized tf.Example" in \
        broken.baseline["error"]
    assert broken.reasons[0].startswith("FAILED auc max_decrease: the baseline could not be "
                                        "evaluated (ValueError")

    # After the trainer: its export of the judged step is scored; none is made.
    caplog.clear()
    shutil.rmtree(tmp_path / "evaluation" / "candidate")
    after = run(make_config(_data(config), tmp_path, config.model_dir,
                            model_uri=trained.model_uri))
    assert "Using the trainer's export of step 300" in caplog.text
    assert not os.path.exists(tmp_path / "evaluation" / "candidate")
    assert after.metrics == result.metrics


def test_inputs_that_cannot_work_fail_before_any_waiting(good_run, tmp_path):
    config, _ = good_run
    with pytest.raises(ValueError, match=r"Slice keys \['paymenttype'\] are not columns"):
        run(make_config(_data(config), tmp_path, str(tmp_path / "nothing"),
                        slices=["paymenttype"]))
    with pytest.raises(FileNotFoundError, match="No example shards for split 'test'"):
        run(make_config(_data(config), tmp_path, str(tmp_path / "nothing"), eval_split="test"))
    shutil.copytree(config.evaluation_uri, tmp_path / "evaluation")
    with pytest.raises(ValueError, match=r"`thresholds` on \['mse'\].*classification model"):
        run(make_config(_data(config), tmp_path, config.model_dir,
                        thresholds={"mse": {"upper_bound": 1.0}}))


class _Data:
    def __init__(self, config):
        self.raw_examples_uri = config.examples_uri
        self.transformed_examples_uri = config.transformed_examples_uri
        self.transform_graph_uri = config.transform_graph_uri


def _data(config):
    return _Data(config)
