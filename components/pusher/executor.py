"""The pusher's executor: plain Python over URIs; it imports no KFP.

`run(config)` decides, in this order, and writes a `push_record.json` whatever it decides:

1. NOT_BLESSED if the evaluator's blessing says so (nothing else is done).
2. ALREADY_PUSHED if a version with the same content fingerprint is published (a re-run of
   the same model changes nothing, and a rolled-back model is not silently re-pushed).
3. INFRA_VALIDATION_FAILED if the model fails in a fresh process (see `infra_validation.py`).
4. PUSHED: published as `<serving_base>/<model_name>/<version>/`, whole or not at all (see
   `versions.py`); versions beyond `keep_versions` pruned; one line added to the history.

Versions are integers, one more than the highest ever published for the model (the
history remembers pruned ones): TF Serving's layout, readable, and ordered the way TF
Serving's "latest" policy orders them. TFX uses a Unix timestamp instead; a counter cannot
collide within a second, and rollbacks are new versions too (see `rollback.py`).

Example:
    >>> from components.pusher.executor import run
    >>> record = run(PusherConfig(
    ...     model_uri="/pipeline/trainer/model", blessing_uri="/pipeline/evaluator/blessing",
    ...     examples_uri="/pipeline/ingest/examples", pushed_model_uri="/pipeline/pusher/out",
    ...     serving_base_uri="/srv/models", model_name="chicago_taxi"))
    >>> record.outcome, record.version
    (<PushOutcome.PUSHED: 'pushed'>, 1)
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from components.artifacts import io, model, serving
from components.artifacts.blessing import read_blessing
from components.artifacts.push import PushOutcome, PushRecord, write_push_record
from components.common.phases import phase
from components.pusher.config import PusherConfig, PusherSettings
from components.pusher.fingerprint import fingerprint
from components.pusher.history import HistoryEntry, HistoryEvent, append_history, read_history
from components.pusher.history import utc_now as _utc_now
from components.pusher.infra_validation import load_samples, validate_model
from components.pusher.versions import (
    VersionExistsError,
    next_version,
    protected_versions,
    prune_versions,
    publish_version,
)

__all__ = ["PushOutcome", "PushRecord", "PusherConfig", "PusherSettings", "resolve_serving_model",
           "run"]

_LOGGER = logging.getLogger(__name__)
_PUBLISH_ATTEMPTS = 5


def run(config: PusherConfig) -> PushRecord:
    """Pushes the model `config` describes if it is blessed, new and answers well.

    Args:
        config: The `PusherConfig`.

    Returns:
        The `PushRecord` (also written to `<pushed_model_uri>/push_record.json`). A model
        that is not pushed is an outcome, not an error: see `PushOutcome`.

    Raises:
        TypeError: If `config` is not a PusherConfig.
        FileNotFoundError: If the model artifact holds no serving SavedModel, the blessing
            artifact no `blessing.json`, or the examples no shards of the validation split.
        ValueError: If `blessing.json` is malformed or the validation split is empty.
    """
    if not isinstance(config, PusherConfig):
        raise TypeError(f"`config` must be a PusherConfig, got {type(config).__name__}.")
    started_at = _utc_now()
    serving_model = resolve_serving_model(config.model_uri)
    trainer_result = _read_trainer_result(config.model_uri)
    blessing = read_blessing(config.blessing_uri) if config.blessing_uri is not None else None
    base = serving.model_base(config.serving_base_uri, config.model_name)
    record = PushRecord(
        outcome=PushOutcome.NOT_BLESSED, reason="", model_name=config.model_name,
        serving_base_uri=config.serving_base_uri, model_uri=config.model_uri,
        blessing_uri=config.blessing_uri,
        metrics=(blessing.metrics if blessing is not None
                 else (trainer_result or {}).get("metrics") or {}),
        blessing_reasons=blessing.reasons if blessing is not None else (),
        trainer_result=trainer_result, started_at=started_at)

    if blessing is not None and not blessing.blessed:
        reasons = "; ".join(blessing.reasons) or "the blessing gives no reason"
        return _finish(config, record, outcome=PushOutcome.NOT_BLESSED,
                       reason=f"Not blessed by the evaluator: {reasons.rstrip('.')}.")
    if blessing is None:
        _LOGGER.warning("No blessing (require_blessing=False): pushing %s unvalidated.",
                        config.model_uri)

    model_fingerprint = fingerprint(serving_model)
    record = dataclasses.replace(record, fingerprint=model_fingerprint)
    history = read_history(base)
    existing = serving.list_versions(base)
    published = _find_published(base, model_fingerprint, history, existing)
    if published is not None:
        latest = existing[-1]
        reason = f"The same model ({model_fingerprint}) is already version {published}"
        reason += (", the latest: nothing to do." if published == latest else
                   f", but the latest is {latest} (a rollback replaced it?): not pushed again. "
                   f"To serve it, run `estpipe rollback {config.model_name} --serving-base "
                   f"{config.serving_base_uri} --to {published}`.")
        return _finish(config, record, outcome=PushOutcome.ALREADY_PUSHED, reason=reason,
                       version=published, destination=serving.version_dir(base, published))

    if config.infra_validation:
        samples = load_samples(config.examples_uri, split=config.infra_validation_split,
                               num_examples=config.infra_validation_examples)
        _LOGGER.info("Infra validation: querying %s with %d %r examples in a fresh process.",
                     serving_model, len(samples), config.infra_validation_split)
        with phase("validation"):
            result = validate_model(serving_model, samples,
                                    timeout_seconds=config.infra_validation_timeout_seconds)
        record = dataclasses.replace(record, infra_validation=result.to_json())
        if not result.passed:
            reason = result.reason.rstrip(".")
            return _finish(config, record, outcome=PushOutcome.INFRA_VALIDATION_FAILED,
                           reason=f"Refused by the infra validation: {reason}.")
    else:
        _LOGGER.warning("Infra validation is off: %s is published without being queried.",
                        serving_model)

    with phase("copy"):
        version, destination = _publish(serving_model, base, history)
    protect = {version} | protected_versions(history, serving.list_versions(base))
    pruned = prune_versions(base, config.keep_versions, protect)
    append_history(base, [HistoryEntry(
        event=HistoryEvent.PUSH, version=version, fingerprint=model_fingerprint,
        time=_utc_now(), model_uri=config.model_uri, pruned=tuple(pruned))])
    return _finish(config, record, outcome=PushOutcome.PUSHED,
                   reason=f"Published as version {version}.", version=version,
                   destination=destination, pruned_versions=tuple(pruned))


def resolve_serving_model(model_uri: str) -> str:
    """The SavedModel folder of a trainer's model artifact: `<model_uri>/serving_model`.

    If that folder holds integer-named exports (export_saved_model's layout) instead of a
    SavedModel, the highest is used.

    Raises:
        FileNotFoundError: If there is no SavedModel there.

    Example:
        >>> resolve_serving_model("/pipeline/trainer/model")
        '/pipeline/trainer/model/serving_model'
    """
    folder = io.join(model_uri, model.SERVING_MODEL_DIR)
    if _is_saved_model(folder):
        return folder
    exports = [v for v in serving.list_versions(folder)
               if _is_saved_model(serving.version_dir(folder, v))]
    if exports:
        return serving.version_dir(folder, exports[-1])
    raise FileNotFoundError(
        f"No serving SavedModel in the model artifact {model_uri!r}: expected "
        f"{folder!r} to hold saved_model.pb (the trainer's serving export).")


def _is_saved_model(folder: str) -> bool:
    return any(tf.io.gfile.exists(io.join(folder, name)) for name in serving.SAVED_MODEL_FILES)


def _read_trainer_result(model_uri: str) -> dict[str, Any] | None:
    path = io.join(model_uri, model.TRAINER_RESULT_FILE)
    if not tf.io.gfile.exists(path):
        return None
    try:
        value = io.read_json(path)
    except json.JSONDecodeError as error:
        _LOGGER.warning("%s is not JSON (%s); the push record leaves it out.", path, error)
        return None
    return value if isinstance(value, dict) else {"value": value}


def _find_published(base: str, model_fingerprint: str, history: Sequence[HistoryEntry],
                    existing: Sequence[int]) -> int | None:
    """The highest published version with this fingerprint, or None.

    Fingerprints come from the history; a version without one (published by something
    else) is fingerprinted from its files.
    """
    known: dict[int, str] = {e.version: e.fingerprint for e in history}
    for version in sorted(existing, reverse=True):
        found = known.get(version)
        if found is None:
            found = fingerprint(serving.version_dir(base, version))
        if found == model_fingerprint:
            return version
    return None


def _publish(serving_model: str, base: str, history: Sequence[HistoryEntry]) -> tuple[int, str]:
    for _ in range(_PUBLISH_ATTEMPTS):
        version = next_version(base, history)
        try:
            destination = publish_version(serving_model, base, version)
        except VersionExistsError:  # Another pusher took the number: take the next one.
            _LOGGER.info("Version %d of %s was taken meanwhile; trying the next.", version, base)
            continue
        _LOGGER.info("Published %s as %s.", serving_model, destination)
        return version, destination
    raise RuntimeError(f"Could not publish under {base!r}: {_PUBLISH_ATTEMPTS} version numbers "
                       "in a row were taken by other pushers meanwhile.")


def _finish(config: PusherConfig, record: PushRecord, **changes: Any) -> PushRecord:
    record = dataclasses.replace(record, finished_at=_utc_now(), **changes)
    write_push_record(config.pushed_model_uri, record)
    log = _LOGGER.info if record.outcome is PushOutcome.PUSHED else _LOGGER.warning
    log("Pusher: %s. %s", record.outcome, record.reason)
    return record

