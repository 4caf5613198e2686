"""The Chicago taxi features as a user preprocessing module (the alternative to a YAML spec).

The transform step imports this file (`module_file=`) and calls `preprocessing_fn` with the
raw features as TFXIO hands them over: a dense `[batch, 1]` tensor for a column that is always
present, a `tf.SparseTensor` for one that may be missing. `LABEL_KEY` tells the trainer which
output is the label. It computes what `transform_spec.yaml` does, the TFX taxi way.
"""

import tensorflow as tf
import tensorflow_transform as tft

LABEL_KEY = "big_tipper"
DENSE_FLOAT_KEYS = ("trip_miles", "fare", "trip_seconds")
BUCKET_KEYS = ("pickup_latitude", "pickup_longitude", "dropoff_latitude", "dropoff_longitude")
NUM_BUCKETS = 10
CATEGORICAL_INT_KEYS = {"trip_start_hour": 24, "trip_start_day": 8, "trip_start_month": 13}
VOCABULARY_KEYS = ("payment_type", "company")
VOCABULARY_TOP_K = 1000
NUM_OOV_BUCKETS = 10


def _fill_in_missing(x, default_value):
    """A scalar column as a dense [batch] vector, missing values set to `default_value`."""
    if isinstance(x, tf.SparseTensor):
        x = tf.sparse.to_dense(
            tf.SparseTensor(x.indices, x.values, [x.dense_shape[0], 1]),
            default_value=default_value)
    return tf.reshape(x, [-1])


def preprocessing_fn(inputs):
    """tf.Transform's preprocessing_fn: raw taxi features in, model features out."""
    outputs = {}
    for key in DENSE_FLOAT_KEYS:
        zero = tf.constant(0, inputs[key].dtype)  # trip_seconds is an int column
        outputs[key] = tft.scale_to_z_score(
            tf.cast(_fill_in_missing(inputs[key], zero), tf.float32))
    for key in BUCKET_KEYS:
        outputs[key] = tft.bucketize(_fill_in_missing(inputs[key], 0.0), NUM_BUCKETS)
    for key, num_buckets in CATEGORICAL_INT_KEYS.items():
        ids = _fill_in_missing(inputs[key], tf.constant(0, tf.int64))
        outputs[key] = tf.where((ids >= 0) & (ids < num_buckets), ids, tf.zeros_like(ids))
    for key in VOCABULARY_KEYS:
        outputs[key] = tft.compute_and_apply_vocabulary(
            _fill_in_missing(inputs[key], ""), top_k=VOCABULARY_TOP_K,
            num_oov_buckets=NUM_OOV_BUCKETS, vocab_filename=key)
    tips = _fill_in_missing(inputs["tips"], 0.0)
    fare = _fill_in_missing(inputs["fare"], 0.0)
    outputs[LABEL_KEY] = tf.cast(
        tf.cast(tips, tf.float64) > 0.2 * tf.cast(fare, tf.float64), tf.int64)
    return outputs
