"""`make_batched_features_input_fn`: batches of parsed tf.Example from TFRecord files
(the paper's `read_batch_features`).

Example:
    >>> input_fn = make_batched_features_input_fn("data/train-*.tfrecord.gz", feature_spec,
    ...                                           label_key="label", batch_size=256)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import tensorflow as tf

from estimator_lib.inputs._common import (
    _AUTOTUNE,
    _check_autotunable,
    _check_input_context,
    _check_positive_int,
    _maybe_repeat,
    _per_pipeline_batch_size,
)

__all__ = ["make_batched_features_input_fn"]

# Feature configurations `tf.io.parse_example` understands.
_PARSE_FEATURE_TYPES = (
    tf.io.FixedLenFeature,
    tf.io.FixedLenSequenceFeature,
    tf.io.VarLenFeature,
    tf.io.RaggedFeature,
    tf.io.SparseFeature,
)

_COMPRESSION_TYPES = ("", "GZIP", "ZLIB")


def _normalize_compression(compression_type: Any) -> str | None:
    """Returns '', 'GZIP', 'ZLIB', or None for 'auto'."""
    if compression_type is None:
        return ""
    if isinstance(compression_type, str):
        if compression_type.lower() == "auto":
            return None
        if compression_type.upper() in _COMPRESSION_TYPES:
            return compression_type.upper()
    raise ValueError(
        f"`compression_type` must be None, 'GZIP', 'ZLIB' or 'auto', got "
        f"{compression_type!r}. Use 'auto' to pick GZIP for files ending in '.gz'."
    )


def _glob_files(patterns: Sequence[str]) -> list[str]:
    """Expands file patterns like `Dataset.list_files` does (in order, no de-duplication).

    Raises ValueError naming the first pattern that matches nothing.
    """
    files: list[str] = []
    for pattern in patterns:
        matches = tf.io.gfile.glob(pattern)
        if not matches:
            raise ValueError(
                f"`file_pattern` {pattern!r} matches no files. Check the path and the "
                "glob, and that the data were written before training starts."
            )
        files.extend(sorted(matches))
    return files


def make_batched_features_input_fn(
    file_pattern: str | Sequence[str],
    feature_spec: Mapping[str, Any],
    label_key: str | None = None,
    batch_size: int = 128,
    num_epochs: int | None = None,
    shuffle: bool = True,
    shuffle_buffer_size: int = 10000,
    reader_num_threads: int | None = None,
    parser_num_threads: int | None = None,
    compression_type: str | None = None,
    drop_final_batch: bool = False,
    sloppy_ordering: bool = False,
    prefetch_buffer_size: int = _AUTOTUNE,
) -> Callable[..., tf.data.Dataset]:
    """Returns an input_fn that reads batches of ``tf.Example`` from TFRecord files.

    This is the paper's ``read_batch_features``: it lists the files, interleaves their
    records, shuffles records, batches the serialized records and
    then parses each batch with one ``tf.io.parse_example`` call (much faster than
    parsing record by record), and prefetches.

    Args:
        file_pattern: A glob (e.g. ``"gs://bucket/train-*.tfrecord.gz"``) or a list of
            globs. Patterns are expanded when ``input_fn`` is called; one that matches
            no file raises ``ValueError``.
        feature_spec: Dict mapping feature names to ``tf.io.FixedLenFeature``,
            ``tf.io.VarLenFeature`` (parsed to ``tf.SparseTensor``),
            ``tf.io.RaggedFeature`` (parsed to ``tf.RaggedTensor``) and the like, e.g.
            from ``tf.feature_column.make_parse_example_spec``. Include the label.
        label_key: Name of the label feature. When given it is popped from the
            features and the dataset yields ``(features, label)``; when None it yields
            ``features``.
        batch_size: Number of examples per batch (global; see ``input_context``).
        num_epochs: Times to read the data; None repeats forever.
        shuffle: Whether to shuffle file order and records. When False the order is
            deterministic.
        shuffle_buffer_size: Record shuffle buffer size.
        reader_num_threads: Files read at once, their records interleaved. None (the
            default) reads up to 4 files in one thread: reading is cheap next to parsing,
            and a threaded interleave hands each record across threads (on 2 cores,
            ``tf.data.AUTOTUNE`` there measured ~10x slower, see bench/RESULTS.md). Give a
            number > 1 (or ``tf.data.AUTOTUNE``) to read that many files in parallel
            threads, e.g. from remote storage with high latency.
        parser_num_threads: Batches parsed in parallel; None (or
            ``tf.data.AUTOTUNE``) lets ``tf.data`` tune it.
        compression_type: None (uncompressed), ``"GZIP"``, ``"ZLIB"``, or ``"auto"``
            (GZIP for files ending in ``.gz``, uncompressed otherwise).
        drop_final_batch: Whether to drop a final batch smaller than ``batch_size``
            (gives a static batch dimension).
        sloppy_ordering: Whether to let the reader yield records out of order for
            throughput; the order is then no longer deterministic.
        prefetch_buffer_size: Batches to prefetch; defaults to ``tf.data.AUTOTUNE``.

    Returns:
        A function ``input_fn(input_context=None)`` returning a ``tf.data.Dataset``.
        With an ``input_context`` (a ``tf.distribute.InputContext``) it reads only the
        files of shard ``input_pipeline_id`` out of ``num_input_pipelines`` and batches
        with ``input_context.get_per_replica_batch_size(batch_size)``.

    Raises:
        TypeError: If ``feature_spec`` is not a dict of parse configs.
        ValueError: If ``label_key`` is not in ``feature_spec``, ``compression_type``
            is unknown, or an argument is out of range; when the input_fn is called,
            if a pattern matches no files or there are fewer files than input
            pipelines.

    Example:
        >>> spec = {
        ...     "age": tf.io.FixedLenFeature([], tf.float32),
        ...     "tags": tf.io.VarLenFeature(tf.string),
        ...     "label": tf.io.FixedLenFeature([], tf.int64),
        ... }
        >>> train_input_fn = make_batched_features_input_fn(
        ...     "/data/train-*.tfrecord.gz", spec, label_key="label",
        ...     batch_size=256, compression_type="auto")
        >>> # estimator.train(train_input_fn, max_steps=10_000)
    """
    if isinstance(file_pattern, str | bytes):
        patterns = [file_pattern.decode() if isinstance(file_pattern, bytes) else file_pattern]
    elif isinstance(file_pattern, Sequence) and file_pattern:
        patterns = list(file_pattern)
        bad = [p for p in patterns if not isinstance(p, str)]
        if bad:
            raise TypeError(
                f"`file_pattern` must hold strings, got {bad[0]!r} of type "
                f"{type(bad[0]).__name__}. Pass paths as str."
            )
    else:
        raise TypeError(
            f"`file_pattern` must be a str or a non-empty list of str, got {file_pattern!r}. "
            "Pass e.g. `'/data/train-*.tfrecord'`."
        )
    if not isinstance(feature_spec, Mapping) or not feature_spec:
        raise TypeError(
            f"`feature_spec` must be a non-empty dict of feature name to parse config, got "
            f"{feature_spec!r}. Build one with `tf.feature_column.make_parse_example_spec`."
        )
    for key, config in feature_spec.items():
        if not isinstance(config, _PARSE_FEATURE_TYPES):
            raise TypeError(
                f"`feature_spec[{key!r}]` must be a tf.io.FixedLenFeature, VarLenFeature, "
                f"RaggedFeature, SparseFeature or FixedLenSequenceFeature, got {config!r}."
            )
    feature_spec = dict(feature_spec)
    if label_key is not None and label_key not in feature_spec:
        raise ValueError(
            f"`label_key` {label_key!r} is not in `feature_spec` (keys: "
            f"{sorted(feature_spec)!r}). Add the label's parse config to `feature_spec`, "
            "or fix `label_key`."
        )
    _check_positive_int("batch_size", batch_size)
    _check_positive_int("num_epochs", num_epochs, allow_none=True)
    _check_positive_int("shuffle_buffer_size", shuffle_buffer_size)
    _check_autotunable("reader_num_threads", reader_num_threads, allow_none=True)
    _check_autotunable("parser_num_threads", parser_num_threads, allow_none=True)
    _check_autotunable("prefetch_buffer_size", prefetch_buffer_size)
    compression = _normalize_compression(compression_type)
    shuffle = bool(shuffle)
    deterministic = not sloppy_ordering

    def read(filename: tf.Tensor) -> tf.data.Dataset:
        if compression is None:  # 'auto': decide per file.
            file_compression = tf.where(
                tf.strings.regex_full_match(filename, r".*\.gz"), "GZIP", ""
            )
        else:
            file_compression = compression
        return tf.data.TFRecordDataset(filename, compression_type=file_compression)

    def parse(serialized: tf.Tensor) -> Any:
        features = tf.io.parse_example(serialized, feature_spec)
        if label_key is None:
            return features
        label = features.pop(label_key)
        return features, label

    def input_fn(input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
        _check_input_context(input_context)
        per_batch = _per_pipeline_batch_size(batch_size, input_context)
        files = _glob_files(patterns)
        num_files = len(files)
        # Shard the *unshuffled* list so that shards are disjoint, then shuffle.
        dataset = tf.data.Dataset.list_files(patterns, shuffle=False)
        if input_context is not None and input_context.num_input_pipelines > 1:
            num_pipelines = input_context.num_input_pipelines
            if num_files < num_pipelines:
                raise ValueError(
                    f"`file_pattern` {file_pattern!r} matches {num_files} file(s), but "
                    f"there are {num_pipelines} input pipelines and each needs at least "
                    "one file. Write the data as more (smaller) files."
                )
            dataset = dataset.shard(num_pipelines, input_context.input_pipeline_id)
            num_files = len(range(input_context.input_pipeline_id, num_files, num_pipelines))
        if shuffle:
            dataset = dataset.shuffle(num_files, reshuffle_each_iteration=True)
        if reader_num_threads in (None, 1):
            dataset = dataset.interleave(read, cycle_length=reader_num_threads or min(4, num_files))
        else:
            dataset = dataset.interleave(read, cycle_length=reader_num_threads,
                                         num_parallel_calls=reader_num_threads,
                                         deterministic=deterministic)
        if shuffle:
            dataset = dataset.shuffle(shuffle_buffer_size, reshuffle_each_iteration=True)
        dataset = _maybe_repeat(dataset, num_epochs)
        dataset = dataset.batch(per_batch, drop_remainder=drop_final_batch)
        dataset = dataset.map(
            parse,
            num_parallel_calls=parser_num_threads or _AUTOTUNE,
            deterministic=deterministic,
        )
        return dataset.prefetch(prefetch_buffer_size)

    return input_fn
