"""Loads a SavedModel and runs its serving signatures on raw examples, in a fresh process.

The pusher runs this file as a script (`python _serving_check.py`), so the model is loaded
the way TF Serving will load it: by a process that has never seen its Python code. It
imports nothing from the project. It imports TensorFlow first, then reads JSON lines on
stdin, so it can be started before the model exists (a standby process). Any number of
optional preload lines may come first; each loads that model at once (replacing the last),
at a lower priority (`PRELOAD_NICENESS`), and, when done, says so on stdout (one line;
`error` is why it did not load, or null):

    {"preload": model_dir}           ->   {"preloaded": model_dir, "error": null | str}

then one request (the last line; stdin may end without a newline after it):

    {"model_dir": str, "result_file": str, "examples": [hex, ...]}

A preload also calls each signature once on an empty batch (its first call is slow). A
request for the preloaded model_dir only runs the signatures (after waiting for the preload
to end, if the request came while it was loading); a request for another folder, or
one whose preload failed, loads its model then, as if there had been no preload, so a model
that does not load is reported by the request, with the same error. It writes a JSON result
to `result_file`:

    {"error": null | str,                       # the model could not be loaded
     "signatures": {name: {"method": str, "inputs": [...], "outputs": {key: shape},
                           "skipped": str, "problems": [str, ...]}}}
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

# What TF Serving's Classify and Regress APIs require of a signature.
_CLASSIFY = "tensorflow/serving/classify"
_REGRESS = "tensorflow/serving/regress"
_EXAMPLE_INPUT = "inputs"
_CLASSIFY_OUTPUTS = {"classes", "scores"}
_REGRESS_OUTPUTS = {"outputs"}


def check_outputs(outputs: dict[str, np.ndarray], batch_size: int,
                  method: str | None = None) -> list[str]:
    """The problems of one signature's outputs for a batch of `batch_size` examples.

    Every output must have one row per example; numeric outputs must be finite; classify
    and regress signatures must have the outputs TF Serving reads.
    """
    problems = []
    if not outputs:
        problems.append("it returns no output")
    if method == _CLASSIFY and (not outputs or not set(outputs) <= _CLASSIFY_OUTPUTS):
        problems.append(f"a classify signature must return 'classes' and/or 'scores', "
                        f"got {sorted(outputs)}")
    if method == _REGRESS and set(outputs) != _REGRESS_OUTPUTS:
        problems.append(f"a regress signature must return exactly 'outputs', got "
                        f"{sorted(outputs)}")
    for key, value in sorted(outputs.items()):
        value = np.asarray(value)
        if value.ndim == 0 or value.shape[0] != batch_size:
            problems.append(f"output {key!r} has shape {list(value.shape)}; expected one row "
                            f"per example ({batch_size})")
        if np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype,
                                                                    np.complexfloating):
            bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
            if bad:
                problems.append(f"output {key!r} has {bad} non-finite value(s) (NaN or inf)")
    return problems


_BOILERPLATE = ("Graph execution error", "Detected at node", "<stack traces unavailable>", "[[")


def _summary(error: Exception, limit: int = 400) -> str:
    """The informative line of an error: TF's op errors bury it under boilerplate lines."""
    lines = [line.strip() for line in str(error).splitlines()
             if line.strip() and not line[0].isspace()]
    useful = [line for line in lines if not line.startswith(_BOILERPLATE)]
    text = (useful or lines or [""])[-1]
    return text if len(text) <= limit else text[:limit] + "..."


def _method_names(model_dir: str) -> dict[str, str]:
    import tensorflow as tf
    from google.protobuf import text_format
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    pb = os.path.join(model_dir, "saved_model.pb")
    if tf.io.gfile.exists(pb):
        with tf.io.gfile.GFile(pb, "rb") as f:
            proto.ParseFromString(f.read())
    else:
        with tf.io.gfile.GFile(os.path.join(model_dir, "saved_model.pbtxt"), "r") as f:
            text_format.Parse(f.read(), proto)
    for meta_graph in proto.meta_graphs:
        if "serve" in meta_graph.meta_info_def.tags:
            return {k: v.method_name for k, v in meta_graph.signature_def.items()}
    return {}


def _run_signature(function, method: str | None, examples: list[bytes]) -> dict:
    import tensorflow as tf

    inputs = function.structured_input_signature[1]
    entry = {"method": method, "inputs": sorted(inputs)}
    if len(inputs) != 1 or next(iter(inputs.values())).dtype != tf.string:
        entry["skipped"] = (f"it takes {sorted(inputs)}, not one batch of serialized "
                            "tf.Example strings")
        return entry
    (key,) = inputs
    problems = []
    if method in (_CLASSIFY, _REGRESS) and key != _EXAMPLE_INPUT:
        problems.append(f"its input is {key!r}; TF Serving's classify and regress APIs feed "
                        f"{_EXAMPLE_INPUT!r}")
    try:
        outputs = function(**{key: tf.constant(examples)})
    except Exception as error:  # Anything the model raises is a reason to refuse it.
        entry["problems"] = [*problems, f"it raised {type(error).__name__}: {_summary(error)}"]
        return entry
    arrays = {k: v.numpy() for k, v in outputs.items()}
    entry["outputs"] = {k: list(v.shape) for k, v in sorted(arrays.items())}
    entry["problems"] = [*problems, *check_outputs(arrays, len(examples), method)]
    return entry


def load_model(model_dir: str) -> tuple[dict[str, str], object] | str:
    """The model's signature method names and the loaded model, or why it does not load."""
    import tensorflow as tf

    try:
        methods = _method_names(model_dir)
        model = tf.saved_model.load(model_dir, tags=["serve"])
    except Exception as error:  # The model is broken, whatever the exception says.
        return f"{type(error).__name__}: {_summary(error)}"
    return methods, model


def preload(model_dir: str) -> tuple[dict[str, str], object] | str:
    """`load_model`, then each signature the request would run is called once on an empty
    batch: its first call builds its runtime (a few seconds on a taxi model), which the
    request then skips. What the warm-up raises is ignored; the request decides."""
    import tensorflow as tf

    loaded = load_model(model_dir)
    if isinstance(loaded, str):
        return loaded
    for function in loaded[1].signatures.values():
        inputs = function.structured_input_signature[1]
        if len(inputs) == 1 and next(iter(inputs.values())).dtype == tf.string:
            try:
                function(**{next(iter(inputs)): tf.constant([], tf.string)})
            except Exception:  # The request runs it again and reports what it raises.
                pass
    return loaded


def check_model(model_dir: str, examples: list[bytes],
                loaded: tuple[dict[str, str], object] | None = None) -> dict:
    """Runs every signature of the model on `examples` (loading it, unless `loaded` is
    `load_model(model_dir)`'s model); the JSON result."""
    if loaded is None:
        loaded = load_model(model_dir)
    if isinstance(loaded, str):
        return {"error": loaded, "signatures": {}}
    methods, model = loaded
    signatures = {name: _run_signature(function, methods.get(name), examples)
                  for name, function in sorted(model.signatures.items())}
    return {"error": None, "signatures": signatures}


# A preload's niceness above the caller's: it overlaps the caller's own work (the steps
# before the pusher) on the CPU they leave idle, and slows them little.
PRELOAD_NICENESS = 10


def main() -> int:
    import tensorflow  # noqa: F401 - before the request: a standby process is ready for it

    preloaded: dict[str, tuple[dict[str, str], object]] = {}
    request, preloaded_any = None, False
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        if "preload" not in message:
            request = message
            break
        if not preloaded_any and hasattr(os, "nice"):
            # For good: a process may not raise its priority again (the request then has the
            # machine to itself, the caller waiting for it).
            os.nice(PRELOAD_NICENESS)
        preloaded_any = True
        # A failed preload decides nothing: the request loads the model again.
        loaded = preload(message["preload"])
        preloaded = {} if isinstance(loaded, str) else {message["preload"]: loaded}
        print(json.dumps({"preloaded": message["preload"],
                          "error": loaded if isinstance(loaded, str) else None}), flush=True)
    if request is None:
        print("No request on stdin: the caller went away.", file=sys.stderr)
        return 2
    result = check_model(request["model_dir"], [bytes.fromhex(h) for h in request["examples"]],
                         preloaded.get(request["model_dir"]))
    with open(request["result_file"], "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The result is written and closed: skip the interpreter's teardown, which takes
    # seconds once TensorFlow holds a loaded model, and which the caller waits for.
    os._exit(status)
