"""ModelConfig: a served model's name, base path, version policy and version labels.

Reads and writes TF Serving's `models.config` (a `ModelServerConfig` text proto), so the
same file configures the local server and the real `tensorflow_model_server`:

    model_config_list {
      config {
        name: "taxi"
        base_path: "/serving/taxi"
        model_platform: "tensorflow"
        model_version_policy { latest { num_versions: 2 } }
        version_labels { key: "stable" value: 1700000000 }
      }
    }

Model names are validated by the one model-name rule (`model_names`): they appear in URLs
and, when a model is found under a serving base (`ModelConfig.under`), in paths.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from model_names import validate_model_name
from serving.version_policy import VersionPolicy

_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,63}")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """One served model.

    Args:
        name: The model name clients use (validated, see `validate_model_name`).
        base_path: The directory (or URI) that holds the integer version directories,
            TF Serving's `--model_base_path`.
        version_policy: Which versions to serve (default: the latest one).
        version_labels: Label name to version, e.g. {"stable": 3, "canary": 4}.

    Example:
        >>> ModelConfig("taxi", "/serving/taxi", version_policy=VersionPolicy.latest(2))
    """

    name: str
    base_path: str
    version_policy: VersionPolicy = dataclasses.field(default_factory=VersionPolicy.latest)
    version_labels: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        validate_model_name(self.name)
        if not isinstance(self.base_path, str | os.PathLike) or not os.fspath(self.base_path):
            raise ValueError(
                f"`base_path` of model {self.name!r} must be a non-empty path; received "
                f"{self.base_path!r}.")
        object.__setattr__(self, "base_path", os.fspath(self.base_path))
        if not isinstance(self.version_policy, VersionPolicy):
            raise TypeError(
                f"`version_policy` must be a serving.VersionPolicy; received "
                f"{self.version_policy!r}.")
        labels = dict(self.version_labels or {})
        for label, version in labels.items():
            if not isinstance(label, str) or not _LABEL.fullmatch(label):
                raise ValueError(
                    f"Invalid version label {label!r} for model {self.name!r}: use letters, "
                    "digits, '_' or '-', starting with a letter.")
            if not isinstance(version, int) or isinstance(version, bool) or version < 0:
                raise ValueError(
                    f"Version label {label!r} of model {self.name!r} must name a non-negative "
                    f"integer version; received {version!r}.")
        object.__setattr__(self, "version_labels", labels)

    @classmethod
    def under(cls, serving_base: str, name: str, **kwargs) -> ModelConfig:
        """The model `name` in the pusher's layout `<serving_base>/<name>/<version>/`.

        Example:
            >>> ModelConfig.under("/serving", "taxi").base_path
            '/serving/taxi'
        """
        validate_model_name(name)
        return cls(name, os.path.join(os.fspath(serving_base), name), **kwargs)

    def to_proto(self) -> model_server_config_pb2.ModelConfig:
        """The config as TF Serving's `ModelConfig` message."""
        proto = model_server_config_pb2.ModelConfig(
            name=self.name, base_path=self.base_path, model_platform="tensorflow")
        proto.model_version_policy.CopyFrom(self.version_policy.to_proto())
        for label, version in self.version_labels.items():
            proto.version_labels[label] = version
        return proto

    @classmethod
    def from_proto(cls, proto: model_server_config_pb2.ModelConfig) -> ModelConfig:
        """Reads TF Serving's `ModelConfig` message."""
        if proto.model_platform not in ("", "tensorflow"):
            raise ValueError(
                f"Model {proto.name!r} has model_platform {proto.model_platform!r}; only "
                "'tensorflow' SavedModels are served.")
        policy = (VersionPolicy.from_proto(proto.model_version_policy)
                  if proto.HasField("model_version_policy") else VersionPolicy.latest())
        return cls(proto.name, proto.base_path, version_policy=policy,
                   version_labels=dict(proto.version_labels))


def to_server_config(configs: Sequence[ModelConfig]) -> model_server_config_pb2.ModelServerConfig:
    """TF Serving's `ModelServerConfig` for `configs` (names must be unique)."""
    _check_unique(configs)
    proto = model_server_config_pb2.ModelServerConfig()
    for config in configs:
        proto.model_config_list.config.append(config.to_proto())
    return proto


def from_server_config(proto: model_server_config_pb2.ModelServerConfig) -> list[ModelConfig]:
    """The ModelConfigs of a `ModelServerConfig` (only `model_config_list` is supported)."""
    if proto.WhichOneof("config") == "custom_model_config":
        raise ValueError("custom_model_config is not supported; use model_config_list.")
    configs = [ModelConfig.from_proto(c) for c in proto.model_config_list.config]
    _check_unique(configs)
    return configs


def parse_model_config(text: str) -> list[ModelConfig]:
    """Parses `models.config` text (a `ModelServerConfig` text proto).

    Raises:
        ValueError: The text is not a valid ModelServerConfig, or a model in it is invalid.

    Example:
        >>> parse_model_config('model_config_list { config { name: "taxi" '
        ...                    'base_path: "/serving/taxi" } }')
        [ModelConfig(name='taxi', base_path='/serving/taxi', ...)]
    """
    proto = model_server_config_pb2.ModelServerConfig()
    try:
        text_format.Parse(text, proto)
    except text_format.ParseError as exc:
        raise ValueError(f"Invalid model config (ModelServerConfig text proto): {exc}") from exc
    return from_server_config(proto)


def read_model_config_file(path: str) -> list[ModelConfig]:
    """Reads a `models.config` file (local path or any TensorFlow file system URI)."""
    import tensorflow as tf

    with tf.io.gfile.GFile(path, "r") as f:
        text = f.read()
    try:
        return parse_model_config(text)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def format_model_config(configs: Sequence[ModelConfig]) -> str:
    """`models.config` text for `configs`, as `tensorflow_model_server` reads it."""
    return text_format.MessageToString(to_server_config(configs))


def _check_unique(configs: Sequence[ModelConfig]) -> None:
    seen = set()
    for config in configs:
        if not isinstance(config, ModelConfig):
            raise TypeError(f"Expected serving.ModelConfig objects; received {config!r}.")
        if config.name in seen:
            raise ValueError(f"Model {config.name!r} is configured twice; names must be unique.")
        seen.add(config.name)
