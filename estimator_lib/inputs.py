"""Input-function builders that return `tf.data` pipelines.

This module re-makes the legacy ``tf.estimator.inputs`` helpers
(``numpy_input_fn`` and ``pandas_input_fn``) and the TFRecord reader from the
Estimators paper (``read_batch_features``, here ``make_batched_features_input_fn``)
for TensorFlow 2. The TF1 versions fed queues from Python threads; these build
``tf.data.Dataset`` pipelines instead, so they work eagerly, inside a
``tf.Graph`` (as the Estimator builds one), and under a distribution strategy.

Every builder returns an ``input_fn`` that can be called with no arguments and
also accepts an optional ``input_context`` keyword (a
``tf.distribute.InputContext``). When the Estimator distributes input it passes
one; the pipeline then reads only its shard and batches with the per-replica
batch size.

In-memory inputs (``numpy_input_fn``, ``pandas_input_fn``) are embedded in the
graph as constants, so they suit data sets well below the 2 GB ``GraphDef``
limit. Write larger data to TFRecord files and read it with
``make_batched_features_input_fn``.

Example:
    >>> import numpy as np
    >>> from estimator_lib import inputs
    >>> input_fn = inputs.numpy_input_fn(
    ...     {"age": np.arange(4.0)}, np.array([0, 1, 0, 1]), batch_size=2, shuffle=False)
    >>> features, labels = next(iter(input_fn()))
    >>> features["age"].numpy().tolist(), labels.numpy().tolist()
    ([0.0, 1.0], [0, 1])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

__all__ = [
    "make_batched_features_input_fn",
    "numpy_input_fn",
    "pandas_input_fn",
]

_AUTOTUNE = tf.data.AUTOTUNE

# Feature configurations `tf.io.parse_example` understands.
_PARSE_FEATURE_TYPES = (
    tf.io.FixedLenFeature,
    tf.io.FixedLenSequenceFeature,
    tf.io.VarLenFeature,
    tf.io.RaggedFeature,
    tf.io.SparseFeature,
)

_COMPRESSION_TYPES = ("", "GZIP", "ZLIB")


# --------------------------------------------------------------------------------------
# Argument validation helpers
# --------------------------------------------------------------------------------------


def _check_positive_int(name: str, value: Any, *, allow_none: bool = False) -> None:
    """Raises if `value` is not a positive int (or None when `allow_none`)."""
    if value is None and allow_none:
        return
    is_int = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    if not is_int or value <= 0:
        expected = "a positive int or None" if allow_none else "a positive int"
        raise ValueError(f"`{name}` must be {expected}, got {value!r}. Pass e.g. `{name}=1`.")


def _check_autotunable(name: str, value: Any, *, allow_none: bool = False) -> None:
    """Raises if `value` is neither a positive int nor `tf.data.AUTOTUNE` (nor None)."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool) and value == _AUTOTUNE:
        return
    _check_positive_int(name, value, allow_none=allow_none)


def _check_shuffle(shuffle: Any) -> bool:
    """Returns `shuffle` as a bool; raises unless it was given explicitly as one."""
    if not isinstance(shuffle, bool | np.bool_):
        raise ValueError(
            f"`shuffle` must be given explicitly as a bool, got {shuffle!r}. Pass "
            "`shuffle=True` for training and `shuffle=False` for evaluation and prediction."
        )
    return bool(shuffle)


def _check_input_context(input_context: Any) -> None:
    if input_context is not None and not isinstance(input_context, tf.distribute.InputContext):
        raise TypeError(
            "`input_context` must be a `tf.distribute.InputContext` or None, got "
            f"{type(input_context).__name__} {input_context!r}. Let the Estimator or "
            "`strategy.distribute_datasets_from_function` pass it, or omit it."
        )


def _per_pipeline_batch_size(batch_size: int, input_context: Any) -> int:
    if input_context is None:
        return batch_size
    return input_context.get_per_replica_batch_size(batch_size)


def _maybe_repeat(dataset: tf.data.Dataset, num_epochs: int | None) -> tf.data.Dataset:
    if num_epochs is None:
        return dataset.repeat()
    if num_epochs > 1:
        return dataset.repeat(num_epochs)
    return dataset


# --------------------------------------------------------------------------------------
# In-memory inputs (numpy, pandas)
# --------------------------------------------------------------------------------------


def _to_array(value: Any, where: str) -> np.ndarray:
    """Converts one input column to a numpy array and checks that TF can hold it."""
    array = np.asarray(value)
    if array.ndim == 0:
        raise ValueError(
            f"{where} must be an array with a batch dimension, got a scalar {value!r}. "
            "Pass one value per example, e.g. `np.array([value])`."
        )
    if array.dtype == object:
        bad = next((v for v in array.ravel() if not isinstance(v, str | bytes)), None)
        if bad is not None:
            raise TypeError(
                f"{where} has dtype object and holds a {type(bad).__name__} ({bad!r}); "
                "expected numbers or strings. Convert it to a numeric or string array, "
                "e.g. `np.asarray(values, dtype=np.float32)`."
            )
    return array


def _collect_arrays(
    x: Mapping[str, Any], y: Any
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | np.ndarray | None, int]:
    """Converts `x`/`y` to numpy arrays and checks that all share dimension 0."""
    features = {key: _to_array(value, f"`x[{key!r}]`") for key, value in x.items()}
    if y is None:
        labels = None
    elif isinstance(y, Mapping):
        if not y:
            raise ValueError(
                "`y` is an empty dict. Pass at least one label array, or `y=None` for prediction."
            )
        labels = {key: _to_array(value, f"`y[{key!r}]`") for key, value in y.items()}
    else:
        labels = _to_array(y, "`y`")

    named: list[tuple[str, np.ndarray]] = [(f"x[{k!r}]", v) for k, v in features.items()]
    if isinstance(labels, dict):
        named += [(f"y[{k!r}]", v) for k, v in labels.items()]
    elif labels is not None:
        named.append(("y", labels))

    ref_name, ref = named[0]
    length = len(ref)
    for name, array in named[1:]:
        if len(array) != length:
            raise ValueError(
                "All arrays in `x` and `y` must have the same length in dimension 0, but "
                f"`{name}` has {len(array)} rows while `{ref_name}` has {length}. Make every "
                "feature and label array hold one row per example."
            )
    if length == 0:
        raise ValueError(f"`{ref_name}` has 0 rows; the input must hold at least one example.")
    return features, labels, length


def _make_in_memory_input_fn(
    features: dict[str, np.ndarray],
    labels: dict[str, np.ndarray] | np.ndarray | None,
    num_examples: int,
    *,
    batch_size: int,
    num_epochs: int | None,
    shuffle: bool,
    queue_capacity: int,
) -> Callable[..., tf.data.Dataset]:
    """Builds an input_fn over in-memory arrays.

    The pipeline shuffles and batches example *indices*, then gathers whole batches from
    the arrays with one vectorized `tf.gather` per batch, which is much cheaper than
    slicing and re-batching every example.
    """

    def input_fn(input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
        _check_input_context(input_context)
        per_batch = _per_pipeline_batch_size(batch_size, input_context)
        # Tensors are created here, not when the builder ran, so that they land in
        # whatever graph (or eager context) the caller builds the pipeline in.
        feature_tensors = {k: tf.constant(v) for k, v in features.items()}
        if labels is None:
            label_tensors = None
        elif isinstance(labels, dict):
            label_tensors = {k: tf.constant(v) for k, v in labels.items()}
        else:
            label_tensors = tf.constant(labels)

        dataset = tf.data.Dataset.range(num_examples)
        if input_context is not None and input_context.num_input_pipelines > 1:
            dataset = dataset.shard(
                input_context.num_input_pipelines, input_context.input_pipeline_id
            )
        if shuffle:
            dataset = dataset.shuffle(queue_capacity, reshuffle_each_iteration=True)
        dataset = _maybe_repeat(dataset, num_epochs)
        dataset = dataset.batch(per_batch)

        def gather(indices: tf.Tensor) -> Any:
            batch_features = {k: tf.gather(t, indices) for k, t in feature_tensors.items()}
            if label_tensors is None:
                return batch_features
            return batch_features, tf.nest.map_structure(
                lambda t: tf.gather(t, indices), label_tensors
            )

        dataset = dataset.map(gather, num_parallel_calls=_AUTOTUNE, deterministic=True)
        return dataset.prefetch(_AUTOTUNE)

    return input_fn


def _check_common_in_memory_args(
    batch_size: Any, num_epochs: Any, shuffle: Any, queue_capacity: Any, num_threads: Any
) -> bool:
    shuffle = _check_shuffle(shuffle)
    _check_positive_int("batch_size", batch_size)
    _check_positive_int("num_epochs", num_epochs, allow_none=True)
    _check_positive_int("queue_capacity", queue_capacity)
    _check_positive_int("num_threads", num_threads)
    return shuffle


def numpy_input_fn(
    x: Mapping[str, Any],
    y: Any = None,
    batch_size: int = 128,
    num_epochs: int | None = 1,
    shuffle: bool | None = None,
    queue_capacity: int = 1000,
    num_threads: int = 1,
) -> Callable[..., tf.data.Dataset]:
    """Returns an input_fn that feeds dicts of numpy arrays to an Estimator.

    The returned ``input_fn`` builds a ``tf.data.Dataset`` of ``(features, labels)``
    batches, or of ``features`` alone when ``y`` is None. The last batch of the last
    epoch may be smaller than ``batch_size``; batches run across epoch boundaries.

    Args:
        x: Dict mapping feature names to arrays (or array-likes). Every array's first
            dimension indexes examples.
        y: Labels: an array, a dict of arrays, or None (for prediction).
        batch_size: Number of examples per batch.
        num_epochs: Times to go through the data; None repeats forever.
        shuffle: Whether to shuffle. Must be given explicitly: True for training,
            False for evaluation and prediction (yields the examples in order).
        queue_capacity: Shuffle buffer size, in examples. The data are reshuffled
            every epoch.
        num_threads: Accepted for compatibility with ``tf.estimator.inputs``. The
            pipeline's parallelism is tuned by ``tf.data.AUTOTUNE`` and its order is
            deterministic whenever ``shuffle`` is False, whatever this value.

    Returns:
        A function ``input_fn(input_context=None)`` returning a ``tf.data.Dataset``.
        With an ``input_context`` it reads only its shard of the examples and uses the
        per-replica batch size.

    Raises:
        TypeError: If ``x`` is not a dict, or an array holds non-string objects.
        ValueError: If ``shuffle`` is not a bool, an argument is out of range, or the
            arrays differ in length.

    Example:
        >>> input_fn = numpy_input_fn(
        ...     x={"age": np.array([21.0, 35.0, 52.0])},
        ...     y=np.array([0, 1, 1]),
        ...     batch_size=2,
        ...     num_epochs=1,
        ...     shuffle=False,
        ... )
        >>> [labels.numpy().tolist() for _, labels in input_fn()]
        [[0, 1], [1]]
    """
    if not isinstance(x, Mapping):
        raise TypeError(
            f"`x` must be a dict of numpy arrays, got {type(x).__name__}. Wrap the array "
            "in a dict keyed by feature name, e.g. `numpy_input_fn(x={'x': array}, ...)`."
        )
    if not x:
        raise ValueError("`x` is an empty dict. Pass at least one feature array.")
    shuffle = _check_common_in_memory_args(
        batch_size, num_epochs, shuffle, queue_capacity, num_threads
    )
    features, labels, num_examples = _collect_arrays(x, y)
    return _make_in_memory_input_fn(
        features,
        labels,
        num_examples,
        batch_size=batch_size,
        num_epochs=num_epochs,
        shuffle=shuffle,
        queue_capacity=queue_capacity,
    )


def _series_to_array(series: Any, where: str) -> np.ndarray:
    """Converts a pandas Series to a numpy array TF can hold (numbers, bools, strings)."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        series = series.astype(dtype.categories.dtype)
        dtype = series.dtype
    if pd.api.types.is_numeric_dtype(dtype):  # Includes bool.
        if isinstance(dtype, pd.api.extensions.ExtensionDtype):
            if series.isna().any():
                raise ValueError(
                    f"{where} has dtype {dtype} and contains missing values; TensorFlow has "
                    "no missing-value marker for it. Fill them first, e.g. "
                    "`df[col] = df[col].fillna(0)`."
                )
            return series.to_numpy(dtype=dtype.numpy_dtype)
        return series.to_numpy()
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind in ("string", "bytes", "empty"):
        if series.isna().any():
            raise ValueError(
                f"{where} is a string column with missing values; TensorFlow has no "
                "missing-value marker for strings. Fill them first, e.g. "
                "`df[col] = df[col].fillna('')`."
            )
        return series.to_numpy(dtype=object)
    raise TypeError(
        f"{where} has dtype {dtype} (inferred {kind!r}); expected a numeric, bool or "
        "string column. Convert it first, e.g. with `.astype(str)` or `.astype('int64')`."
    )


def _frame_to_arrays(frame: Any, name: str) -> dict[str, np.ndarray]:
    arrays = {}
    for column in frame.columns:
        if not isinstance(column, str):
            raise TypeError(
                f"`{name}` has a column named {column!r} of type {type(column).__name__}; "
                f"feature names must be strings. Rename it, e.g. "
                f"`{name}.columns = {name}.columns.astype(str)`."
            )
        arrays[column] = _series_to_array(frame[column], f"`{name}[{column!r}]`")
    return arrays


def pandas_input_fn(
    x: Any,
    y: Any = None,
    batch_size: int = 128,
    num_epochs: int | None = 1,
    shuffle: bool | None = None,
    queue_capacity: int = 1000,
    num_threads: int = 1,
    target_column: str = "target",
) -> Callable[..., tf.data.Dataset]:
    """Returns an input_fn that feeds a pandas DataFrame to an Estimator.

    Each column of ``x`` becomes a feature named after the column: numeric and bool
    columns keep their dtype, string (``str``/``object``) columns become ``tf.string``,
    categorical columns become their categories' dtype.

    Args:
        x: A ``pandas.DataFrame`` of features, one row per example.
        y: Labels: a ``pandas.Series`` (yields a label tensor), a ``pandas.DataFrame``
            (yields a dict of label tensors keyed by column), or None for prediction.
            Its index must equal ``x``'s index.
        batch_size: Number of examples per batch.
        num_epochs: Times to go through the data; None repeats forever.
        shuffle: Whether to shuffle; must be given explicitly as a bool.
        queue_capacity: Shuffle buffer size, in examples.
        num_threads: Accepted for compatibility; see ``numpy_input_fn``.
        target_column: Accepted for compatibility with ``tf.estimator.inputs``, where
            it named the label column inside the queue. Labels are kept apart from the
            features here, so it never clashes with a feature column.

    Returns:
        A function ``input_fn(input_context=None)`` returning a ``tf.data.Dataset`` of
        ``(features, labels)`` batches, or of ``features`` when ``y`` is None.

    Raises:
        TypeError: If ``x`` is not a DataFrame, ``y`` is not a Series/DataFrame/None, or
            a column has an unsupported dtype.
        ValueError: If ``shuffle`` is not a bool, the indexes of ``x`` and ``y`` differ,
            or an argument is out of range.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"age": [21, 35, 52], "city": ["Oslo", "Rome", "Lima"]})
        >>> input_fn = pandas_input_fn(
        ...     df, pd.Series([0, 1, 1]), batch_size=3, shuffle=False)
        >>> features, labels = next(iter(input_fn()))
        >>> features["city"].numpy().tolist()
        [b'Oslo', b'Rome', b'Lima']
    """
    import pandas as pd

    if not isinstance(x, pd.DataFrame):
        raise TypeError(
            f"`x` must be a pandas DataFrame, got {type(x).__name__}. Build one with "
            "`pd.DataFrame(...)`, or use `numpy_input_fn` for dicts of arrays."
        )
    if x.shape[1] == 0:
        raise ValueError("`x` has no columns. Pass a DataFrame with at least one feature.")
    if not isinstance(target_column, str):
        raise TypeError(f"`target_column` must be a str, got {target_column!r}.")
    shuffle = _check_common_in_memory_args(
        batch_size, num_epochs, shuffle, queue_capacity, num_threads
    )

    features = _frame_to_arrays(x, "x")
    labels: dict[str, np.ndarray] | np.ndarray | None
    if y is None:
        labels = None
    else:
        if not isinstance(y, pd.Series | pd.DataFrame):
            raise TypeError(
                f"`y` must be a pandas Series, a DataFrame or None, got {type(y).__name__}. "
                "Pass e.g. `y=df.pop('label')`."
            )
        if not x.index.equals(y.index):
            raise ValueError(
                "The indexes of `x` and `y` must be equal, got "
                f"x.index={x.index!r} and y.index={y.index!r}. Align them, e.g. with "
                "`y = y.reindex(x.index)`, or reset both with `.reset_index(drop=True)`."
            )
        if isinstance(y, pd.DataFrame):
            labels = _frame_to_arrays(y, "y")
        else:
            labels = _series_to_array(y, "`y`")

    features, labels, num_examples = _collect_arrays(features, labels)
    return _make_in_memory_input_fn(
        features,
        labels,
        num_examples,
        batch_size=batch_size,
        num_epochs=num_epochs,
        shuffle=shuffle,
        queue_capacity=queue_capacity,
    )


# --------------------------------------------------------------------------------------
# TFRecord files of tf.Example
# --------------------------------------------------------------------------------------


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
