"""The raw eval examples the final analysis scores: serialized tf.Example and feature values.

Example:
    >>> serialized = read_serialized(examples_uri, "eval")
    >>> feature_values(serialized, ["payment_type"])["payment_type"][:2]
    ['Cash', 'Credit Card']
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import tensorflow as tf

from components import artifacts

__all__ = ["MISSING", "batches", "feature_values", "read_serialized"]

MISSING = "<missing>"  # the slice value of an example without the feature


def read_serialized(examples_uri: str, split: str) -> list[bytes]:
    """Every serialized tf.Example of one split of the ingest step's examples.

    Raises:
        FileNotFoundError: If the split has no shards.
    """
    files = artifacts.examples_files(examples_uri, split)
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return [record.numpy() for record in dataset]


def batches(serialized: Sequence[bytes], batch_size: int) -> Iterator[tf.Tensor]:
    """`serialized` as string tensors of at most `batch_size` examples."""
    for start in range(0, len(serialized), batch_size):
        yield tf.constant(serialized[start:start + batch_size])


def feature_values(serialized: Sequence[bytes], keys: Sequence[str]) -> dict[str, list]:
    """One value per example for each feature of `keys` (a slice's value).

    A single value is itself (bytes decoded as UTF-8, floats as Python floats); several
    values are joined with ","; an absent or empty feature is `MISSING`.

    Raises:
        ValueError: If a key is absent from every example (naming the features present).
    """
    values: dict[str, list] = {key: [] for key in keys}
    present: set[str] = set()
    for record in serialized:
        features = tf.train.Example.FromString(record).features.feature
        present.update(features.keys())
        for key in keys:
            values[key].append(_value(features[key]) if key in features else MISSING)
    absent = [key for key in keys if key not in present]
    if absent:
        raise ValueError(f"Slice keys {absent} are not features of the raw examples; the "
                         f"examples have {sorted(present)}.")
    return values


def _value(feature: tf.train.Feature):
    kind = feature.WhichOneof("kind")
    items = list(getattr(feature, kind).value) if kind else []
    if not items:
        return MISSING
    items = [item.decode("utf-8", "replace") if isinstance(item, bytes) else item
             for item in items]
    return items[0] if len(items) == 1 else ",".join(str(item) for item in items)
