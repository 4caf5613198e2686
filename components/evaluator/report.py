"""The HTML report: the verdict, the plots and the tables, in one self-contained page.

Plots (SVG line charts drawn by `charts.py`, inline as `<img>` data URIs, so the page needs
no other file and the Kubeflow UI shows it as is): each metric over the training steps, the
ROC curve of the candidate and the baseline, and the calibration plot. Tables: the metrics against the
baseline, every check, the slices and the confusion matrix (by the label's class names,
`Analysis.class_names`).

The page fits the Kubeflow UI's side panel (about 800 px): the plots sit in a grid that
wraps and scale down with it, and wide tables scroll inside their box. Two kinds of metric
are shown and labelled apart: the final checkpoint's exact metrics (the exported model over
the raw eval split) and the per-step streaming ones (the Estimator's, whose AUC is
approximated with `STREAMING_AUC_THRESHOLDS` thresholds). Slices with fewer than
`SMALL_SAMPLE` positive or negative examples (or examples, for other tasks) are marked.

The report takes about 10 ms: no plotting library is imported, no font cache built (the
matplotlib figures it drew before took about 1.5 s on the taxi run).

Example:
    >>> page = render_report(evaluations=stream.evaluations, candidate=analysis,
    ...                      baseline=None, validation=validation,
    ...                      details={"model_dir": model_dir})
    >>> write_report("/runs/1/evaluator/report.html", page)
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence

from components.artifacts import io
from components.evaluator.analysis import Analysis
from components.evaluator.charts import Chart, Note, Series, to_svg
from components.evaluator.metrics import TaskKind
from components.evaluator.metrics_log import CheckpointEvaluation
from components.evaluator.slicing import SliceMetrics
from components.evaluator.validation import Validation

__all__ = ["IMAGE_PREFIX", "MAX_SLICE_ROWS", "SMALL_SAMPLE", "STREAMING_AUC_THRESHOLDS", "render_report",
           "small_sample", "write_report"]

MAX_SLICE_ROWS = 25  # slices shown per feature (the largest); evaluation.json has them all
# A slice with fewer positives or negatives than this (binary classification; fewer examples
# for other tasks) is marked: its AUC, precision and recall rest on a handful of examples.
SMALL_SAMPLE = 10
# The heads' streaming AUC is keras.metrics.AUC with its default number of thresholds.
STREAMING_AUC_THRESHOLDS = 200
_STEP_METRICS = 9  # metric-over-steps panels at most
IMAGE_PREFIX = "data:image/svg+xml;base64,"  # every plot: an <img> with an inline SVG
_WIDE = {"width": 400, "height": 370}  # the ROC and calibration plots, in pixels
_STREAMING_NOTE = (
    "The metrics over training steps are the Estimator's streaming metrics on the transformed "
    f"eval split; their AUC is approximated with {STREAMING_AUC_THRESHOLDS} thresholds. The "
    "final checkpoint's metrics above are exact, computed by its exported model on the raw "
    "eval split, so the two AUCs of the final step differ slightly.")

_STYLE = """
body{font-family:system-ui,sans-serif;margin:16px;color:#222;max-width:1100px}
img{max-width:100%;height:auto;display:block}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:8px}
.plots.wide{grid-template-columns:repeat(auto-fill,minmax(320px,1fr))}
.scroll{overflow-x:auto;max-width:100%}.small{color:#8d6e00;font-weight:bold}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:right;font-size:13px}th{background:#f3f3f3}td.l,th.l{text-align:left}
.verdict{display:inline-block;padding:6px 14px;border-radius:4px;color:#fff;font-weight:bold}
.blessed{background:#2e7d32}.not-blessed{background:#c62828}
.FAILED{color:#c62828}.PASSED{color:#2e7d32}.SKIPPED{color:#8d6e00}
.note{background:#fff8e1;border-left:4px solid #f9a825;padding:6px 10px;margin:6px 0}
"""


def render_report(*, evaluations: Sequence[CheckpointEvaluation], candidate: Analysis,
                  baseline: Analysis | None, validation: Validation,
                  details: Mapping[str, str], baseline_label: str = "baseline") -> str:
    """The report as one HTML page.

    Args:
        evaluations: Every checkpoint evaluation, by step (the metrics over steps).
        candidate: The final checkpoint's analysis.
        baseline: The baseline's analysis on the same examples, or None.
        validation: The verdict.
        details: Facts listed at the top (model_dir, final step, baseline, ...).
        baseline_label: The baseline's name in plots and tables.

    Returns:
        The HTML text.
    """
    verdict = "BLESSED" if validation.blessed else "NOT_BLESSED"
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Evaluation: "
             f"{verdict}</title><style>{_STYLE}</style></head><body>",
             f"<h1>Model evaluation <span class='verdict "
             f"{'blessed' if validation.blessed else 'not-blessed'}'>{verdict}</span></h1>",
             _facts(details)]
    parts.append("<h2>Validation</h2>")
    parts.extend(f"<div class='note'>{_e(note)}</div>" for note in validation.notes)
    if validation.checks:
        parts.append(_table(
            ["metric", "bound", "threshold", "candidate", baseline_label, "outcome"],
            [[c.metric, c.bound, _num(c.threshold), _num(c.value), _num(c.baseline),
              f"<span class='{c.outcome.value}'>{c.outcome.value}</span>"]
             for c in validation.checks], raw_last=True))
    parts.append("<h2>Metrics on the final checkpoint</h2>")
    names = list(candidate.metrics)
    rows = []
    for name in names:
        value = candidate.metrics[name]
        other = baseline.metrics.get(name) if baseline else None
        change = value - other if value is not None and other is not None else None
        if name == "example_count":
            rows.append([name, _count(value), _count(other), ""])
            continue
        rows.append([name, _num(value), _num(other), _num(change, signed=True)])
    parts.append(_table(["metric", "candidate", baseline_label, "change"], rows))
    parts.append("<p>Exact metrics of the final checkpoint's exported model on the raw eval "
                 "split (the verdict's).</p>")
    parts.append("<h2>Metrics over training steps</h2>")
    if evaluations:
        parts.append(f"<p class='note'>{_e(_STREAMING_NOTE)}</p>")
        parts.append("<div class='plots'>" + "".join(
            _image(f) for f in _steps_figures(evaluations)) + "</div>")
    else:
        parts.append("<p>No checkpoint evaluations.</p>")
    parts.append(_evaluations_table(evaluations))
    parts.append("<h2>ROC curve and calibration</h2>" if candidate.roc is not None
                 else "<h2>Calibration</h2>")
    figures = [_roc_figure(candidate, baseline, baseline_label)] if candidate.roc else []
    figures.append(_calibration_figure(candidate, baseline, baseline_label))
    parts.append("<div class='plots wide'>" + "".join(_image(f) for f in figures) + "</div>")
    if candidate.confusion_matrix is not None:
        parts.append("<h2>Confusion matrix (rows: actual, columns: predicted)</h2>")
        class_names = candidate.class_names or tuple(
            str(k) for k in range(len(candidate.confusion_matrix)))
        parts.append(_table([""] + list(class_names),
                            [[name, *map(str, row)] for name, row in
                             zip(class_names, candidate.confusion_matrix, strict=True)]))
    for feature, slices in candidate.slices.items():
        parts.append(f"<h2>Slices by {_e(feature)}</h2>")
        if len(slices) > MAX_SLICE_ROWS:
            parts.append(f"<p>The {MAX_SLICE_ROWS} largest of {len(slices)} slices; "
                         "evaluation.json holds them all.</p>")
        shown = [n for n in names if n != "example_count"
                 and not (candidate.kind == TaskKind.BINARY and n == "label_mean")]
        parts.append(_slices_table(feature, slices[:MAX_SLICE_ROWS], candidate.kind, shown))
    parts.append("</body></html>")
    return "\n".join(parts)


def small_sample(metrics: Mapping[str, float | None], kind: TaskKind) -> bool:
    """Whether a slice's metrics rest on too few examples (see `SMALL_SAMPLE`).

    Binary classification: fewer than `SMALL_SAMPLE` positives or negatives (from
    `example_count` and `label_mean`); other tasks: fewer than `SMALL_SAMPLE` examples.

    Example:
        >>> small_sample({"example_count": 1960.0, "label_mean": 1 / 1960}, TaskKind.BINARY)
        True
    """
    count = metrics.get("example_count") or 0.0
    if kind == TaskKind.BINARY and metrics.get("label_mean") is not None:
        positives = round(count * metrics["label_mean"])
        return min(positives, round(count) - positives) < SMALL_SAMPLE
    return count < SMALL_SAMPLE


def write_report(path: str, page: str) -> str:
    """Writes the page atomically; returns `path`."""
    io.write_text_atomic(path, page)
    return path


# -- plots ---------------------------------------------------------------------------------
def _steps_figures(evaluations: Sequence[CheckpointEvaluation]) -> list[Chart]:
    """One small plot per metric (a grid in the page), the streaming AUC labelled so."""
    names = []
    for evaluation in evaluations:
        names.extend(n for n in evaluation.metrics if n != "global_step" and n not in names)
    if len(evaluations) > 1:  # constants (the label mean, ...) say nothing over steps
        names = [n for n in names
                 if len({e.metrics.get(n) for e in evaluations}) > 1]
    preferred = ["loss", "auc", "accuracy", "precision", "recall", "average_loss"]
    names = sorted(names, key=lambda n: (preferred.index(n) if n in preferred else 99, n))
    steps = [e.step for e in evaluations]
    charts = []
    for name in names[:_STEP_METRICS]:
        values = [float("nan") if e.metrics.get(name) is None else float(e.metrics[name])
                  for e in evaluations]
        title = (f"{name} (streaming, {STREAMING_AUC_THRESHOLDS} thresholds)" if name == "auc"
                 else name)
        ylim, notes = _scale_without_step_0(steps, values)
        charts.append(Chart(series=(Series(steps, values, dots=True),), title=title,
                            xlabel="step", ylim=ylim, notes=notes))
    return charts


def _scale_without_step_0(steps: Sequence[int], values: Sequence[float]
                          ) -> tuple[tuple[float, float] | None, tuple[Note, ...]]:
    """The y-axis's limits and notes: scaled to the trained checkpoints' values, since the
    untrained step-0 point (a loss several times the rest) would flatten them. It is drawn
    at the edge, with its value written beside it. (None, ()) when it is on the scale."""
    trained = [v for s, v in zip(steps, values, strict=True) if s > 0 and math.isfinite(v)]
    start = [v for s, v in zip(steps, values, strict=True) if s == 0 and math.isfinite(v)]
    if len(trained) < 2 or not start:
        return None, ()
    low, high = min(trained), max(trained)
    pad = (high - low) * 0.08 or abs(high) * 0.05 or 0.05
    low, high = low - pad, high + pad
    if low <= start[0] <= high:
        return None, ()
    return (low, high), (Note(0, f"step 0: {start[0]:.3g} (off scale)", above=start[0] > high),)


def _roc_figure(candidate: Analysis, baseline: Analysis | None, baseline_label: str) -> Chart:
    series = []
    for analysis, label in ((candidate, "candidate"), (baseline, baseline_label)):
        if analysis is None or analysis.roc is None:
            continue
        auc = analysis.metrics.get("auc")
        series.append(Series(analysis.roc.fpr, analysis.roc.tpr,
                             label=f"{label} (AUC {auc:.3f})" if auc is not None else label))
    series.append(Series((0, 1), (0, 1), dashed=True))
    return Chart(series=tuple(series), title="ROC curve", xlabel="false positive rate",
                 ylabel="true positive rate", legend="lower right", **_WIDE)


def _calibration_figure(candidate: Analysis, baseline: Analysis | None,
                        baseline_label: str) -> Chart:
    series = []
    for analysis, label in ((candidate, "candidate"), (baseline, baseline_label)):
        if analysis is None:
            continue
        points = [(b.prediction_mean, b.label_mean) for b in analysis.calibration if b.count]
        if points:
            series.append(Series(*zip(*points, strict=True), label=label, dots=True))
    low = min((b.lower for b in candidate.calibration), default=0.0)
    high = max((b.upper for b in candidate.calibration), default=1.0)
    series.append(Series((low, high), (low, high), label="perfectly calibrated", dashed=True))
    multiclass = candidate.kind == TaskKind.MULTICLASS
    return Chart(series=tuple(series), title="Calibration",
                 xlabel="mean top probability" if multiclass else "mean prediction",
                 ylabel="fraction right" if multiclass else "mean label",
                 legend="upper left", **_WIDE)


def _image(chart: Chart) -> str:
    """The chart as an inline image (an SVG document in a data URI: no other file)."""
    encoded = base64.b64encode(to_svg(chart).encode("utf-8")).decode("ascii")
    return f"<img alt='{_e(chart.title)}' src='{IMAGE_PREFIX}{encoded}'>"


# -- tables --------------------------------------------------------------------------------
def _facts(details: Mapping[str, str]) -> str:
    return _table(["", ""], [[name, str(value)] for name, value in details.items()],
                  header=False)


def _evaluations_table(evaluations: Sequence[CheckpointEvaluation]) -> str:
    names = [n for n in ("loss", "auc", "accuracy", "average_loss")
             if any(n in e.metrics for e in evaluations)]
    headers = [f"auc (streaming, {STREAMING_AUC_THRESHOLDS} thresholds)" if n == "auc" else n
               for n in names]
    return _table(["step", *headers, "seconds"],
                  [[str(e.step), *(_num(e.metrics.get(n)) for n in names), f"{e.seconds:.1f}"]
                   for e in evaluations])


def _slices_table(feature: str, slices: Sequence[SliceMetrics], kind: TaskKind,
                  metric_names: Sequence[str]) -> str:
    binary = kind == TaskKind.BINARY
    rows, marked = [], 0
    for s in slices:
        count = int(s.metrics["example_count"])
        small = small_sample(s.metrics, kind)
        marked += small
        value = _e(s.value) + (" <span class='small' title='small sample'>†</span>"
                               if small else "")
        cells = [value, f"{count:,}"]
        if binary:  # the label mean, as a count
            mean = s.metrics.get("label_mean")
            cells.append("–" if mean is None else f"{round(count * mean):,}")
        cells += [_e(_num(s.metrics.get(n))) for n in metric_names]
        rows.append(cells)
    page = _table([feature, "examples", *(["positives"] if binary else []), *metric_names],
                  rows, raw=True)
    if marked:
        what = "positive or negative examples" if binary else "examples"
        page += (f"<p><span class='small'>†</span> small sample: fewer than {SMALL_SAMPLE} "
                 f"{what}; its metrics (AUC most) are unreliable.</p>")
    return page


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, header: bool = True,
           raw_last: bool = False, raw: bool = False) -> str:
    """A table in a box that scrolls sideways when it is wider than the page. `raw`: the
    cells are HTML already (`raw_last`: only the last column)."""
    out = ["<div class='scroll'><table>"]
    if header:
        # A long metric name may wrap after its underscores (`prediction_<wbr>mean`).
        out.append("<tr>" + "".join(
            f"<th class='{'l' if i == 0 else ''}'>{_e(h).replace('_', '_<wbr>')}</th>"
            for i, h in enumerate(headers)) + "</tr>")
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            text = cell if raw or (raw_last and i == len(row) - 1) else _e(cell)
            cells.append(f"<td class='{'l' if i == 0 else ''}'>{text}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table></div>")
    return "".join(out)


def _num(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def _count(value: float | None) -> str:
    return "–" if value is None else str(int(value))


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)
