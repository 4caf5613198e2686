"""The ingest step: raw files to validated, hash-split tf.Example shards, with statistics,
a schema, anomalies and a quarantine of bad rows.

Example:
    >>> from components import ingest
    >>> outcome = ingest.run(ingest.IngestConfig(
    ...     input_pattern="/data/span-{SPAN}/*.csv", examples_uri=out + "/examples",
    ...     schema_uri=out + "/schema", statistics_uri=out + "/statistics",
    ...     anomalies_uri=out + "/anomalies", label_column="tips"))
    >>> outcome.result.splits, outcome.result.bad_rows
"""

from components.common.shards import CountMismatchError
from components.ingest.anomalies import Anomaly, AnomalyKind
from components.ingest.config import (
    DEFAULT_MISSING_VALUES,
    IngestConfig,
    IngestSettings,
    InputFormat,
)
from components.ingest.executor import AnomaliesFoundError, IngestOutcome, run
from components.ingest.quarantine import BadRow, BadRowsError, BadRowSummary, ReasonCode
from components.ingest.spans import EmptyInputError

__all__ = [
    "AnomaliesFoundError",
    "Anomaly",
    "AnomalyKind",
    "BadRow",
    "BadRowSummary",
    "BadRowsError",
    "CountMismatchError",
    "DEFAULT_MISSING_VALUES",
    "EmptyInputError",
    "IngestConfig",
    "IngestOutcome",
    "IngestSettings",
    "InputFormat",
    "ReasonCode",
    "run",
]
