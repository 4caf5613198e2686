"""A trainer module for the taxi pipeline: a model_fn over the transformed taxi features.

The trainer loads this file (its source is embedded in the pipeline) and calls
`model_fn(features, labels, mode, params)`. `params` holds the config's hyperparameters plus
`feature_description` (the transform step's `feature_columns.json`: each transformed
feature's kind and bucket count) and `label_key`. The model: the numbers and an embedding per
categorical feature into a small DNN, and a BinaryClassHead that supplies the loss, the
metrics and TF Serving's export signatures.
"""

import keras

import estimator_lib as el

TASK = "classification"


def _columns(description, label_key, dimension):
    fc = el.feature_column
    columns = []
    for name, entry in sorted(description["features"].items()):
        if name == label_key:
            continue
        if entry["kind"] == "numeric":
            columns.append(fc.numeric_column(name))
        elif entry["kind"] == "categorical_identity":
            ids = fc.categorical_column_with_identity(name, entry["num_buckets"],
                                                      default_value=0)
            columns.append(fc.embedding_column(ids, dimension))
    return columns


def model_fn(features, labels, mode, params):
    """A DNN over the transformed features; see the module docstring."""
    columns = _columns(params["feature_description"], params["label_key"],
                       params.get("embedding_dimension", 8))
    hidden = el.feature_column.DenseFeatures(columns)(features)
    for units in params.get("hidden_units", [32, 16]):
        hidden = keras.layers.Dense(units, activation="relu")(hidden)
    logits = keras.layers.Dense(1)(hidden)
    head = el.heads.BinaryClassHead()
    return head.create_estimator_spec(
        features, mode, logits, labels=labels,
        optimizer=keras.optimizers.Adam(params.get("learning_rate", 0.003)))
