"""What the pipeline steps share: artifact layouts, file access, Beam pipelines, shard writes.

Example:
    >>> from components.common import artifacts
    >>> artifacts.read_ingest_result(examples_uri).splits
    {'train': 12001, 'eval': 3001}
"""

from components.common import artifacts, images, io, runner, shards, tfrecord
from components.common.artifacts import FeatureType, IngestResult
from components.common.runner import create_pipeline, pipeline_options

__all__ = [
    "FeatureType",
    "IngestResult",
    "artifacts",
    "create_pipeline",
    "images",
    "io",
    "pipeline_options",
    "runner",
    "shards",
    "tfrecord",
]
