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

from estimator_lib.inputs.numpy_io import numpy_input_fn
from estimator_lib.inputs.pandas_io import pandas_input_fn
from estimator_lib.inputs.record_io import make_batched_features_input_fn

__all__ = [
    "make_batched_features_input_fn",
    "numpy_input_fn",
    "pandas_input_fn",
]
