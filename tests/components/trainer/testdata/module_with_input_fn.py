"""A trainer module that reads its own data: the taxi model_fn plus an input_fn.

The input_fn logs each call (a line "training" or "evaluation") to the file named by
$TRAINER_MODULE_CALLS, so a test can see the trainer and the evaluator used it.
"""

import os

import tensorflow as tf

from examples.chicago_taxi.trainer_module import TASK, model_fn  # noqa: F401


def input_fn(files, feature_spec, *, label_key, batch_size, training):
    with open(os.environ["TRAINER_MODULE_CALLS"], "a") as f:
        f.write("training\n" if training else "evaluation\n")
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    if training:
        dataset = dataset.shuffle(1000, seed=1).repeat()
    dataset = dataset.batch(batch_size)

    def parse(serialized):
        features = tf.io.parse_example(serialized, feature_spec)
        features = {k: tf.expand_dims(v, -1) for k, v in features.items()}
        return features, features.pop(label_key)

    return dataset.map(parse)
