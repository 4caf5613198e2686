"""serving: a local server that speaks TF Serving's gRPC and REST protocols, and clients.

Example:
    >>> import serving
    >>> options = serving.ServerOptions(port=8500, rest_port=8501)
    >>> with serving.ModelServer([serving.ModelConfig("taxi", "/serving/taxi")],
    ...                          options=options):
    ...     client = serving.ServingClient("127.0.0.1:8500")
    ...     client.classify("taxi", [{"fare": 12.5, "company": "Flash Cab"}])
"""

from model_names import validate_model_name
from serving.batching import BatchingOptions
from serving.client import ServingClient
from serving.csv_examples import csv_examples
from serving.errors import ServingError
from serving.manager import ModelManager, VersionState, VersionStatus, list_versions
from serving.model_config import (
    ModelConfig,
    format_model_config,
    parse_model_config,
    read_model_config_file,
)
from serving.request_limits import RequestLimits
from serving.servable import Servable
from serving.server import ModelServer, ServerOptions
from serving.tf_example import make_example
from serving.version_policy import VersionPolicy

__all__ = [
    "BatchingOptions",
    "ModelConfig",
    "ModelManager",
    "ModelServer",
    "RequestLimits",
    "Servable",
    "ServerOptions",
    "ServingClient",
    "ServingError",
    "VersionPolicy",
    "VersionState",
    "VersionStatus",
    "csv_examples",
    "format_model_config",
    "list_versions",
    "make_example",
    "parse_model_config",
    "read_model_config_file",
    "validate_model_name",
]
