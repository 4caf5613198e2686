"""The transform step's two artifacts: the transform graph (with the feature contract) and
the transformed examples.

Input (the ingest step's output, as `components.artifacts.examples` spells it):

    <examples_uri>/Split-<name>/data-*-of-*.tfrecord.gz   gzip TFRecord of tf.Example, per split
    <examples_uri>/ingest_result.json                      rows per split (checked when present)
    <schema_uri>/schema.pbtxt                              tensorflow_metadata Schema (text proto)

Output:

    <transform_graph_uri>/                          a tft.TFTransformOutput folder
        transform_fn/                               the transform SavedModel (+ assets/<vocabulary>)
        transformed_metadata/schema.pbtxt           the transformed schema (vocab/bucket domains)
        metadata/schema.pbtxt                       the raw columns the graph reads
        transformed_feature_spec.json               how to parse the transformed examples
        feature_columns.json                        what each transformed feature is, for the trainer
        transform_spec.yaml | preprocessing_module.py   what produced the graph (a copy)
    <transformed_examples_uri>/
        Split-<name>/data-*-of-*.tfrecord.gz        the ingest layout: one reader for both
        transform_result.json                       rows per split (and a class label's unseen
                                                    eval labels, by name); written last

Example:
    >>> read_feature_description(transform_graph_uri)["label"]
    'big_tipper'
"""

from __future__ import annotations

import json
import os
from typing import Any

import tensorflow as tf

from components.artifacts import examples as artifacts
from components.artifacts import io

SPLIT_PREFIX = artifacts.SPLIT_PREFIX
SHARD_PREFIX = "data"  # the ingest step's shard names, so readers treat both alike
TFRECORD_SUFFIX = artifacts.EXAMPLES_SUFFIX
RAW_METADATA_DIR = "metadata"  # tft.TFTransformOutput.RAW_METADATA_DIR
TRANSFORMED_FEATURE_SPEC_FILE = "transformed_feature_spec.json"
FEATURE_COLUMNS_FILE = "feature_columns.json"
RESULT_FILE = "transform_result.json"
SPEC_COPY_FILE = "transform_spec.yaml"
MODULE_COPY_FILE = "preprocessing_module.py"
TEMP_DIR = ".tft_temp"
# Transformed shards are written under <transformed_examples_uri>/.staging-<id>/<split>/ with
# one manifest of every split's files (shards.manifest.json), and renamed into Split-<name>/
# once counted.
STAGING_PREFIX = ".staging-"
MANIFEST_FILE = "shards.manifest.json"

# Everything the step writes under its output URIs; cleared before a run so a retry into the
# same URIs leaves no stale shards behind.
GRAPH_OUTPUTS = ("transform_fn", "transformed_metadata", RAW_METADATA_DIR,
                 TRANSFORMED_FEATURE_SPEC_FILE, FEATURE_COLUMNS_FILE, SPEC_COPY_FILE,
                 MODULE_COPY_FILE, TEMP_DIR, "transform_tmp")


def split_dir(uri: str, split: str) -> str:
    """`<uri>/Split-<split>`."""
    return artifacts.split_dir(uri, split)


def raw_split_pattern(examples_uri: str, split: str) -> str:
    """The glob of a raw split's shards."""
    return artifacts.examples_file_pattern(examples_uri, split)


def transformed_split_prefix(transformed_examples_uri: str, split: str) -> str:
    """The path prefix Beam writes a transformed split's shards under."""
    return os.path.join(split_dir(transformed_examples_uri, split), SHARD_PREFIX)


def transformed_split_pattern(transformed_examples_uri: str, split: str) -> str:
    """The glob of a transformed split's shards (the same as `raw_split_pattern`'s)."""
    return artifacts.examples_file_pattern(transformed_examples_uri, split)


def list_splits(examples_uri: str) -> list[str]:
    """The split names under `examples_uri` (its `Split-<name>` folders), sorted."""
    if not tf.io.gfile.isdir(examples_uri):
        raise FileNotFoundError(f"`examples_uri` ({examples_uri!r}) is not a folder.")
    names = []
    for entry in tf.io.gfile.listdir(examples_uri):
        entry = entry.rstrip("/")
        if entry.startswith(SPLIT_PREFIX) and tf.io.gfile.isdir(os.path.join(examples_uri, entry)):
            names.append(entry[len(SPLIT_PREFIX):])
    return sorted(names)


def raw_split_files(examples_uri: str, split: str) -> list[str]:
    """The shards of a raw split.

    Raises:
        FileNotFoundError: If the split has no shard, naming the splits found.
    """
    files = tf.io.gfile.glob(raw_split_pattern(examples_uri, split))
    if not files:
        found = list_splits(examples_uri) if tf.io.gfile.isdir(examples_uri) else []
        raise FileNotFoundError(
            f"Split {split!r} has no shard matching {raw_split_pattern(examples_uri, split)!r}; "
            f"the splits under {examples_uri!r} are {found}.")
    return sorted(files)


def remove_if_exists(path: str) -> None:
    """Deletes a file or folder if it is there."""
    if tf.io.gfile.isdir(path):
        tf.io.gfile.rmtree(path)
    elif tf.io.gfile.exists(path):
        tf.io.gfile.remove(path)


def read_feature_description(transform_graph_uri: str) -> dict[str, Any]:
    """The transform step's `feature_columns.json`: what each transformed feature is.

    Raises:
        FileNotFoundError: If `transform_graph_uri` holds none (not a transform graph the
            transform step wrote).
    """
    path = io.join(transform_graph_uri, FEATURE_COLUMNS_FILE)
    if not io.exists(path):
        raise FileNotFoundError(f"{path!r} does not exist: {transform_graph_uri!r} is not a "
                                "transform graph written by the transform step.")
    return json.loads(io.read_text(path))


def transformed_feature_spec(transform_graph_uri: str) -> dict:
    """How to parse the transformed examples (the tf.Transform output's feature spec)."""
    import tensorflow_transform as tft

    return tft.TFTransformOutput(transform_graph_uri).transformed_feature_spec()
