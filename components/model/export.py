"""The trainer's export: a serving SavedModel over raw tf.Example.

The serving model embeds the transform graph: it parses raw serialized tf.Example (what
clients have), applies the same tf.Transform graph the training data went through (no
training/serving skew), and runs the model in PREDICT mode. Its signatures are TF Serving's:
`serving_default` and `predict` take serialized examples under `examples`, `classification`
or `regression` under `inputs`.

It is the only export of a checkpoint: the evaluator scores it with the label the transform
graph computes, in memory (`components.model.eval_model`), and the pusher pushes it.

```
<model_uri>/serving_model/   saved_model.pb, variables/, assets/ (vocabularies)
```

Example:
    >>> export_serving_model(estimator, graph_uri, model_uri, label_key="big_tipper")
    '/runs/1/model/serving_model'
"""

from __future__ import annotations

import os

import tensorflow as tf

import estimator_lib as el
from components.artifacts import model, transform_graph
from components.model.inputs import as_column

__all__ = ["EXAMPLES_KEY", "export_serving_model", "serving_receiver_fn"]

EXAMPLES_KEY = "examples"  # the serving signatures' input of serialized tf.Example


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


def export_serving_model(estimator: el.Estimator, transform_graph_uri: str, model_uri: str, *,
                         label_key: str, checkpoint_path: str | None = None) -> str:
    """Exports `<model_uri>/serving_model/` from a checkpoint; returns its path.

    The folder appears whole or not at all (written beside it, then renamed); an existing
    one (a retried step) is replaced.

    Args:
        estimator: The trained Estimator.
        transform_graph_uri: The transform graph the model was trained behind.
        model_uri: The model artifact folder (or the evaluator's candidate folder).
        label_key: The label feature (the serving model does not read it).
        checkpoint_path: The checkpoint to export; defaults to the latest.

    Example:
        >>> export_serving_model(estimator, graph_uri, "/runs/1/model", label_key="big_tipper",
        ...                      checkpoint_path="/runs/1/model/model_dir/ckpt-2000")
        '/runs/1/model/serving_model'
    """
    tf.io.gfile.makedirs(model_uri)
    staging = os.path.join(model_uri, f".export-{os.getpid()}")
    try:
        exported = estimator.export_saved_model(
            staging, serving_receiver_fn(transform_graph_uri, label_key),
            checkpoint_path=checkpoint_path)
        return _replace(exported, os.path.join(model_uri, model.SERVING_MODEL_DIR))
    finally:
        if tf.io.gfile.exists(staging):
            tf.io.gfile.rmtree(staging)


def _replace(source: str, destination: str) -> str:
    if tf.io.gfile.exists(destination):
        tf.io.gfile.rmtree(destination)
    tf.io.gfile.rename(source, destination)
    return destination
