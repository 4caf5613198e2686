"""The artifacts the pipeline steps hand each other: one module per artifact.

Steps meet only through artifacts (URIs and the files under them). Each module here owns
one artifact's layout (every file name is declared there and only there), its typed reader
and its atomic writer, all over one file layer (`io`: local paths and object stores).

```
examples          ingest (raw) and transform (transformed) examples: Split-<name>/ shards,
                  the quarantine, ingest_result.json
schema            schema.pbtxt, per-split statistics, anomalies
transform_graph   the tf.Transform output and the feature contract (feature_columns.json)
model             the trainer's exports, trainer_result.json, the model_dir and its recipe
evaluation        the evaluator's metrics log, candidate exports, report, evaluation.json
blessing          blessing.json: the verdict the pusher reads
push              push_record.json: what a pusher run did
serving           TF Serving's layout under the serving base: <model>/<version>/
```

The examples and schema names are re-exported here, as the most used.

Example:
    >>> from components import artifacts
    >>> artifacts.read_ingest_result(examples_uri).splits
    {'train': 12001, 'eval': 3001}
    >>> from components.artifacts.blessing import read_blessing
"""

from components.artifacts import io
from components.artifacts.examples import (
    EXAMPLES_SUFFIX,
    INGEST_RESULT_FILE,
    QUARANTINE_DIR,
    QUARANTINE_SUFFIX,
    SPLIT_PREFIX,
    FeatureType,
    IngestResult,
    examples_file_pattern,
    examples_files,
    quarantine_dir,
    read_ingest_result,
    shard_name,
    split_dir,
)
from components.artifacts.schema import (
    ANOMALIES_FILE,
    ANOMALIES_SUMMARY_FILE,
    SCHEMA_FILE,
    STATS_FILE,
    STATS_HTML_FILE,
    read_schema,
    read_statistics,
    schema_path,
    statistics_path,
    write_schema,
)

__all__ = [
    "ANOMALIES_FILE",
    "ANOMALIES_SUMMARY_FILE",
    "EXAMPLES_SUFFIX",
    "INGEST_RESULT_FILE",
    "QUARANTINE_DIR",
    "QUARANTINE_SUFFIX",
    "SCHEMA_FILE",
    "SPLIT_PREFIX",
    "STATS_FILE",
    "STATS_HTML_FILE",
    "FeatureType",
    "IngestResult",
    "examples_file_pattern",
    "examples_files",
    "io",
    "quarantine_dir",
    "read_ingest_result",
    "read_schema",
    "read_statistics",
    "schema_path",
    "shard_name",
    "split_dir",
    "statistics_path",
    "write_schema",
]
