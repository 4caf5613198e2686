"""Input functions over the transform step's transformed examples, for training and evaluation.

Each transformed feature is one value per example (`shape []` in the transformed feature
spec); the input_fn hands features to model_fn as `[batch, 1]` tensors, the shape feature
columns and Keras layers expect, and the label as `[batch, 1]`.

Example:
    >>> train_fn = make_input_fn(transformed_uri, "train", graph_uri, label_key="big_tipper",
    ...                          batch_size=256, train=True)
    >>> estimator.train(train_fn, max_steps=1000)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

from components import artifacts
from components.artifacts import transform_graph

__all__ = ["as_column", "make_input_fn"]


def make_input_fn(examples_uri: str, split: str, transform_graph_uri: str, *, label_key: str,
                  batch_size: int, train: bool, seed: int | None = None,
                  shuffle_buffer: int = 10_000, num_epochs: int | None = None,
                  label_vocabulary: Sequence[str] | None = None) -> Callable:
    """An input_fn reading one split of transformed examples.

    Args:
        examples_uri: The transform step's transformed examples (`Split-<name>/` shards).
        split: The split to read, e.g. "train".
        transform_graph_uri: The transform graph (for the transformed feature spec).
        label_key: The label feature; returned apart from the features.
        batch_size: Examples per batch.
        train: Shuffle and repeat (endlessly, or `num_epochs` times) for training; read once
            in order otherwise.
        seed: The shuffle seed.
        shuffle_buffer: Examples in the shuffle buffer.
        num_epochs: Passes over the data when training; None repeats forever.
        label_vocabulary: A class label's classes: examples whose label is not one of them
            (a class the training split never had; the transform step counts them by name)
            are left out, since no class id stands for them.

    Raises:
        FileNotFoundError: If the split has no shards.
        ValueError: If `label_key` is not a transformed feature, or `batch_size` < 1.
    """
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1; received {batch_size}.")
    files = artifacts.examples_files(examples_uri, split)
    spec = transform_graph.transformed_feature_spec(transform_graph_uri)
    if label_key not in spec:
        raise ValueError(f"The label {label_key!r} is not a transformed feature; the "
                         f"transformed features are {sorted(spec)}.")

    def parse(serialized):
        features = tf.io.parse_example(serialized, spec)
        features = {k: as_column(v) for k, v in features.items()}
        return features, features.pop(label_key)

    def known_label(serialized):
        label = tf.io.parse_single_example(serialized, {label_key: spec[label_key]})[label_key]
        classes = tf.constant(list(label_vocabulary), tf.string)
        return tf.reduce_any(tf.equal(tf.reshape(label, [-1])[:1], classes))

    def input_fn():
        dataset = tf.data.Dataset.from_tensor_slices(files)
        if train:
            dataset = dataset.shuffle(len(files), seed=seed)
        # One reading thread: a threaded interleave hands every record across threads,
        # which costs more than reading (see el.inputs.make_batched_features_input_fn).
        dataset = dataset.interleave(
            lambda f: tf.data.TFRecordDataset(f, compression_type="GZIP"),
            cycle_length=min(4, len(files)))
        if label_vocabulary is not None:
            dataset = dataset.filter(known_label)
        if train:
            dataset = dataset.shuffle(shuffle_buffer, seed=seed).repeat(num_epochs)
        dataset = dataset.batch(batch_size, drop_remainder=train and num_epochs is None)
        dataset = dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return dataset.prefetch(tf.data.AUTOTUNE)

    return input_fn


def as_column(value):
    """A transformed feature as model_fn gets it: `[batch]` becomes `[batch, 1]`; sparse and
    ragged values, and values already of rank 2 or more, stay as they are."""
    if isinstance(value, tf.SparseTensor | tf.RaggedTensor):
        return value
    return tf.expand_dims(value, -1) if value.shape.rank == 1 else value
