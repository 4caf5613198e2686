"""The run summary in Markdown (the record-run step's `summary`, a KFP `system.Markdown`
artifact), and the check that the evaluator's verdict still speaks of what is served.

The summary says what the console summary says, from the steps' artifacts: the data
(span, rows), the training (final step, seconds), the metrics, the verdict with every
reason, and the push.

A verdict can be stale. The evaluator judges the candidate against the version served
when it ran; a step cache that reuses its outputs (an unchanged re-run), or a push by
another run in between, leaves a verdict whose baseline is no longer what the pusher saw
served: e.g. "No baseline (no version is served yet: the first push)" while version 1 is
served. `stale_verdict` says so, from the blessing's metadata (`baseline_source`,
`baseline_version`, `evaluated_at`, set by the evaluator step) and the push record.

Example:
    >>> note = stale_verdict(blessing.metadata, push_record)
    >>> text = render_run_summary(run_id="taxi-1", ingest=ingest_result, trainer=trainer,
    ...                           blessing=verdict, push=push_record, verdict_note=note)
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from components.artifacts.evaluation import BASELINE_SERVED

__all__ = ["render_run_summary", "run_metrics", "served_at_push", "stale_verdict"]

_FIRST_METRICS = ("auc", "accuracy", "precision", "recall", "average_loss", "log_loss", "loss",
                  "mse", "rmse", "mae")


def run_metrics(trainer: Mapping[str, Any] | None,
                blessing: Mapping[str, Any] | None) -> dict[str, Any]:
    """A run's metrics on the eval split: the evaluator's (its blessing), else the trainer's
    (a trainer evaluates only outside the pipeline, or when asked); {} if neither has any.

    Example:
        >>> run_metrics({"metrics": {}}, {"metrics": {"auc": 0.91}})
        {'auc': 0.91}
    """
    return dict((blessing or {}).get("metrics") or (trainer or {}).get("metrics") or {})


def served_at_push(push: Mapping[str, Any]) -> int | None:
    """The version TF Serving served when the pusher ran (before its own push), or None.

    Read from the serving base the push record names: its versions and push history. For a
    push that published version v, the highest version before v; otherwise the highest
    version now.

    Example:
        >>> served_at_push({"outcome": "pushed", "version": 2, ...})
        1
    """
    from components.artifacts import serving
    from components.pusher.history import read_history

    base_uri, name = push.get("serving_base_uri"), push.get("model_name")
    if not base_uri or not name:
        return None
    base = (f"{base_uri.rstrip('/')}/{name}" if "://" in base_uri
            else os.path.join(base_uri, name))
    listed = serving.list_versions(base)
    if push.get("outcome") == "pushed" and push.get("version") is not None:
        pushed = int(push["version"])
        earlier = [v for v in listed if v < pushed]
        earlier += [e.version for e in read_history(base) if e.version < pushed]
        return max(earlier, default=None)
    return max(listed, default=None)


def stale_verdict(blessing_metadata: Mapping[str, Any], push: Mapping[str, Any] | None,
                  *, served: int | None | str = "read") -> str | None:
    """Why the verdict's baseline is not what was served when the pusher ran, or None.

    Args:
        blessing_metadata: The blessing artifact's metadata (`baseline_source`,
            `baseline_version`, `evaluated_at`); a blessing without them is not judged.
        push: The pusher's record (`push_record.json`), or None without a pusher.
        served: The version served at push time, if known; by default read from the
            serving base (`served_at_push`).

    Returns:
        One sentence for the reader, or None when the verdict is current (or cannot be
        checked: another baseline source, no push record).

    Example:
        >>> stale_verdict({"baseline_source": "served", "evaluated_at": "2026-12-03T22:10Z"},
        ...               {"outcome": "already_pushed", "version": 1, ...})
        'The verdict was reached at 2026-12-03T22:10Z against no baseline, but version 1 ...'
    """
    if not push or blessing_metadata.get("baseline_source") != BASELINE_SERVED:
        return None
    judged = blessing_metadata.get("baseline_version")
    judged = None if judged is None else int(judged)  # KFP metadata numbers come as floats
    now = served_at_push(push) if served == "read" else served
    if now == judged:
        return None
    when = blessing_metadata.get("evaluated_at") or "an earlier time"
    against = "no baseline (nothing was served)" if judged is None else f"version {judged}"
    served_text = "no version was served" if now is None else f"version {now} was served"
    return (f"The verdict was reached at {when} against {against}, but {served_text} when "
            "this run's pusher ran: the evaluator's outputs were reused (a cached step) or "
            "another push came in between, so its baseline reasons are out of date.")


def render_run_summary(*, run_id: str, ingest: Mapping[str, Any] | None,
                       trainer: Mapping[str, Any] | None, blessing: Mapping[str, Any] | None,
                       push: Mapping[str, Any] | None, verdict_note: str | None = None,
                       warm_started_from: str = "") -> str:
    """The run's summary as Markdown.

    Args:
        run_id: The run's name.
        ingest: `ingest_result.json` ({} or None when absent), and likewise
        trainer: `trainer_result.json`,
        blessing: `blessing.json`,
        push: `push_record.json`.
        verdict_note: `stale_verdict`'s sentence, shown above the reasons.
        warm_started_from: The model the trainer warm-started from ("" for none).

    Returns:
        The Markdown text.

    Example:
        >>> render_run_summary(run_id="taxi-1", ingest={"span": 1, "splits": {...}}, ...)
        '# Run taxi-1\\n...'
    """
    ingest, trainer, blessing, push = ingest or {}, trainer or {}, blessing or {}, push or {}
    lines = [f"# Run {_text(run_id)}", "", "| step | outcome |", "| --- | --- |"]
    if ingest:
        splits = ingest.get("splits") or {}
        rows = ", ".join(f"{_text(k)} {int(v):,}" for k, v in splits.items())
        span = ingest.get("span")
        bad = ingest.get("bad_rows")
        lines.append("| ingest | " + (f"span {int(span)}: " if span is not None else "")
                     + f"{rows or 'no'} rows" + (f" ({int(bad):,} bad)" if bad else "") + " |")
    if trainer:
        trained = f"trained to step {int(trainer['final_step'])}" if "final_step" in trainer \
            else "trained"
        if trainer.get("train_seconds") is not None:
            trained += f" in {float(trainer['train_seconds']):.1f} s"
        if warm_started_from:
            trained += f", warm-started from `{warm_started_from}`"
        lines.append(f"| trainer | {trained} |")
    if blessing:
        verdict = "**BLESSED**" if blessing.get("blessed") else "**NOT BLESSED**"
        lines.append(f"| evaluator | {verdict} |")
    if push:
        lines.append(f"| pusher | {_push_line(push)} |")
    metrics = run_metrics(trainer, blessing)
    shown = [n for n in _FIRST_METRICS if n in metrics]
    shown += sorted(n for n in metrics if n not in shown)
    if shown:
        lines += ["", "## Metrics (eval split)", "", "| metric | value |", "| --- | ---: |"]
        lines += [f"| {_text(n)} | {_metric(n, metrics[n])} |" for n in shown]
    if blessing:
        verdict = "BLESSED" if blessing.get("blessed") else "NOT BLESSED"
        lines += ["", f"## Evaluator: {verdict}", ""]
        if verdict_note:
            lines += [f"> **Stale verdict:** {_text(verdict_note)}", ""]
        lines += [f"- {_text(r)}" for r in blessing.get("reasons", [])] or ["- (no reasons)"]
    if push:
        lines += ["", "## Push", "", _push_line(push)]
        if push.get("reason"):
            lines.append(f"\n{_text(push['reason'])}")
    return "\n".join(lines) + "\n"


def _push_line(push: Mapping[str, Any]) -> str:
    outcome = push.get("outcome")
    if push.get("pushed"):
        return f"pushed version {push.get('version')} to `{push.get('destination')}`"
    if outcome == "already_pushed":
        return f"already served as version {push.get('version')}; nothing pushed"
    return f"not pushed ({_text(outcome)})"


def _metric(name: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if name == "example_count":
        return f"{int(value):,}"
    return f"{float(value):.4f}"


_MARKDOWN_SPECIAL = "\\`*_[]<>|#"


def _text(value: Any) -> str:
    """`value` as literal Markdown text (its special characters escaped)."""
    return "".join(f"\\{c}" if c in _MARKDOWN_SPECIAL else c for c in str(value))
