"""Infra validation: query a model in a fresh process before it is published.

The idea of TFX's InfraValidator, without a server: a new Python process (one that has never
imported the trainer's code) loads the SavedModel as TF Serving would and runs every serving
signature that takes serialized tf.Example on a batch of real raw examples. A model is
refused if it does not load, a signature raises (a feature the examples lack, a bad
transform graph), an output has not one row per example or holds NaN/inf, a classify or
regress signature does not fit TF Serving's API, or all of it takes longer than the time
limit.

The fresh process imports TensorFlow, then waits for its request. A long-lived caller (a
local run with every step in one process) starts one ahead, `standby_check_process()`, so
that import overlaps the steps before the pusher; that process has still never seen the
trainer's code. Once the model exists, `preload_model(saved_model_dir)` has the standby load
it at once, so the load overlaps the steps in between too; `validate_model` for that same
folder then only runs the signatures. Nothing is decided by a preload: a model that does not
load is reported by `validate_model`, as without one, and a request for another folder
loads that one.

Example:
    >>> samples = load_samples("/pipeline/ingest/examples", split="eval", num_examples=16)
    >>> result = validate_model("/pipeline/trainer/model/serving_model", samples,
    ...                         timeout_seconds=300)
    >>> result.passed, result.reason
    (True, None)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import tensorflow as tf

from components import artifacts

__all__ = ["InfraValidationResult", "load_samples", "preload_model", "standby_check_process",
           "validate_model"]

_CHECK_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_serving_check.py")
_STDERR_TAIL = 2000
_standby: subprocess.Popen | None = None


@dataclasses.dataclass(frozen=True)
class InfraValidationResult:
    """What the fresh process found.

    Attributes:
        passed: True if the model loaded and every signature it could run answered well.
        reason: Why the model was refused (None if it passed).
        signatures: Per signature: its method name, inputs, output shapes, and `problems`
            (or why it was `skipped`).
        num_examples: The examples each signature was run on.
        seconds: Wall time, process start included.
    """

    passed: bool
    reason: str | None
    signatures: Mapping[str, Mapping[str, Any]]
    num_examples: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored in the push record."""
        return {"passed": self.passed, "reason": self.reason,
                "signatures": {k: dict(v) for k, v in self.signatures.items()},
                "num_examples": self.num_examples, "seconds": round(self.seconds, 3)}


def load_samples(examples_uri: str, *, split: str, num_examples: int) -> list[bytes]:
    """The first `num_examples` serialized tf.Example of a split (fewer if it holds fewer).

    Raises:
        FileNotFoundError: If the split has no shards.
        ValueError: If the split holds no example.
    """
    files = artifacts.examples_files(examples_uri, split)
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").take(num_examples)
    samples = [record.numpy() for record in dataset]
    if not samples:
        raise ValueError(f"Split {split!r} of {examples_uri!r} holds no example to query the "
                         "model with; choose another `infra_validation_split`.")
    return samples


def validate_model(saved_model_dir: str, examples: Sequence[bytes], *,
                   timeout_seconds: float) -> InfraValidationResult:
    """Loads a SavedModel in a fresh process and runs its serving signatures on `examples`.

    Args:
        saved_model_dir: The SavedModel folder (any URI TensorFlow can read).
        examples: Serialized raw tf.Example, sent as one batch to each signature that takes
            serialized examples; other signatures (raw tensors) are listed as skipped.
        timeout_seconds: The limit for the whole check, process start and model load
            included; the process is killed when it is reached.

    Returns:
        An `InfraValidationResult`; `passed` is False, with the reason, if the model failed.

    Example:
        >>> validate_model(model_dir, samples, timeout_seconds=120).passed
        True
    """
    if not examples:
        raise ValueError("`examples` is empty; the model needs at least one to answer.")
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pusher_check_") as workdir:
        result_file = os.path.join(workdir, "result.json")
        request = json.dumps({"model_dir": saved_model_dir, "result_file": result_file,
                              "examples": [bytes(e).hex() for e in examples]})
        process = _take_standby() or _start_check_process()
        try:
            _, stderr = process.communicate(request, timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            return _failed(f"the model did not load and answer within {timeout_seconds:g} s "
                           "(`infra_validation_timeout_seconds`)", len(examples), start)
        if process.returncode != 0 or not os.path.exists(result_file):
            tail = stderr.strip()[-_STDERR_TAIL:]
            return _failed(f"the process loading the model exited with code "
                           f"{process.returncode}: {tail}", len(examples), start)
        with open(result_file) as f:
            found = json.load(f)
    seconds = time.monotonic() - start
    signatures = found["signatures"]
    if found["error"] is not None:
        return InfraValidationResult(False, f"the SavedModel does not load: {found['error']}",
                                     signatures, len(examples), seconds)
    return InfraValidationResult(_reason(signatures) is None, _reason(signatures), signatures,
                                 len(examples), seconds)


@contextlib.contextmanager
def standby_check_process() -> Iterator[None]:
    """While open, a fresh check process is started ahead and waits, TensorFlow imported;
    the next `validate_model` in this process uses it. One left unused is stopped on exit.

    Example:
        >>> with standby_check_process():
        ...     run_pipeline_steps()        # the pusher's validate_model finds it ready
    """
    global _standby
    if _standby is None:
        _standby = _start_check_process()
    try:
        yield
    finally:
        process, _standby = _standby, None
        if process is not None:
            process.kill()
            process.communicate()


def preload_model(saved_model_dir: str) -> bool:
    """Has the standby check process, if one waits, load `saved_model_dir` now.

    The load (at a lower priority, on the CPU this process leaves idle) then overlaps what
    this process does until `validate_model(saved_model_dir, ...)`, which finds the model
    loaded (or waits for the load to end) and only runs the signatures. A model that fails
    to load is not reported here: the request loads it again and reports the failure as
    without a preload. The folder is matched as given (the same
    string), and a later preload replaces an earlier one.

    Args:
        saved_model_dir: The SavedModel folder `validate_model` will be given.

    Returns:
        True if a standby process took the preload; False if none waits (none was started,
        it was used, or it died).

    Example:
        >>> with standby_check_process():
        ...     train_and_export()                  # writes /runs/1/model/serving_model
        ...     preload_model("/runs/1/model/serving_model")
        ...     evaluate()                          # the model loads meanwhile
        ...     validate_model("/runs/1/model/serving_model", samples, timeout_seconds=300)
    """
    process = _standby
    if process is None or process.poll() is not None:
        return False
    try:
        process.stdin.write(json.dumps({"preload": saved_model_dir}) + "\n")
        process.stdin.flush()
    except OSError:  # it died since (a broken pipe): validate_model starts a fresh one
        return False
    return True


def _start_check_process() -> subprocess.Popen:
    # stdout: a line per preload, done (read by tests; what is left is read and dropped).
    return subprocess.Popen([sys.executable, _CHECK_SCRIPT], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def _take_standby() -> subprocess.Popen | None:
    """The standby process, if one was started and is still waiting."""
    global _standby
    process, _standby = _standby, None
    if process is not None and process.poll() is not None:
        return None  # it died waiting (e.g. killed); a new one is started
    return process


def _reason(signatures: Mapping[str, Mapping[str, Any]]) -> str | None:
    if "serving_default" not in signatures:
        return (f"it has no 'serving_default' signature (it has {sorted(signatures)}); TF "
                "Serving answers requests that name no signature with it")
    problems = [f"signature {name!r}: {problem}" for name, entry in signatures.items()
                for problem in entry.get("problems", ())]
    if problems:
        return "; ".join(problems)
    if all("skipped" in entry for entry in signatures.values()):
        return ("no signature takes serialized tf.Example, so none could be run on the raw "
                "examples; export with a parsing serving input receiver")
    return None


def _failed(reason: str, num_examples: int, start: float) -> InfraValidationResult:
    return InfraValidationResult(False, reason, {}, num_examples, time.monotonic() - start)
