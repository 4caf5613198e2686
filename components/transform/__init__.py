"""The transform step: tf.Transform over the ingest step's examples, driven by a feature spec.

The light, import-anywhere surface is re-exported here (the spec and the config: no TensorFlow,
no Beam, no KFP). The heavy parts are imported by module, so that building a pipeline does not
load Beam and running the step does not load KFP:

    from components.transform.executor import run              # Beam + tf.Transform
    from components.transform.component import transform       # the KFP component

A spec is YAML (`spec.py`) or Python with estimator_lib feature columns (`python_spec.py`).
See `transform_graph.py` for the files the step reads and writes.
"""

from components.transform.config import TransformConfig
from components.transform.expression import ExpressionError, parse_expression
from components.transform.python_spec import spec_from_columns
from components.transform.spec import (
    FeatureSpec,
    SharedEmbedding,
    SpecError,
    TransformSpec,
    dump_spec,
    parse_spec,
    spec_from_dict,
    spec_to_dict,
)
from components.transform.spec_loading import load_spec
from components.transform.spec_validation import validate_against_schema
from components.transform.transforms import (
    Bucketize,
    Cross,
    Derive,
    HashBuckets,
    Identity,
    MinMax,
    Passthrough,
    Vocabulary,
    ZScore,
)

__all__ = [
    "Bucketize",
    "Cross",
    "Derive",
    "ExpressionError",
    "FeatureSpec",
    "HashBuckets",
    "Identity",
    "MinMax",
    "Passthrough",
    "SharedEmbedding",
    "SpecError",
    "TransformConfig",
    "TransformSpec",
    "Vocabulary",
    "ZScore",
    "dump_spec",
    "load_spec",
    "parse_expression",
    "parse_spec",
    "spec_from_columns",
    "spec_from_dict",
    "spec_to_dict",
    "validate_against_schema",
]
