"""The HTML report: the verdict, the plots and the tables, in one self-contained page.

Plots (matplotlib's Agg renderer, inline PNG, so the page needs no other file and the
Kubeflow UI shows it as is): each metric over the training steps, the ROC curve of the
candidate and the baseline, and the calibration plot. Tables: the metrics against the
baseline, every check, the slices and the confusion matrix.

matplotlib is imported only here, when a report is rendered.

Example:
    >>> page = render_report(evaluations=stream.evaluations, candidate=analysis,
    ...                      baseline=None, validation=validation,
    ...                      details={"model_dir": model_dir})
    >>> write_report("/runs/1/evaluator/report.html", page)
"""

from __future__ import annotations

import base64
import html
import io as _bytes_io
from collections.abc import Mapping, Sequence

from components.artifacts import io
from components.evaluator.analysis import Analysis
from components.evaluator.metrics import TaskKind
from components.evaluator.metrics_log import CheckpointEvaluation
from components.evaluator.validation import Validation

__all__ = ["MAX_SLICE_ROWS", "render_report", "write_report"]

MAX_SLICE_ROWS = 25  # slices shown per feature (the largest); evaluation.json has them all
_STEP_METRICS = 9  # metric-over-steps panels at most

_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
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
    parts.append("<h2>Metrics over training steps</h2>")
    parts.append(_image(_steps_figure(evaluations)) if evaluations
                 else "<p>No checkpoint evaluations.</p>")
    parts.append(_evaluations_table(evaluations))
    if candidate.roc is not None:
        parts.append("<h2>ROC curve</h2>")
        parts.append(_image(_roc_figure(candidate, baseline, baseline_label)))
    parts.append("<h2>Calibration</h2>")
    parts.append(_image(_calibration_figure(candidate, baseline, baseline_label)))
    if candidate.confusion_matrix is not None:
        parts.append("<h2>Confusion matrix (rows: actual, columns: predicted)</h2>")
        class_names = candidate.class_names or ()
        parts.append(_table([""] + list(class_names),
                            [[name, *map(str, row)] for name, row in
                             zip(class_names, candidate.confusion_matrix, strict=True)]))
    for feature, slices in candidate.slices.items():
        parts.append(f"<h2>Slices by {_e(feature)}</h2>")
        if len(slices) > MAX_SLICE_ROWS:
            parts.append(f"<p>The {MAX_SLICE_ROWS} largest of {len(slices)} slices; "
                         "evaluation.json holds them all.</p>")
        metric_names = [n for n in names if n != "example_count"]
        parts.append(_table(
            [feature, "examples", *metric_names],
            [[str(s.value), f"{int(s.metrics['example_count'])}",
              *(_num(s.metrics.get(n)) for n in metric_names)]
             for s in slices[:MAX_SLICE_ROWS]]))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(path: str, page: str) -> str:
    """Writes the page atomically; returns `path`."""
    io.write_text_atomic(path, page)
    return path


# -- plots ---------------------------------------------------------------------------------
def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)  # the Agg renderer, without pyplot's global state
    return figure


def _steps_figure(evaluations: Sequence[CheckpointEvaluation]):
    names = []
    for evaluation in evaluations:
        names.extend(n for n in evaluation.metrics if n != "global_step" and n not in names)
    if len(evaluations) > 1:  # constants (the label mean, ...) say nothing over steps
        names = [n for n in names
                 if len({e.metrics.get(n) for e in evaluations}) > 1]
    preferred = ["loss", "auc", "accuracy", "precision", "recall", "average_loss"]
    names = sorted(names, key=lambda n: (preferred.index(n) if n in preferred else 99, n))
    names = names[:_STEP_METRICS]
    columns = min(3, len(names)) or 1
    rows = -(-len(names) // columns) or 1
    figure = _figure(4.0 * columns, 2.6 * rows)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    steps = [e.step for e in evaluations]
    for axis, name in zip(axes, names, strict=False):
        values = [e.metrics.get(name, float("nan")) for e in evaluations]
        axis.plot(steps, values, marker="o", markersize=3)
        axis.set_title(name, fontsize=10)
        axis.set_xlabel("step", fontsize=8)
        axis.tick_params(labelsize=8)
        axis.grid(alpha=0.3)
    for axis in axes[len(names):]:
        axis.set_visible(False)
    return figure


def _roc_figure(candidate: Analysis, baseline: Analysis | None, baseline_label: str):
    figure = _figure(4.6, 4.2)
    axis = figure.subplots()
    for analysis, label in ((candidate, "candidate"), (baseline, baseline_label)):
        if analysis is None or analysis.roc is None:
            continue
        auc = analysis.metrics.get("auc")
        axis.plot(analysis.roc.fpr, analysis.roc.tpr,
                  label=f"{label} (AUC {auc:.3f})" if auc is not None else label)
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
    axis.set_xlabel("false positive rate")
    axis.set_ylabel("true positive rate")
    axis.legend(loc="lower right", fontsize=8)
    axis.grid(alpha=0.3)
    return figure


def _calibration_figure(candidate: Analysis, baseline: Analysis | None, baseline_label: str):
    figure = _figure(4.6, 4.2)
    axis = figure.subplots()
    for analysis, label in ((candidate, "candidate"), (baseline, baseline_label)):
        if analysis is None:
            continue
        points = [(b.prediction_mean, b.label_mean) for b in analysis.calibration if b.count]
        if points:
            axis.plot(*zip(*points, strict=True), marker="o", label=label)
    low = min((b.lower for b in candidate.calibration), default=0.0)
    high = max((b.upper for b in candidate.calibration), default=1.0)
    axis.plot([low, high], [low, high], linestyle="--", color="grey", linewidth=0.8,
              label="perfectly calibrated")
    if candidate.kind == TaskKind.MULTICLASS:
        axis.set_xlabel("mean top probability")
        axis.set_ylabel("fraction right")
    else:
        axis.set_xlabel("mean prediction")
        axis.set_ylabel("mean label")
    axis.legend(loc="upper left", fontsize=8)
    axis.grid(alpha=0.3)
    return figure


def _image(figure) -> str:
    buffer = _bytes_io.BytesIO()
    figure.savefig(buffer, format="png")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"<img alt='plot' src='data:image/png;base64,{encoded}'>"


# -- tables --------------------------------------------------------------------------------
def _facts(details: Mapping[str, str]) -> str:
    return _table(["", ""], [[name, str(value)] for name, value in details.items()],
                  header=False)


def _evaluations_table(evaluations: Sequence[CheckpointEvaluation]) -> str:
    names = [n for n in ("loss", "auc", "accuracy", "average_loss")
             if any(n in e.metrics for e in evaluations)]
    return _table(["step", *names, "seconds"],
                  [[str(e.step), *(_num(e.metrics.get(n)) for n in names), f"{e.seconds:.1f}"]
                   for e in evaluations])


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, header: bool = True,
           raw_last: bool = False) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th class='{'l' if i == 0 else ''}'>{_e(h)}</th>"
                                    for i, h in enumerate(headers)) + "</tr>")
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            text = cell if raw_last and i == len(row) - 1 else _e(cell)
            cells.append(f"<td class='{'l' if i == 0 else ''}'>{text}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _num(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def _count(value: float | None) -> str:
    return "–" if value is None else str(int(value))


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)
