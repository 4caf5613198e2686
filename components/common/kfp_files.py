"""Writes a KFP metrics artifact's content to its file, as well as to its metadata.

KFP keeps `Metrics` and `ClassificationMetrics` in the artifact's metadata and writes nothing
at the artifact's path. kfp.local's step cache treats an output whose path does not exist
as lost and never reuses the step, so every component with a metrics output would rerun on
every local run. Writing the metadata as JSON at the path makes the artifact whole there,
costs nothing on a cluster, and leaves the metrics readable as a file.

Example:
    >>> metrics.log_metric("auc", 0.94)
    >>> write_metadata_file(metrics)          # last, in the component function
"""

import json
import os

__all__ = ["write_metadata_file"]


def write_metadata_file(*artifacts) -> None:
    """Writes each artifact's metadata as JSON at its local path."""
    for artifact in artifacts:
        path = artifact.path
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(artifact.metadata, f, indent=2, sort_keys=True, default=str)
