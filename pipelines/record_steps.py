"""The pipeline steps that read and write run records (see `pipelines/records.py`).

Kept apart from the records themselves: a step's function runs in its own process and
imports `pipelines.records`, which must not import kfp's DSL there (kfp's executor is still
importing it when the step's code runs).
"""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Model, Output

from components.common.images import PIPELINE_IMAGE

__all__ = ["check_new_span", "record_run", "resolve_base_model"]


@dsl.component(base_image=PIPELINE_IMAGE, install_kfp_package=False)
def check_new_span(input_pattern: str, span: int, pipeline_root: str) -> str:
    """"new" when the input has a span no recorded run took (or no spans, or a given span);
    "none", with the reason printed, otherwise."""
    from pipelines.records import NEW_SPAN, nothing_new

    reason = nothing_new(input_pattern, pipeline_root, span=span)
    if reason:
        print(f"Nothing new: {reason} The run stops here.")
        return "none"
    return NEW_SPAN


@dsl.component(base_image=PIPELINE_IMAGE, install_kfp_package=False)
def resolve_base_model(pipeline_root: str) -> str:
    """The model artifact of the latest blessed run recorded under `pipeline_root` ("" when
    there is none): the trainer warm-starts from it."""
    from pipelines.records import latest_blessed_model

    best = latest_blessed_model(pipeline_root)
    if best is None or not best.get("model_uri"):
        print("No blessed model recorded yet: the trainer starts from scratch.")
        return ""
    print(f"Warm-starting from run {best['run_id']} (span {best.get('span')}): "
          f"{best['model_uri']}")
    return best["model_uri"]


@dsl.component(base_image=PIPELINE_IMAGE, install_kfp_package=False)
def record_run(
    examples: Input[Dataset],
    model: Input[Model],
    blessing: Input[Artifact],
    pushed_model: Input[Artifact],
    summary: Output[Markdown],
    records: str,
    run_id: str,
    config_name: str,
    config_digest: str,
    warm_started_from: str = "",
):
    """Writes this run's record to `<records>/runs/<run_id>.json` (atomically), and its
    summary as Markdown (`summary`, which the Kubeflow UI shows; see `run_summary.py`)."""
    import datetime
    import json
    import os

    import tensorflow as tf

    from components.artifacts.blessing import BLESSING_FILE
    from components.artifacts.examples import INGEST_RESULT_FILE
    from components.artifacts.model import TRAINER_RESULT_FILE
    from components.artifacts.push import PUSH_RECORD_FILE
    from components.common.kfp_values import whole_numbers  # metadata numbers are floats

    def read(folder, name):
        path = os.path.join(folder, name)
        if not tf.io.gfile.exists(path):
            return {}
        with tf.io.gfile.GFile(path) as f:
            return json.loads(f.read())

    trainer = read(model.path, TRAINER_RESULT_FILE)
    verdict = read(blessing.path, BLESSING_FILE)
    push = read(pushed_model.path, PUSH_RECORD_FILE)
    ingest = read(examples.path, INGEST_RESULT_FILE)
    from pipelines.run_summary import render_run_summary, run_metrics, stale_verdict

    verdict_note = stale_verdict(dict(blessing.metadata), push) if verdict else None
    record = {
        "run_id": run_id,
        "finished_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "config": {"name": config_name, "digest": config_digest},
        "span": whole_numbers(ingest.get("span", examples.metadata.get("span"))),
        "spans": whole_numbers(ingest.get("spans", examples.metadata.get("spans"))),
        "examples_uri": examples.uri,
        "rows": ingest.get("splits"),
        "model_uri": model.uri,
        "model_dir": trainer.get("model_dir"),
        "final_step": trainer.get("final_step"),
        "warm_started_from": warm_started_from or None,
        "metrics": run_metrics(trainer, verdict),
        "blessed": bool(verdict.get("blessed")),
        "blessing_reasons": verdict.get("reasons", []),
        "blessing_note": verdict_note,
        "pushed": bool(push.get("pushed")),
        "push_outcome": push.get("outcome"),
        "version": push.get("version"),
        "destination": push.get("destination"),
    }
    folder = f"{records}/runs"
    tf.io.gfile.makedirs(folder)
    path = f"{folder}/{run_id}.json"
    with tf.io.gfile.GFile(path + ".tmp", "w") as f:
        f.write(json.dumps(record, indent=2, sort_keys=True, default=str))
    tf.io.gfile.rename(path + ".tmp", path, overwrite=True)
    tf.io.gfile.makedirs(os.path.dirname(summary.path))
    with tf.io.gfile.GFile(summary.path, "w") as f:
        f.write(render_run_summary(run_id=run_id, ingest=ingest, trainer=trainer,
                                   blessing=verdict, push=push, verdict_note=verdict_note,
                                   warm_started_from=warm_started_from))
    print(f"Recorded run {run_id}: span {record['span']}, blessed {record['blessed']}, "
          f"pushed {record['pushed']} (version {record['version']})")
    if verdict_note:
        print(verdict_note)
