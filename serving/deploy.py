"""Manifests for the production path: the real TF Serving on Kubernetes, or KServe.

The pusher publishes `<serving_base>/<model>/<version>/`; TF Serving serves that same
layout. `ServingDeployment` generates:

- a Kubernetes Deployment running the `tensorflow/serving` image on the base path(s), a
  Service exposing gRPC 8500 and REST 8501, and a ConfigMap with `models.config` (and the
  batching parameters) when it serves several models, a version policy or batching;
- a KServe InferenceService per model (KServe's TensorFlow runtime is TF Serving);
- `models.config` text, for `tensorflow_model_server --model_config_file` or the local server.

Base paths are as TF Serving sees them inside the pod: an object-store URI
(gs://, s3://) read directly, or a path under /models on a mounted PersistentVolumeClaim.

    python -m serving.deploy --model-name taxi --model-base-path gs://bucket/serving/taxi --out k8s/
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
from collections.abc import Mapping, Sequence

from serving.batching import BatchingOptions
from serving.model_config import ModelConfig, format_model_config
from serving.version_policy import VersionPolicy

# The TF Serving release whose APIs tensorflow-serving-api 2.19 carries. SavedModels from a
# newer TensorFlow can use ops an older server lacks: the pusher's validation loads them in
# this project's TensorFlow; pick the image to match (or newer) in production.
DEFAULT_IMAGE = "tensorflow/serving:2.19.0"
GRPC_PORT = 8500
REST_PORT = 8501
MODELS_MOUNT = "/models"
CONFIG_MOUNT = "/config"
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def kubernetes_name(text: str) -> str:
    """A DNS-1123 label for a model name: lower case, '_' and '.' become '-'."""
    name = re.sub(r"[^a-z0-9-]", "-", text.lower()).strip("-")[:63].strip("-")
    if not _DNS_LABEL.fullmatch(name):
        raise ValueError(f"Cannot make a Kubernetes name from {text!r}.")
    return name


@dataclasses.dataclass(frozen=True)
class ServingDeployment:
    """TF Serving on Kubernetes for a set of models.

    Args:
        models: The ModelConfigs, base paths as the server sees them (gs://... or a path
            under /models when `volume_claim` is set).
        name: The Kubernetes name (default: from the first model's name).
        namespace: Kubernetes namespace (default "default").
        image: The TF Serving image (default `DEFAULT_IMAGE`).
        replicas: Pod replicas (default 1).
        volume_claim: A PersistentVolumeClaim holding the serving base, mounted read-only
            at /models (default None: base paths are object-store URIs).
        batching: Server-side batching, or None.

    Example:
        >>> deployment = ServingDeployment(
        ...     models=[ModelConfig("taxi", "gs://bucket/serving/taxi")], replicas=2)
        >>> print(deployment.to_yaml())
    """

    models: Sequence[ModelConfig]
    name: str | None = None
    namespace: str = "default"
    image: str = DEFAULT_IMAGE
    replicas: int = 1
    volume_claim: str | None = None
    batching: BatchingOptions | None = None

    def __post_init__(self):
        models = tuple(self.models)
        if not models or not all(isinstance(m, ModelConfig) for m in models):
            raise TypeError(f"`models` must be a non-empty list of ModelConfig; received "
                            f"{self.models!r}.")
        format_model_config(models)  # Checks that names are unique.
        object.__setattr__(self, "models", models)
        object.__setattr__(self, "name", kubernetes_name(self.name or models[0].name))
        if not _DNS_LABEL.fullmatch(self.namespace):
            raise ValueError(f"`namespace` ({self.namespace!r}) must be a DNS-1123 label.")
        if not isinstance(self.replicas, int) or self.replicas < 0:
            raise ValueError(f"`replicas` ({self.replicas!r}) must be a non-negative integer.")
        if self.volume_claim is not None and not _DNS_LABEL.fullmatch(self.volume_claim):
            raise ValueError(f"`volume_claim` ({self.volume_claim!r}) must be a DNS-1123 name.")
        for model in models:
            local = "://" not in model.base_path
            if local and (self.volume_claim is None or not
                          model.base_path.startswith(MODELS_MOUNT + "/")):
                raise ValueError(
                    f"Model {model.name!r} has the local base path {model.base_path!r}; in a "
                    f"pod use an object-store URI (gs://, s3://), or set `volume_claim` and a "
                    f"path under {MODELS_MOUNT}/.")

    @property
    def uses_config_file(self) -> bool:
        """Whether the server needs models.config (several models, a policy, or labels)."""
        only = self.models[0]
        return (len(self.models) > 1 or only.version_policy != VersionPolicy.latest()
                or bool(only.version_labels))

    def models_config(self) -> str:
        """The `models.config` text for these models."""
        return format_model_config(self.models)

    def batching_parameters(self) -> str:
        """TF Serving's batching parameters file for `batching`."""
        if self.batching is None:
            return ""
        b = self.batching
        lines = [f"max_batch_size {{ value: {b.max_batch_size} }}",
                 f"batch_timeout_micros {{ value: {b.batch_timeout_micros} }}",
                 f"max_enqueued_batches {{ value: {b.max_enqueued_batches} }}",
                 f"num_batch_threads {{ value: {b.num_batch_threads} }}"]
        lines += [f"allowed_batch_sizes: {s}" for s in b.allowed_batch_sizes]
        return "\n".join(lines) + "\n"

    def _labels(self) -> dict:
        return {"app.kubernetes.io/name": "tf-serving", "app.kubernetes.io/instance": self.name,
                "app.kubernetes.io/part-of": "estimator-pipelines"}

    def _metadata(self, suffix: str = "") -> dict:
        return {"name": self.name + suffix, "namespace": self.namespace, "labels": self._labels()}

    def server_args(self) -> list[str]:
        """The `tensorflow_model_server` arguments."""
        args = [f"--port={GRPC_PORT}", f"--rest_api_port={REST_PORT}"]
        if self.uses_config_file:
            args += [f"--model_config_file={CONFIG_MOUNT}/models.config",
                     "--model_config_file_poll_wait_seconds=60"]
        else:
            args += [f"--model_name={self.models[0].name}",
                     f"--model_base_path={self.models[0].base_path}"]
        if self.batching is not None:
            args += ["--enable_batching=true",
                     f"--batching_parameters_file={CONFIG_MOUNT}/batching_parameters.txt"]
        return args

    def config_map(self) -> dict | None:
        """The ConfigMap with models.config / batching parameters, if the server needs one."""
        data = {}
        if self.uses_config_file:
            data["models.config"] = self.models_config()
        if self.batching is not None:
            data["batching_parameters.txt"] = self.batching_parameters()
        if not data:
            return None
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": self._metadata("-config"),
                "data": data}

    def deployment(self) -> dict:
        """The Deployment running TF Serving."""
        mounts, volumes = [], []
        if self.config_map() is not None:
            mounts.append({"name": "config", "mountPath": CONFIG_MOUNT, "readOnly": True})
            volumes.append({"name": "config", "configMap": {"name": self.name + "-config"}})
        if self.volume_claim:
            mounts.append({"name": "models", "mountPath": MODELS_MOUNT, "readOnly": True})
            volumes.append({"name": "models", "persistentVolumeClaim": {
                "claimName": self.volume_claim, "readOnly": True}})
        container = {
            "name": "tf-serving",
            "image": self.image,
            "args": self.server_args(),
            "ports": [{"name": "grpc", "containerPort": GRPC_PORT, "protocol": "TCP"},
                      {"name": "http", "containerPort": REST_PORT, "protocol": "TCP"}],
            # The model status endpoint answers 200 once the model has a loaded version.
            "readinessProbe": {"httpGet": {"path": f"/v1/models/{self.models[0].name}",
                                           "port": REST_PORT},
                               "initialDelaySeconds": 5, "periodSeconds": 5},
            "livenessProbe": {"tcpSocket": {"port": GRPC_PORT}, "initialDelaySeconds": 15,
                              "periodSeconds": 20},
            "resources": {"requests": {"cpu": "1", "memory": "2Gi"},
                          "limits": {"memory": "4Gi"}},
            "volumeMounts": mounts,
        }
        return {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": self._metadata(),
            "spec": {
                "replicas": self.replicas,
                "selector": {"matchLabels": self._labels()},
                # Bring the new pod up before the old goes: no serving gap on upgrades.
                "strategy": {"type": "RollingUpdate",
                             "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                "template": {"metadata": {"labels": self._labels()},
                             "spec": {"containers": [container], "volumes": volumes}},
            },
        }

    def service(self) -> dict:
        """The Service exposing gRPC (8500) and REST (8501)."""
        return {"apiVersion": "v1", "kind": "Service", "metadata": self._metadata(),
                "spec": {"selector": self._labels(), "type": "ClusterIP", "ports": [
                    {"name": "grpc", "port": GRPC_PORT, "targetPort": GRPC_PORT,
                     "protocol": "TCP"},
                    {"name": "http", "port": REST_PORT, "targetPort": REST_PORT,
                     "protocol": "TCP"}]}}

    def inference_services(self) -> list[dict]:
        """One KServe InferenceService per model (KServe serves one model per service)."""
        services = []
        for model in self.models:
            if "://" in model.base_path:
                uri = model.base_path
            else:  # On the claim: pvc://<claim>/<path under the mount>.
                uri = f"pvc://{self.volume_claim}/{model.base_path[len(MODELS_MOUNT) + 1:]}"
            services.append({
                "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                "metadata": {"name": kubernetes_name(model.name), "namespace": self.namespace,
                             "labels": self._labels()},
                "spec": {"predictor": {
                    "minReplicas": max(self.replicas, 1),
                    "model": {"modelFormat": {"name": "tensorflow"},
                              "storageUri": uri,
                              "resources": {"requests": {"cpu": "1", "memory": "2Gi"},
                                            "limits": {"memory": "4Gi"}}}}},
            })
        return services

    def kubernetes_manifests(self) -> list[dict]:
        """ConfigMap (if needed), Deployment and Service."""
        config = self.config_map()
        return ([config] if config else []) + [self.deployment(), self.service()]

    def to_yaml(self, manifests: Sequence[Mapping] | None = None) -> str:
        """Manifests as one multi-document YAML (default: the Kubernetes ones)."""
        import yaml

        class Dumper(yaml.SafeDumper):
            pass

        def text(dumper, value):  # Multi-line config files as readable literal blocks.
            return dumper.represent_scalar("tag:yaml.org,2002:str", value,
                                           style="|" if "\n" in value else None)

        Dumper.add_representer(str, text)
        return yaml.dump_all(list(manifests or self.kubernetes_manifests()), Dumper=Dumper,
                             sort_keys=False)

    def write(self, out_dir: str) -> dict[str, str]:
        """Writes tf-serving.yaml, kserve.yaml and models.config into `out_dir`."""
        os.makedirs(out_dir, exist_ok=True)
        files = {"tf-serving.yaml": self.to_yaml(),
                 "kserve.yaml": self.to_yaml(self.inference_services()),
                 "models.config": self.models_config()}
        paths = {}
        for name, text in files.items():
            path = os.path.join(out_dir, name)
            with open(path, "w") as f:
                f.write(text)
            paths[name] = path
        return paths


def validate_kubernetes(manifest: Mapping) -> object:
    """Checks a core/apps manifest against the Kubernetes API models; returns the object.

    The manifest is read into the `kubernetes` client's model class for its kind, and
    written back: a misspelled or misplaced field would be dropped and the two differ.

    Raises:
        ValueError: The manifest does not round-trip, or lacks a required field.
    """
    from kubernetes import client

    kinds = {"Deployment": "V1Deployment", "Service": "V1Service", "ConfigMap": "V1ConfigMap"}
    kind = manifest.get("kind")
    if kind not in kinds:
        raise ValueError(f"Unsupported kind {kind!r}; expected one of {sorted(kinds)}.")

    class _Response:
        data = json.dumps(manifest)

    api = client.ApiClient()
    obj = api.deserialize(_Response(), kinds[kind])
    back = api.sanitize_for_serialization(obj)
    if back != json.loads(json.dumps(manifest)):
        raise ValueError(f"The {kind} manifest has fields the Kubernetes API does not know: "
                         f"{_difference(json.loads(json.dumps(manifest)), back)}")
    return obj


def _difference(expected, actual, path="") -> str:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in expected:
            if key not in actual:
                return f"{path}.{key}"
            found = _difference(expected[key], actual[key], f"{path}.{key}")
            if found:
                return found
        return ""
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (a, b) in enumerate(zip(expected, actual, strict=True)):
            found = _difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return ""
    return "" if expected == actual else path or "(root)"


def main(argv: list[str] | None = None) -> int:
    """`python -m serving.deploy`: writes the manifests for one model."""
    parser = argparse.ArgumentParser(prog="python -m serving.deploy", description=__doc__.split("\n")[0])
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--model-base-path", required=True,
                        help="as TF Serving sees it: gs://.../NAME, or /models/NAME with --volume-claim")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--image", default=DEFAULT_IMAGE)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--volume-claim", default=None)
    parser.add_argument("--num-versions", type=int, default=1, help="serve the latest N versions")
    args = parser.parse_args(argv)
    deployment = ServingDeployment(
        models=[ModelConfig(args.model_name, args.model_base_path,
                            version_policy=VersionPolicy.latest(args.num_versions))],
        namespace=args.namespace, image=args.image, replicas=args.replicas,
        volume_claim=args.volume_claim)
    for manifest in deployment.kubernetes_manifests():
        validate_kubernetes(manifest)
    for name, path in deployment.write(args.out).items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
