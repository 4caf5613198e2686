"""What the pipeline steps share besides artifacts: Beam pipelines, shard writes, TFRecord
files, user modules, the image, and KFP value helpers.

Example:
    >>> from components.common import create_pipeline
    >>> with create_pipeline(["--runner=DirectRunner"]) as pipeline: ...
"""

from components.common import images, runner, shards, tfrecord
from components.common.runner import create_pipeline, pipeline_options

__all__ = [
    "create_pipeline",
    "images",
    "pipeline_options",
    "runner",
    "shards",
    "tfrecord",
]
