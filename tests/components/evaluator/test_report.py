"""The HTML report as the Kubeflow UI's side panel (800 px) shows it, and the class names.

The report is rendered from a real analysis (`analyze` over labels and predictions drawn
with a fixed seed), a real validation and checkpoint evaluations shaped like the taxi run's:
an untrained step-0 loss several times the trained ones.
"""

import html.parser
import re
import types
import xml.etree.ElementTree as ElementTree
from base64 import b64decode

import numpy as np
import pytest
from kfp.dsl import ClassificationMetrics

from components.evaluator.analysis import analyze, label_class_names
from components.evaluator.kfp_outputs import log_classification_metrics
from components.evaluator.metrics import ModelOutputs, TaskKind
from components.evaluator.metrics_log import CheckpointEvaluation
from components.evaluator.predictions import Scored
from components.evaluator.report import (
    IMAGE_PREFIX,
    SMALL_SAMPLE,
    STREAMING_AUC_THRESHOLDS,
    _steps_figures,
    render_report,
    small_sample,
)
from components.evaluator.thresholds import parse_thresholds
from components.evaluator.validation import validate

PANEL_WIDTH = 800  # KFP's artifact side panel
NAMES = ("not big_tipper", "big_tipper")
LOSSES = {0: 5.1, 500: 0.312, 1000: 0.298, 1500: 0.305, 2000: 0.321}


@pytest.fixture(scope="module")
def analysis():
    rng = np.random.default_rng(7)
    labels = np.r_[rng.integers(0, 2, 1800), np.zeros(199, int), 1]  # "Rare": 1 positive
    predictions = np.clip(labels * 0.4 + rng.uniform(0, 0.6, len(labels)), 0, 1)
    payment = ["Cash"] * 1000 + ["Credit Card"] * 800 + ["Rare"] * 200
    return analyze(Scored(ModelOutputs(TaskKind.BINARY, labels, predictions)),
                   slice_values={"payment_type": payment}, class_names=NAMES)


@pytest.fixture(scope="module")
def evaluations():
    return [CheckpointEvaluation(step=s, checkpoint=f"ckpt-{s}", metrics={
        "loss": loss, "auc": 0.5 if s == 0 else 0.94 + s / 1e6, "global_step": s},
        time=float(s), seconds=1.0) for s, loss in LOSSES.items()]


@pytest.fixture(scope="module")
def page(analysis, evaluations):
    validation = validate(parse_thresholds({"auc": {"lower_bound": 0.7}}), analysis.metrics,
                          baseline=None)
    return render_report(evaluations=evaluations, candidate=analysis, baseline=None,
                         validation=validation, details={"model_dir": "/m"})


class _Page(html.parser.HTMLParser):
    """Checks that every non-void tag is closed in order; collects images and tables."""

    _VOID = {"meta", "br", "wbr", "img", "link", "hr", "input"}

    def __init__(self):
        super().__init__()
        self.open, self.images, self.tables = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(list(self.open))
        if tag == "table":
            self.tables.append(list(self.open))
        if tag not in self._VOID:
            self.open.append((tag, dict(attrs).get("class", "")))

    def handle_endtag(self, tag):
        assert self.open and self.open.pop()[0] == tag, f"unbalanced </{tag}>"


SVG = "{http://www.w3.org/2000/svg}"


def _svgs(page: str) -> list[ElementTree.Element]:
    """Every plot of the page, parsed (each must be a well-formed SVG document)."""
    return [ElementTree.fromstring(b64decode(encoded)) for encoded in
            re.findall(rf"src='{re.escape(IMAGE_PREFIX)}([A-Za-z0-9+/=]+)'", page)]


def test_nothing_is_wider_than_the_side_panel(page):
    parser = _Page()
    parser.feed(page)
    assert parser.open == []
    # Every plot sits in a wrapping grid and scales with it; every table scrolls in its box.
    assert "img{max-width:100%;height:auto" in page
    assert "grid-template-columns:repeat(auto-fill,minmax(" in page
    assert len(parser.images) == 2 + 2  # loss and auc over steps, ROC, calibration
    assert all(("div", "plots") in ancestors or ("div", "plots wide") in ancestors
               for ancestors in parser.images)
    assert parser.tables and all(ancestors[-1] == ("div", "scroll")
                                 for ancestors in parser.tables)
    # Even unscaled, no plot is wider than the panel less the page's margins.
    widths = [int(svg.get("width")) for svg in _svgs(page)]
    assert len(widths) == 4 and max(widths) <= PANEL_WIDTH - 2 * 16, widths


def test_every_plot_is_an_inline_svg_with_its_lines_titles_and_legend(page, analysis):
    # Self-contained: the page loads nothing (no scripts, links or other files).
    assert page.count("<img ") == page.count(f"src='{IMAGE_PREFIX}") == 4
    assert not re.search(r"<script|<link|src='(?!data:)|href=", page)
    loss, auc, roc, calibration = _svgs(page)
    titles = [[t.text for t in svg.iter(f"{SVG}text")] for svg in (loss, auc, roc, calibration)]
    assert titles[0][-3:] == ["loss", "step", "step 0: 5.1 (off scale)"]
    assert f"auc (streaming, {STREAMING_AUC_THRESHOLDS} thresholds)" in titles[1]
    assert f"candidate (AUC {analysis.metrics['auc']:.3f})" in titles[2]
    assert {"ROC curve", "false positive rate", "true positive rate"} <= set(titles[2])
    assert {"Calibration", "mean prediction", "candidate", "perfectly calibrated"} <= set(
        titles[3])
    # The loss line goes through its 5 steps (a dot each); the ROC curve through every point.
    lines = [p.get("d") for p in loss.iter(f"{SVG}path") if p.get("stroke-width") == "1.6"]
    assert len(lines) == 1 and lines[0].count("L") == 4
    assert len(list(loss.iter(f"{SVG}circle"))) == 5
    curve = next(p.get("d") for p in roc.iter(f"{SVG}path") if p.get("stroke-width") == "1.6")
    assert curve.count("L") == len(analysis.roc.fpr) - 1


def test_the_two_aucs_are_labelled_apart(page, analysis):
    label = f"auc (streaming, {STREAMING_AUC_THRESHOLDS} thresholds)"
    assert f"<th class=''>{label}</th>" in page  # the per-step table
    assert "Exact metrics of the final checkpoint" in page
    assert f"approximated with {STREAMING_AUC_THRESHOLDS} thresholds" in page
    assert f"<td class='l'>auc</td><td class=''>{analysis.metrics['auc']:.4f}</td>" in page


def test_a_slice_with_one_positive_is_marked_small(page, analysis):
    slices = {s.value: s for s in analysis.slices["payment_type"]}
    rare = slices["Rare"].metrics
    assert rare["example_count"] == 200 and round(rare["example_count"] * rare["label_mean"]) == 1
    assert small_sample(rare, TaskKind.BINARY)
    assert not small_sample(slices["Cash"].metrics, TaskKind.BINARY)
    rows = {m.group(1): m.group(0) for m in re.finditer(
        r"<tr><td class='l'>([A-Za-z ]+)(?: <span.*?</span>)?</td>.*?</tr>", page)}
    assert "†" in rows["Rare"] and "†" not in rows["Cash"] and "†" not in rows["Credit Card"]
    assert "<td class=''>200</td><td class=''>1</td>" in rows["Rare"]  # examples, positives
    assert f"fewer than {SMALL_SAMPLE} positive or negative examples" in page
    # Other tasks count examples; a slice with no label mean is not guessed at.
    assert small_sample({"example_count": 9.0}, TaskKind.REGRESSION)
    assert not small_sample({"example_count": 10.0}, TaskKind.MULTICLASS)


def test_the_step_0_point_does_not_flatten_the_loss_axis(evaluations):
    loss, auc = _steps_figures(evaluations)
    low, high = loss.ylimits
    trained = [v for s, v in LOSSES.items() if s]
    assert low < min(trained) and max(trained) < high < 0.33  # the rise after 1000 shows
    assert [(n.x, n.text, n.above) for n in loss.notes] == [(0, "step 0: 5.1 (off scale)", True)]
    assert auc.title == f"auc (streaming, {STREAMING_AUC_THRESHOLDS} thresholds)"
    assert [(n.text, n.above) for n in auc.notes] == [("step 0: 0.5 (off scale)", False)]


def test_the_confusion_matrix_uses_the_label_class_names(page, analysis, tmp_path):
    assert analysis.class_names == NAMES
    assert ("<tr><th class='l'></th><th class=''>not big_<wbr>tipper</th>"
            "<th class=''>big_<wbr>tipper</th></tr>") in page
    assert "<tr><td class='l'>not big_tipper</td><td class=''>" in page
    # The UI's confusion matrix too (the logger reads only the result's analysis).
    metrics = ClassificationMetrics(name="cm", uri=str(tmp_path / "cm"))
    assert log_classification_metrics(types.SimpleNamespace(analysis=analysis), metrics)
    specs = metrics.metadata["confusionMatrix"]["annotationSpecs"]
    assert [c["displayName"] for c in specs] == list(NAMES)


def test_the_model_own_class_names_win_and_wrong_names_are_refused():
    outputs = ModelOutputs(TaskKind.BINARY, np.array([0, 1, 1]), np.array([0.2, 0.7, 0.4]))
    own = analyze(Scored(outputs, class_names=("no", "yes")), class_names=NAMES)
    assert own.class_names == ("no", "yes")
    assert analyze(Scored(outputs)).class_names == ("0", "1")
    with pytest.raises(ValueError, match=r"`class_names` has 3 names .* predicts 2 classes"):
        analyze(Scored(outputs), class_names=("a", "b", "c"))


def test_a_condition_label_is_named_from_the_transform_graph(taxi_data):
    # The taxi label is `big_tipper: tips > 0.2 * fare`.
    assert label_class_names(taxi_data.transform_graph_uri) == NAMES


def test_a_vocabulary_label_is_named_by_its_classes(tmp_path):
    # A transform run of its own (about 10 s): the label is a string column's vocabulary.
    from components.transform.executor import TransformConfig
    from components.transform.executor import run as run_transform
    from tests.components.transform.taxi_inputs import load_frame, split_frame, write_inputs

    frame = load_frame(400)
    inputs = write_inputs(str(tmp_path / "ingest"), frame)
    spec = tmp_path / "spec.yaml"
    spec.write_text("label: payment_type\nfeatures:\n"
                    "  - {name: trip_miles, transform: z_score}\n"
                    "  - {name: payment_type, transform: vocabulary, num_oov_buckets: 2}\n")
    config = TransformConfig(
        examples_uri=inputs.examples_uri, schema_uri=inputs.schema_uri,
        transformed_examples_uri=str(tmp_path / "transformed"),
        transform_graph_uri=str(tmp_path / "graph"), spec_file=str(spec))
    run_transform(config)
    names = label_class_names(config.transform_graph_uri)
    counts = split_frame(frame)[0]["payment_type"].value_counts()
    # A class label: the training split's classes, sorted, and no out-of-vocabulary class
    # (the spec's num_oov_buckets does not apply to a label).
    assert names == tuple(sorted(counts.index))
