"""The container image the pipeline's KFP components run in.

Every component runs in one image that holds this project and its pinned dependencies
(TensorFlow, Beam, tf.Transform, kfp), so components import the project instead of
installing packages at run time (clusters often have no internet). Set
`ESTIMATOR_PIPELINES_IMAGE` before defining a pipeline to use your registry's build.

Example:
    >>> PIPELINE_IMAGE
    'estimator-pipelines:0.1.0'
"""

import os

__all__ = ["PIPELINE_IMAGE"]

PIPELINE_IMAGE = os.environ.get("ESTIMATOR_PIPELINES_IMAGE", "estimator-pipelines:0.1.0")
