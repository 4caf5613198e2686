"""Scoring raw examples: the candidate's eval model and the baseline's serving model.

The candidate's eval model (`components.model.eval_model`: its serving model and the
transform graph, in memory) returns its predictions and the label the transform graph
computes from the raw columns. The baseline, a served model, returns predictions only; it
is judged against the candidate's labels, on the same rows. Predictions are read by their
estimator_lib names: `logistic` (binary), `probabilities` (binary or multi-class),
`predictions` (regression).

Example:
    >>> model = load_eval_model(serving_dir, graph_uri, label_key="big_tipper")
    >>> candidate = score_eval_model(model, serialized)
    >>> baseline = score_serving_model(serving_dir, serialized, labels=candidate.outputs.labels,
    ...                                kind=candidate.outputs.kind)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from components.evaluator.metrics import ModelOutputs, TaskKind
from components.evaluator.raw_examples import batches
from components.model.eval_model import LABEL_OUTPUT, EvalModel
from components.model.export import EXAMPLES_KEY

__all__ = ["Scored", "score_eval_model", "score_serving_model", "to_model_outputs"]


@dataclasses.dataclass(frozen=True)
class Scored:
    """A model's outputs on the examples, and its class names (classification, if known).

    Attributes:
        outputs: The predictions and labels of the rows scored.
        class_names: The classes, in class-id order.
        kept: For a class label given by name: which of the examples were scored (their
            label is one of the classes); None when all were.
        unseen_labels: {label: rows} of the examples left out: labels the training split
            never had, so that no class stands for them.
    """

    outputs: ModelOutputs
    class_names: tuple[str, ...] | None = None
    kept: np.ndarray | None = None
    unseen_labels: Mapping[str, int] = dataclasses.field(default_factory=dict)


def score_eval_model(model: EvalModel, serialized: Sequence[bytes], *,
                     batch_size: int = 1024) -> Scored:
    """Runs the eval model over raw serialized examples: predictions and labels.

    Args:
        model: The candidate, as `components.model.eval_model.load_eval_model` loads it.
        serialized: Raw serialized tf.Example, with the label's raw columns.
        batch_size: Examples per call.

    Raises:
        ValueError: If the outputs are not ones the evaluator reads, or a class label given
            by name comes without the model's class names.
    """
    source = model.serving_dir  # names the model in messages
    outputs = _run(model, serialized, batch_size)
    labels = outputs.pop(LABEL_OUTPUT).reshape(len(serialized), -1)
    if labels.shape[1] != 1:
        raise ValueError(f"The label has {labels.shape[1]} values per example; the evaluator "
                         "analyzes one label per example (no multi-label models).")
    labels, names = labels[:, 0], _class_names(outputs)
    if labels.dtype.kind not in "SUO":
        return Scored(to_model_outputs(outputs, labels, source=source), names)
    # A class label given by name: class ids by the model's own class names.
    if names is None:
        raise ValueError(f"{source!r} labels its examples by name but predicts no "
                         "`all_classes`: the evaluator cannot tell the class ids.")
    ids = {name: index for index, name in enumerate(names)}
    texts = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in labels]
    kept = np.array([t in ids for t in texts], dtype=bool)
    unseen: dict[str, int] = {}
    for text in (t for t, keep in zip(texts, kept, strict=True) if not keep):
        unseen[text] = unseen.get(text, 0) + 1
    class_ids = np.array([ids[t] for t in texts if t in ids], dtype=np.int64)
    kept_outputs = {k: np.asarray(v)[kept] for k, v in outputs.items()}
    return Scored(to_model_outputs(kept_outputs, class_ids, source=source), names,
                  kept=None if kept.all() else kept, unseen_labels=unseen)


def score_serving_model(saved_model_dir: str, serialized: Sequence[bytes], *,
                        labels: np.ndarray, kind: TaskKind, batch_size: int = 1024) -> Scored:
    """Runs a served model over raw serialized examples: its `predict` signature (input
    `examples`), or else `serving_default` if that takes a single string tensor.

    Raises:
        ValueError: If no signature takes serialized examples, or the outputs do not match
            `kind`.
    """
    loaded = tf.saved_model.load(saved_model_dir)
    signature, input_name = _serving_signature(loaded, saved_model_dir)
    outputs = _run(lambda batch: {key: value.numpy() for key, value
                                  in signature(**{input_name: batch}).items()},
                   serialized, batch_size)
    return Scored(to_model_outputs(outputs, labels, kind=kind, source=saved_model_dir),
                  _class_names(outputs))


def to_model_outputs(outputs: Mapping[str, np.ndarray], labels: np.ndarray, *,
                     kind: TaskKind | None = None, source: str = "the model") -> ModelOutputs:
    """Reads predictions out of a signature's outputs.

    Args:
        outputs: {output name: [n, ...] array}.
        labels: [n] labels.
        kind: The task expected; None infers it from the outputs.
        source: Names the model in errors.

    Raises:
        ValueError: If no known output is there, or it does not fit `kind`.

    Example:
        >>> to_model_outputs({"logistic": np.array([[0.3]])}, np.array([1])).kind
        <TaskKind.BINARY: 'binary_classification'>
    """
    n = len(labels)
    if "logistic" in outputs:
        inferred, predictions = TaskKind.BINARY, outputs["logistic"].reshape(n)
    elif "probabilities" in outputs:
        probabilities = outputs["probabilities"].reshape(n, -1)
        if probabilities.shape[1] == 2:
            inferred, predictions = TaskKind.BINARY, probabilities[:, 1]
        else:
            inferred, predictions = TaskKind.MULTICLASS, probabilities
    elif "predictions" in outputs:
        inferred, predictions = TaskKind.REGRESSION, outputs["predictions"].reshape(n, -1)
        if predictions.shape[1] != 1:
            raise ValueError(f"{source!r} predicts {predictions.shape[1]} values per example; "
                             "the evaluator analyzes single-value regression.")
        predictions = predictions[:, 0]
    else:
        raise ValueError(f"{source!r} returns {sorted(outputs)}; the evaluator reads "
                         "`logistic` or `probabilities` (classification) or `predictions` "
                         "(regression), as estimator_lib's heads name them.")
    if kind is not None and TaskKind(kind) != inferred:
        raise ValueError(f"{source!r} makes {inferred.value} predictions; expected "
                         f"{TaskKind(kind).value} ones (like the candidate's).")
    if inferred != TaskKind.REGRESSION:
        labels = np.asarray(labels).astype(np.int64)
    return ModelOutputs(inferred, np.asarray(labels), predictions)


def _run(score: Callable[[tf.Tensor], Mapping[str, np.ndarray]], serialized: Sequence[bytes],
         batch_size: int) -> dict[str, np.ndarray]:
    parts: dict[str, list[np.ndarray]] = {}
    for batch in batches(serialized, batch_size):
        for key, value in score(batch).items():
            parts.setdefault(key, []).append(value)
    if not parts:
        raise ValueError("No examples to score.")
    return {key: np.concatenate(values) for key, values in parts.items()}


def _serving_signature(loaded, path: str):
    signatures = loaded.signatures
    predict = signatures.get("predict")
    if predict is not None and EXAMPLES_KEY in predict.structured_input_signature[1]:
        return predict, EXAMPLES_KEY
    default = signatures.get("serving_default")
    if default is not None:
        inputs = default.structured_input_signature[1]
        if len(inputs) == 1:
            (name, spec), = inputs.items()
            if spec.dtype == tf.string:
                return default, name
    raise ValueError(f"The baseline {path!r} has no signature over serialized tf.Example: "
                     "expected `predict` with an `examples` input, or `serving_default` with "
                     f"one string input (it has {sorted(signatures)}).")


def _class_names(outputs: Mapping[str, np.ndarray]) -> tuple[str, ...] | None:
    classes = outputs.get("all_classes")
    if classes is None or len(classes) == 0:
        return None
    return tuple(c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c)
                 for c in np.asarray(classes)[0])
