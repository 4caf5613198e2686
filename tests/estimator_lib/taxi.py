"""The Chicago taxi model and data for the cluster tests (toy.py's bigger sibling).

`write_shards` writes the project's taxi CSV (examples/chicago_taxi/data) as tf.Example
TFRecord shards, split as `examples.chicago_taxi.data.split` does; the label is TFX's
(tips > 20% of the fare). `make_estimator` is the canned `el.DNNClassifier` over
`el.feature_column` columns of the raw features. Not `el.DNNLinearCombinedClassifier`, the
pipeline's default: its callable train_op is run by the Estimator's eager build step in
cross-replica context, which fails under MirroredStrategy and MultiWorkerMirroredStrategy
("DistributedVariable.handle is not available outside the replica context"). The same
functions serve one process and every task of a cluster.
"""

from __future__ import annotations

import glob
import os

import keras
import numpy as np
import tensorflow as tf

import estimator_lib as el
from examples.chicago_taxi import data
from examples.chicago_taxi.estimator_demo import feature_spec

GLOBAL_BATCH = 64
EVAL_BATCH = 512
SHUFFLE_BUFFER = 2048
NUM_SHARDS = 4


def write_shards(directory: str, num_shards: int = NUM_SHARDS) -> str:
    """Writes `train-0000i-of-0000n.tfrecord` and `eval-...` shards; returns `directory`.

    The rows are shuffled (with a fixed seed) and dealt to the shards round-robin, so every
    shard, and every stretch of one, is a like sample. The CSV's order is not random:
    read in file order through a small shuffle buffer, half of the files trained a model
    whose eval loss was 0.23 against 0.21 from all of them, which made a two-worker
    cluster (each worker reading its half) look worse than one process.
    """
    os.makedirs(directory, exist_ok=True)
    for name, frame in zip(("train", "eval"), data.split(data.load()), strict=True):
        frame = frame.sample(frac=1.0, random_state=0)
        writers = [tf.io.TFRecordWriter(os.path.join(
            directory, f"{name}-{i:05d}-of-{num_shards:05d}.tfrecord")) for i in range(num_shards)]
        for index, row in enumerate(frame.itertuples(index=False)):
            writers[index % num_shards].write(_example(row._asdict()))
        for writer in writers:
            writer.close()
    return directory


def _example(row) -> bytes:
    feature = {}
    for key in data.NUMERIC_KEYS:
        feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=[float(row[key])]))
    for key in data.CATEGORICAL_INT_KEYS:
        feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(row[key])]))
    for key in data.STRING_KEYS:
        feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[row[key].encode()]))
    feature[data.LABEL_KEY] = tf.train.Feature(
        float_list=tf.train.FloatList(value=[float(row[data.LABEL_KEY])]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _parse(serialized):
    spec = dict(feature_spec(), **{data.LABEL_KEY: tf.io.FixedLenFeature([1], tf.float32)})
    features = tf.io.parse_example(serialized, spec)
    return features, features.pop(data.LABEL_KEY)


def train_input_fn(directory: str, global_batch: int = GLOBAL_BATCH):
    """An input_fn over the train shards, sharded by file per input pipeline.

    Each input pipeline (a worker of a synchronous cluster) reads its own files and makes
    its replicas' share of the global batch; a parameter-server worker (one pipeline per
    worker, each given the whole data) reads every file in its own shuffled order.
    """
    files = sorted(glob.glob(os.path.join(directory, "train-*.tfrecord")))

    def input_fn(input_context=None):
        dataset = tf.data.Dataset.from_tensor_slices(files)
        batch = global_batch
        if input_context is not None:
            dataset = dataset.shard(input_context.num_input_pipelines,
                                    input_context.input_pipeline_id)
            batch = input_context.get_per_replica_batch_size(global_batch)
        dataset = dataset.interleave(tf.data.TFRecordDataset, cycle_length=len(files))
        dataset = dataset.shuffle(SHUFFLE_BUFFER).repeat().batch(batch)
        return dataset.map(_parse).prefetch(2)

    return input_fn


def eval_input_fn(directory: str):
    """An input_fn over every eval shard once, in order."""
    files = sorted(glob.glob(os.path.join(directory, "eval-*.tfrecord")))

    def input_fn():
        return tf.data.TFRecordDataset(files).batch(EVAL_BATCH).map(_parse)

    return input_fn


def _log1p(values):
    return tf.math.log1p(tf.maximum(values, 0.0))


def feature_columns():
    """The DNN's columns over the raw taxi features, all dense.

    Categorical columns enter as one-hot `indicator_column`s (dense gradients);
    `make_wide_deep` is the model with sparse ones.
    """
    columns = _columns()
    return [*columns["numeric"], *(el.feature_column.indicator_column(c) for c in (
        *columns["places"], *columns["times"], *columns["areas"], columns["payment"],
        columns["company"]))]


def _columns() -> dict:
    """The taxi columns both models build on (new column objects per call)."""
    fc = el.feature_column
    latitude = np.linspace(41.65, 42.05, 9).tolist()
    longitude = np.linspace(-87.95, -87.55, 9).tolist()
    return {
        "numeric": [fc.numeric_column(k, normalizer_fn=_log1p)
                    for k in ("trip_miles", "fare", "trip_seconds")],
        "places": [fc.bucketized_column(fc.numeric_column(k),
                                        latitude if "latitude" in k else longitude)
                   for k in ("pickup_latitude", "dropoff_latitude", "pickup_longitude",
                             "dropoff_longitude")],
        "times": [fc.categorical_column_with_identity(k, n, default_value=0) for k, n in (
            ("trip_start_hour", 24), ("trip_start_day", 8), ("trip_start_month", 13))],
        "areas": [fc.categorical_column_with_identity(k, 78, default_value=0)
                  for k in ("pickup_community_area", "dropoff_community_area")],
        "payment": fc.categorical_column_with_hash_bucket("payment_type", 16),
        "company": fc.categorical_column_with_hash_bucket("company", 100),
    }


def make_estimator(model_dir: str, config: el.RunConfig) -> el.Estimator:
    """The taxi classifier: `el.DNNClassifier` with 32 and 16 units.

    Adagrad, its default optimizer, at 0.2 rather than its default 0.05: 300 steps then
    bring it close to convergence, where runs that see the batches in another order agree
    (at 0.05 one process's accuracy still moved by 0.03 between seeds).
    """
    return el.DNNClassifier([32, 16], feature_columns(), model_dir=model_dir, config=config,
                            optimizer=keras.optimizers.Adagrad(0.2))


def make_wide_deep(model_dir: str, config: el.RunConfig) -> el.Estimator:
    """Wide & deep over the taxi features, with sparse gradients: the linear part's
    categorical weights and 4-dim embeddings of the community areas and the company."""
    fc = el.feature_column
    columns = _columns()
    times, areas, numeric = columns["times"], columns["areas"], columns["numeric"]
    payment, company = columns["payment"], columns["company"]
    return el.DNNLinearCombinedClassifier(
        linear_feature_columns=[*times, *areas, company, payment],
        dnn_feature_columns=[*numeric, fc.indicator_column(payment),
                             *(fc.embedding_column(c, 4) for c in (*areas, company))],
        dnn_hidden_units=[32, 16], model_dir=model_dir, config=config)
