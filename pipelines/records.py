"""Run records and lineage: what each pipeline run used and produced, kept as files.

The last step of every run writes one record under the pipeline root:

```
<pipeline root>/records/runs/<run id>.json
  run_id, finished_at, config (name + digest), span / spans, data rows per split,
  model_uri, model_dir, final_step, warm_started_from, metrics, blessed + reasons,
  pushed, push outcome, version, destination
```

The questions continuous training asks are answered from these records and the pusher's
history (`<serving base>/<model>/_pushes.jsonl`), not guessed from folder names:
"the latest blessed model" (to warm-start from), "which span and run produced version 7",
"what is served now". A small first step (`record_steps.resolve_base_model`) answers the first inside the
pipeline, so it works the same on a cluster, where the records live on the artifact store.

Example:
    >>> for record in list_runs("runs/chicago-taxi"):
    ...     print(record["run_id"], record["span"], record["version"])
    >>> lineage("runs/chicago-taxi", "runs/serving", "chicago_taxi", 3)["run"]["span"]
    2
"""


import json
import os
from typing import Any

__all__ = [
    "NEW_SPAN",
    "RECORDS_DIR",
    "describe_lineage",
    "latest_blessed_model",
    "lineage",
    "list_runs",
    "nothing_new",
    "records_uri",
]

RECORDS_DIR = "records"
NEW_SPAN = "new"


def records_uri(pipeline_root: str) -> str:
    """`<pipeline root>/records`."""
    return f"{pipeline_root.rstrip('/')}/{RECORDS_DIR}"


def list_runs(pipeline_root: str) -> list[dict[str, Any]]:
    """Every run record under `pipeline_root`, oldest first."""
    import tensorflow as tf

    folder = f"{records_uri(pipeline_root)}/runs"
    if not tf.io.gfile.isdir(folder):
        return []
    records = []
    for name in tf.io.gfile.listdir(folder):
        if name.endswith(".json"):
            with tf.io.gfile.GFile(f"{folder}/{name}") as f:
                records.append(json.loads(f.read()))
    return sorted(records, key=lambda r: (r.get("finished_at", ""), r.get("run_id", "")))


def latest_blessed_model(pipeline_root: str) -> dict[str, Any] | None:
    """The record of the newest run whose model was blessed, or None."""
    blessed = [r for r in list_runs(pipeline_root) if r.get("blessed")]
    return blessed[-1] if blessed else None


def lineage(pipeline_root: str, serving_base: str, model_name: str,
            version: int) -> dict[str, Any]:
    """Where served version `version` came from: its push history and the run that made it.

    A rollback's version is followed back to the version whose content it republished.

    Raises:
        LookupError: If no push of `version` is recorded, or no run record made its model.
    """
    from components.pusher.history import HistoryEvent, read_history

    entries = read_history(os.path.join(serving_base, model_name))
    by_version = {e.version: e for e in entries}
    if version not in by_version:
        known = sorted(by_version)
        raise LookupError(f"No push of version {version} of {model_name!r} is recorded under "
                          f"{serving_base!r}; recorded versions: {known}.")
    chain = [by_version[version]]
    while chain[-1].event == HistoryEvent.ROLLBACK and chain[-1].source_version in by_version:
        chain.append(by_version[chain[-1].source_version])
    pushed = chain[-1]
    runs = [r for r in list_runs(pipeline_root) if r.get("model_uri") == pushed.model_uri]
    if not runs:
        raise LookupError(f"Version {version} was pushed from {pushed.model_uri!r}, but no run "
                          f"record under {pipeline_root!r} made that model.")
    return {"version": version, "history": [e.to_json() for e in chain], "run": runs[-1]}


def describe_lineage(found: dict[str, Any], model_name: str) -> str:
    """What `lineage` found, as a few lines for the terminal.

    Example:
        >>> print(describe_lineage(lineage(root, serving, "chicago_taxi", 4), "chicago_taxi"))
        Version 4 of 'chicago_taxi': a rollback on 2026-12-03T23:16:12+00:00 to version 2
          version 2: pushed on 2026-12-02T03:00:41+00:00 from .../trainer-op/model
        Made by run chicago-taxi-2026-12-02-03-00-00-1 (finished 2026-12-02T03:00:40+00:00)
          config   chicago-taxi (digest 1da5c80c2ee36733)
          data     span 2; rows: eval 81, train 263
        ...
    """
    history, run = found["history"], found["run"]
    lines = []
    for entry in history:
        when = entry.get("time", "?")
        if entry.get("event") == "rollback":
            text = (f"a rollback on {when} to version {entry.get('source_version')} (from "
                    f"version {entry.get('rolled_back_from')})")
        else:
            text = f"pushed on {when} from {entry.get('model_uri')}"
        lines.append(f"Version {found['version']} of {model_name!r}: {text}" if not lines
                     else f"  version {entry.get('version')}: {text}")
    config = run.get("config") or {}
    rows = run.get("rows") or {}
    span = run.get("span")
    metrics = run.get("metrics") or {}
    step = run.get("final_step")
    lines += [
        f"Made by run {run.get('run_id')} (finished {run.get('finished_at')})",
        f"  config   {config.get('name')} (digest {config.get('digest')})",
        f"  data     {'no span' if span is None else f'span {span}'}; rows: "
        + (", ".join(f"{split} {count}" for split, count in sorted(rows.items())) or "-"),
        f"           {run.get('examples_uri')}",
        f"  model    {run.get('model_uri')}"
        + ("" if step is None else f" (trained to step {step}"
           + (f", warm-started from {run['warm_started_from']})" if run.get("warm_started_from")
              else ")")),
        "  metrics  " + (", ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items())
                                   if isinstance(v, int | float) and k != "example_count")
                         or "-"),
        f"  verdict  {'blessed' if run.get('blessed') else 'not blessed'}",
    ]
    lines += [f"             {reason}" for reason in run.get("blessing_reasons") or []]
    lines.append(f"  push     {run.get('push_outcome')}"
                 + (f": version {run.get('version')} at {run.get('destination')}"
                    if run.get("pushed") else ""))
    return "\n".join(lines)


def nothing_new(input_pattern: str, pipeline_root: str, *, span: int | None = None) -> str | None:
    """Why a run of a `{SPAN}` pattern would have nothing new to ingest, or None.

    A run takes the latest span; when the recorded runs under `pipeline_root` already took
    it (or a later one) and were blessed or pushed nothing new, there is nothing to do. A
    pattern without `{SPAN}`, or a given `span` (a deliberate re-run), always runs.
    """
    from components.ingest.spans import EmptyInputError, resolve_input

    if "{SPAN}" not in input_pattern or (span is not None and span >= 0):
        return None
    try:
        latest = resolve_input(input_pattern).span
    except EmptyInputError:
        return None  # the ingest step says what is wrong, with its full message
    done = [r["span"] for r in list_runs(pipeline_root) if r.get("span") is not None]
    if done and latest is not None and latest <= max(done):
        return (f"the latest span of {input_pattern!r} is {latest}, and span {max(done)} was "
                "already run (see `estpipe runs`); waiting for a new span.")
    return None
