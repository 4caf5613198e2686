"""A trainer module whose gradients are all dense: the taxi model_fn with one-hot columns.

The example module (examples/chicago_taxi/trainer_module.py) embeds its categorical ids,
whose gradients are IndexedSlices; a MultiWorkerMirroredStrategy cluster cannot all-reduce
those yet (the workers' batches touch different numbers of rows: "Shape mismatch in the
collective instance"). The cluster tests train this one instead.
"""

import keras

import estimator_lib as el

TASK = "classification"


def model_fn(features, labels, mode, params):
    """A small DNN over the numbers and the one-hot ids of the transformed features."""
    fc = el.feature_column
    columns = []
    for name, entry in sorted(params["feature_description"]["features"].items()):
        if name == params["label_key"]:
            continue
        if entry["kind"] == "numeric":
            columns.append(fc.numeric_column(name))
        elif entry["kind"] == "categorical_identity":
            ids = fc.categorical_column_with_identity(name, entry["num_buckets"],
                                                      default_value=0)
            columns.append(fc.indicator_column(ids))
    hidden = fc.DenseFeatures(columns)(features)
    for units in params.get("hidden_units", [16, 8]):
        hidden = keras.layers.Dense(units, activation="relu")(hidden)
    logits = keras.layers.Dense(1)(hidden)
    return el.heads.BinaryClassHead().create_estimator_spec(
        features, mode, logits, labels=labels,
        optimizer=keras.optimizers.Adagrad(params.get("learning_rate", 0.1)))
