"""The eval model: a serving model and its transform graph, scoring raw examples with labels.

The evaluator judges a model on the RAW eval split, so that the candidate and a baseline
(a served model, which takes raw tf.Example) are scored on the same rows with the same
labels, and slices can use raw feature values. The serving model gives the predictions but
not the label: serving requests carry no label, so its graph never computes one. The eval
model adds it: it runs the serving model's `predict` signature and, beside it, the transform
graph over the same raw examples, and returns the predictions plus `label`, the label as
the transform graph computes it from its raw columns (the label the model was trained on).

It lives in memory only: built from the two SavedModels the model artifact and the
transform step already hold, so each checkpoint is exported once (as the serving model).

Example:
    >>> model = load_eval_model("/runs/1/model/serving_model", "/runs/1/transform/graph",
    ...                         label_key="big_tipper")
    >>> outputs = model(tf.constant(serialized_examples))
    >>> sorted(outputs)[:3], outputs["label"].shape
    (['all_class_ids', 'all_classes', 'class_ids'], (2, 1))
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import tensorflow as tf

import estimator_lib as el
from components.model.export import EXAMPLES_KEY

__all__ = ["LABEL_OUTPUT", "EvalModel", "load_eval_model"]

LABEL_OUTPUT = "label"  # what the eval model adds to the `predict` signature's outputs
_PREDICT = el.heads.SignatureKeys.PREDICT


class EvalModel:
    """A serving model's `predict` outputs plus the label, on raw serialized examples.

    Build it with `load_eval_model`. Calling it on a batch of serialized tf.Example (a
    `[n]` string tensor or a list of bytes) returns {output name: `[n, ...]` numpy array}:
    the `predict` signature's outputs and `label`.

    Attributes:
        serving_dir: The serving model scored (names the model in messages).
        label_key: The label feature of the transform graph.

    Example:
        >>> model = load_eval_model(serving_dir, graph_uri, label_key="big_tipper")
        >>> model([serialized])["logistic"].shape
        (1, 1)
    """

    def __init__(self, serving_dir: str, transform_graph_uri: str, label_key: str):
        import tensorflow_transform as tft

        self.serving_dir = serving_dir
        self.label_key = label_key
        # Kept as attributes: the function below reads their variables and resources.
        self._serving = tf.saved_model.load(serving_dir)
        predict = self._serving.signatures.get(_PREDICT)
        if predict is None or EXAMPLES_KEY not in predict.structured_input_signature[1]:
            raise ValueError(
                f"{serving_dir!r} has no {_PREDICT!r} signature over serialized tf.Example "
                f"(input {EXAMPLES_KEY!r}); it has {sorted(self._serving.signatures)}. Is it "
                "a serving model the trainer exported?")
        tft_output = tft.TFTransformOutput(transform_graph_uri)
        transformed_keys = sorted(tft_output.transformed_feature_spec())
        if label_key not in transformed_keys:
            raise ValueError(f"The transform graph {transform_graph_uri!r} outputs no label "
                             f"{label_key!r}; its outputs are {transformed_keys}.")
        raw_spec = dict(tft_output.raw_feature_spec())
        self._transform = tft_output.transform_features_layer()
        transform = self._transform

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=EXAMPLES_KEY)])
        def evaluate(examples):
            outputs = dict(predict(**{EXAMPLES_KEY: examples}))
            outputs[LABEL_OUTPUT] = transform(tf.io.parse_example(examples, raw_spec))[label_key]
            return outputs

        self._evaluate = evaluate

    def __call__(self, examples) -> dict[str, np.ndarray]:
        """{output name: array} on a batch of serialized tf.Example; see the class."""
        outputs: Mapping[str, tf.Tensor] = self._evaluate(tf.convert_to_tensor(examples,
                                                                                 tf.string))
        return {name: value.numpy() for name, value in outputs.items()}


def load_eval_model(serving_dir: str, transform_graph_uri: str, *, label_key: str) -> EvalModel:
    """The eval model of the serving model at `serving_dir`, in memory; see the module.

    Args:
        serving_dir: A serving SavedModel (`components.model.export.export_serving_model`
            writes one), with a `predict` signature over serialized tf.Example.
        transform_graph_uri: The transform graph it was trained behind.
        label_key: The label feature, as the transform graph outputs it.

    Raises:
        ValueError: If the serving model has no such `predict` signature, or the transform
            graph outputs no `label_key`.

    Example:
        >>> model = load_eval_model(serving_dir, graph_uri, label_key="big_tipper")
        >>> model(serialized)["label"][:3, 0]
        array([0, 1, 0])
    """
    return EvalModel(serving_dir, transform_graph_uri, label_key)
