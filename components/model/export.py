"""The trainer's exports: a serving SavedModel over raw tf.Example, and an eval SavedModel.

The serving model embeds the transform graph: it parses raw serialized tf.Example (what
clients have), applies the same tf.Transform graph the training data went through (no
training/serving skew), and runs the model in PREDICT mode. Its signatures are TF Serving's:
`serving_default` and `predict` take serialized examples under `examples`, `classification`
or `regression` under `inputs`.

The eval model wraps the serving model for model analysis: its `evaluate` signature takes
raw serialized examples that still carry the label's raw columns, and returns the `predict`
signature's outputs plus `label`, the label as the transform graph computes it. The evaluator
runs it (and a baseline's serving model) over the raw eval split, so both are judged on the
same rows with the same labels, and slices can use raw feature values.

```
<model_uri>/serving_model/   saved_model.pb, variables/, assets/ (vocabularies)
<model_uri>/eval_model/      saved_model.pb: signature `evaluate`
```

Example:
    >>> exported = export_models(estimator, graph_uri, model_uri, label_key="big_tipper")
    >>> exported.serving_dir
    '/runs/1/model/serving_model'
"""

from __future__ import annotations

import dataclasses
import os

import tensorflow as tf

import estimator_lib as el
from components.artifacts import model, transform_graph
from components.model.inputs import as_column

__all__ = [
    "EVAL_SIGNATURE",
    "ExportedModels",
    "export_eval_model",
    "export_models",
    "serving_receiver_fn",
]

EVAL_SIGNATURE = "evaluate"
EXAMPLES_KEY = "examples"
LABEL_OUTPUT = "label"


@dataclasses.dataclass(frozen=True)
class ExportedModels:
    """Where `export_models` wrote the two SavedModels."""

    serving_dir: str
    eval_dir: str


def serving_receiver_fn(transform_graph_uri: str, label_key: str):
    """A receiver fn: raw serialized tf.Example -> the transform graph -> model features.

    A request needs only the raw columns the features read (the transform step's
    `serving_raw_columns`); the label and the raw columns only it reads are not parsed.

    Example:
        >>> estimator.export_saved_model(base, serving_receiver_fn(graph_uri, "big_tipper"))
    """
    import tensorflow_transform as tft

    tft_output = tft.TFTransformOutput(transform_graph_uri)
    raw_spec = dict(tft_output.raw_feature_spec())
    serving_columns = transform_graph.read_feature_description(transform_graph_uri).get("serving_raw_columns")
    if serving_columns:
        raw_spec = {k: v for k, v in raw_spec.items() if k in set(serving_columns)}

    def receiver_fn():
        layer = tft_output.transform_features_layer()

        def features(tensors):
            parsed = tf.io.parse_example(tensors[EXAMPLES_KEY], raw_spec)
            transformed = dict(layer(parsed))
            transformed.pop(label_key, None)
            return {k: as_column(v) for k, v in transformed.items()}

        return el.export.ServingInputReceiver(
            features=features,
            receiver_tensors={EXAMPLES_KEY: tf.TensorSpec([None], tf.string, name=EXAMPLES_KEY)},
            trackables=(layer,))

    return receiver_fn


def export_models(estimator: el.Estimator, transform_graph_uri: str, model_uri: str, *,
                  label_key: str, checkpoint_path: str | None = None) -> ExportedModels:
    """Exports `<model_uri>/serving_model/` and `<model_uri>/eval_model/` from a checkpoint.

    Each folder appears whole or not at all (written beside it, then renamed); an existing
    one (a retried step) is replaced.

    Args:
        estimator: The trained Estimator.
        transform_graph_uri: The transform graph the model was trained behind.
        model_uri: The model artifact folder.
        label_key: The label feature.
        checkpoint_path: The checkpoint to export; defaults to the latest.
    """
    tf.io.gfile.makedirs(model_uri)
    staging = os.path.join(model_uri, f".export-{os.getpid()}")
    try:
        exported = estimator.export_saved_model(
            staging, serving_receiver_fn(transform_graph_uri, label_key),
            checkpoint_path=checkpoint_path)
        serving_dir = _replace(exported, os.path.join(model_uri, model.SERVING_MODEL_DIR))
    finally:
        if tf.io.gfile.exists(staging):
            tf.io.gfile.rmtree(staging)
    eval_dir = export_eval_model(serving_dir, transform_graph_uri,
                                 os.path.join(model_uri, model.EVAL_MODEL_DIR), label_key=label_key)
    return ExportedModels(serving_dir=serving_dir, eval_dir=eval_dir)


class _EvalModule(tf.Module):
    def __init__(self, serving_dir: str, transform_graph_uri: str, label_key: str):
        import tensorflow_transform as tft

        super().__init__()
        self.serving = tf.saved_model.load(serving_dir)
        tft_output = tft.TFTransformOutput(transform_graph_uri)
        self.transform = tft_output.transform_features_layer()
        raw_spec = dict(tft_output.raw_feature_spec())
        predict = self.serving.signatures["predict"]

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=EXAMPLES_KEY)])
        def evaluate(examples):
            outputs = dict(predict(**{EXAMPLES_KEY: examples}))
            label = self.transform(tf.io.parse_example(examples, raw_spec))[label_key]
            outputs[LABEL_OUTPUT] = label
            return outputs

        self.evaluate = evaluate


def export_eval_model(serving_dir: str, transform_graph_uri: str, eval_dir: str, *,
                      label_key: str) -> str:
    """Writes the eval SavedModel for the serving model at `serving_dir`; returns its path.

    Example:
        >>> export_eval_model(serving_dir, graph_uri, "/runs/1/model/eval_model",
        ...                   label_key="big_tipper")
    """
    module = _EvalModule(serving_dir, transform_graph_uri, label_key)
    staging = eval_dir.rstrip("/") + f".tmp-{os.getpid()}"
    if tf.io.gfile.exists(staging):
        tf.io.gfile.rmtree(staging)
    tf.saved_model.save(module, staging, signatures={EVAL_SIGNATURE: module.evaluate})
    return _replace(staging, eval_dir)


def _replace(source: str, destination: str) -> str:
    if tf.io.gfile.exists(destination):
        tf.io.gfile.rmtree(destination)
    tf.io.gfile.rename(source, destination)
    return destination

