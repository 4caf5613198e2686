"""A Kubeflow Training Operator TFJob manifest for running the trainer as a cluster.

The operator starts one pod per replica and sets TF_CONFIG in each (the evaluator gets
the cluster without itself in it), which `el.RunConfig` reads; every replica runs the
same command, and `el.train_and_evaluate` gives each its role. This module only builds
and checks the manifest (a plain dict; `manifest_yaml` for `kubectl apply -f`).

`trainer_job` makes the TFJob of a `TrainerConfig`: every replica runs
`python -m components.trainer` with the flags that rebuild that config
(`components.trainer.cli`), and the config's `strategy` is checked against the replicas.
Every replica must reach the same `model_uri` and `model_dir` (a bucket, or a shared
volume mounted in each pod).

Example:
    >>> job = trainer_job(TrainerConfig(examples_uri="gs://b/run/examples",
    ...                                 transform_graph_uri="gs://b/run/graph",
    ...                                 model_uri="gs://b/run/model", module_file="gs://b/m.py",
    ...                                 train_steps=5000),
    ...                   name="taxi-trainer", image="gcr.io/p/pipeline:1",
    ...                   replicas={"worker": 2, "evaluator": 1})
    >>> manifest_yaml(job)
    >>> config = TFJobConfig(name="taxi-trainer", image="gcr.io/p/trainer:1",
    ...                      command=["python", "-m", "components.trainer"],
    ...                      replicas={"chief": 1, "worker": 2, "ps": 1, "evaluator": 1},
    ...                      resources={"worker": ReplicaResources(gpus=1)})
    >>> tfjob_manifest(config)["spec"]["tfReplicaSpecs"]["Worker"]["replicas"]
    2
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from components.trainer.cli import trainer_args
from components.trainer.config import TrainerConfig

API_VERSION = "kubeflow.org/v1"
KIND = "TFJob"
CONTAINER_NAME = "tensorflow"  # The operator finds the TensorFlow container by this name.
REPLICA_TYPES = {"chief": "Chief", "worker": "Worker", "ps": "PS", "evaluator": "Evaluator"}
RESTART_POLICIES = ("Always", "OnFailure", "Never", "ExitCode")
_DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$")
_TOPOLOGY = re.compile(r"^[1-9][0-9]*(x[1-9][0-9]*){1,2}$")
TRAINER_MODULE = "components.trainer"  # `python -m components.trainer`: see its cli.py
TPU_ACCELERATOR_LABEL = "cloud.google.com/gke-tpu-accelerator"
TPU_TOPOLOGY_LABEL = "cloud.google.com/gke-tpu-topology"
# GKE's TPU accelerator label values: (topology dimensions, most chips on one host). The
# trainer's TPUStrategy drives a slice from one program, so a TPU replica is one host.
TPU_ACCELERATORS = {
    "tpu-v4-podslice": (3, 4),
    "tpu-v5p-slice": (3, 4),
    "tpu-v5-lite-podslice": (2, 8),
    "tpu-v5-lite-device": (2, 8),
    "tpu-v6e-slice": (2, 8),
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReplicaResources:
    """What one replica type's pods ask for and where they may run.

    Args:
        gpus: GPUs per pod (limit of `gpu_resource`). Default 0.
        tpus: TPU chips per pod (limit of `tpu_resource`). Default 0. Not with gpus.
            With tpus, `tpu_accelerator` and `tpu_topology` are required, and `tpus` must
            be every chip of the topology: one single-host TPU slice per pod, which the
            replica drives with `el.distribute.make_strategy("tpu")` (its pods get
            `TPU_NAME=local`).
        tpu_accelerator: GKE's TPU type, the node label
            `cloud.google.com/gke-tpu-accelerator`: one of `TPU_ACCELERATORS`, e.g.
            "tpu-v5-lite-podslice". Default None.
        tpu_topology: The slice's chip topology, the node label
            `cloud.google.com/gke-tpu-topology`: "2x4" (v5e, v6e) or "2x2x1" (v4, v5p).
            Default None.
        cpu: CPU request and limit, a Kubernetes quantity ("4", "500m"). Default None.
        memory: Memory request and limit ("16Gi"). Default None.
        node_selector: Node labels the pods must match, e.g.
            `{"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}`. Default {}.
        gpu_resource: Default "nvidia.com/gpu".
        tpu_resource: Default "google.com/tpu".

    Example:
        >>> ReplicaResources(gpus=2, memory="32Gi", node_selector={"pool": "gpu"})
        >>> ReplicaResources(tpus=8, tpu_accelerator="tpu-v5-lite-podslice", tpu_topology="2x4")
    """

    gpus: int = 0
    tpus: int = 0
    tpu_accelerator: str | None = None
    tpu_topology: str | None = None
    cpu: str | None = None
    memory: str | None = None
    node_selector: Mapping[str, str] = dataclasses.field(default_factory=dict)
    gpu_resource: str = "nvidia.com/gpu"
    tpu_resource: str = "google.com/tpu"

    def __post_init__(self):
        for field in ("gpus", "tpus"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"`ReplicaResources.{field}` ({value!r}) must be an integer >= 0.")
        if self.gpus and self.tpus:
            raise ValueError(
                f"`ReplicaResources` asks for both gpus ({self.gpus}) and tpus ({self.tpus}); "
                "a pod gets one kind of accelerator."
            )
        for field in ("cpu", "memory"):
            value = getattr(self, field)
            if value is not None and not (isinstance(value, str) and _QUANTITY.match(value)):
                raise ValueError(
                    f"`ReplicaResources.{field}` ({value!r}) must be a Kubernetes quantity "
                    "string such as '4', '500m' or '16Gi'."
                )
        if not isinstance(self.node_selector, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.node_selector.items()):
            raise TypeError(
                "`ReplicaResources.node_selector` must be a dict of label to value strings; "
                f"received {self.node_selector!r}."
            )
        object.__setattr__(self, "node_selector", dict(self.node_selector))
        self._check_tpu()

    def _check_tpu(self) -> None:
        if not self.tpus:
            given = [f for f in ("tpu_accelerator", "tpu_topology") if getattr(self, f)]
            if given:
                raise ValueError(f"`ReplicaResources` sets {', '.join(f'`{f}`' for f in given)} "
                                 "but asks for no TPU chips; set `tpus` too.")
            return
        if not self.tpu_accelerator or not self.tpu_topology:
            raise ValueError(
                f"`ReplicaResources.tpus` ({self.tpus}) needs `tpu_accelerator` (e.g. "
                "'tpu-v5-lite-podslice') and `tpu_topology` (e.g. '2x4'): GKE places TPU pods "
                f"by the node labels {TPU_ACCELERATOR_LABEL} and {TPU_TOPOLOGY_LABEL}."
            )
        if self.tpu_accelerator not in TPU_ACCELERATORS:
            raise ValueError(
                f"`ReplicaResources.tpu_accelerator` ({self.tpu_accelerator!r}) is not a GKE TPU "
                f"type; expected one of {sorted(TPU_ACCELERATORS)}."
            )
        dimensions, host_chips = TPU_ACCELERATORS[self.tpu_accelerator]
        if not isinstance(self.tpu_topology, str) or not _TOPOLOGY.match(self.tpu_topology) or (
                self.tpu_topology.count("x") + 1 != dimensions):
            example = "2x4" if dimensions == 2 else "2x2x1"
            raise ValueError(
                f"`ReplicaResources.tpu_topology` ({self.tpu_topology!r}) must be {dimensions} "
                f"chip counts joined by 'x' for {self.tpu_accelerator}, e.g. {example!r}."
            )
        chips = 1
        for size in self.tpu_topology.split("x"):
            chips *= int(size)
        if chips > host_chips:
            raise ValueError(
                f"`ReplicaResources.tpu_topology` {self.tpu_topology!r} has {chips} chips, more "
                f"than one {self.tpu_accelerator} host holds ({host_chips}): a multi-host slice. "
                "The trainer runs TPUStrategy from one program per slice; choose a single-host "
                "topology."
            )
        if self.tpus != chips:
            raise ValueError(
                f"`ReplicaResources.tpus` ({self.tpus}) must equal the {chips} chips of "
                f"topology {self.tpu_topology!r}: GKE gives a pod on a single-host slice all "
                "its chips."
            )
        for label, value in ((TPU_ACCELERATOR_LABEL, self.tpu_accelerator),
                             (TPU_TOPOLOGY_LABEL, self.tpu_topology)):
            if self.node_selector.get(label, value) != value:
                raise ValueError(
                    f"`ReplicaResources.node_selector[{label!r}]` "
                    f"({self.node_selector[label]!r}) contradicts the TPU fields ({value!r}); "
                    "leave the TPU labels to `tpu_accelerator` and `tpu_topology`."
                )

    def node_selectors(self) -> dict[str, str]:
        """`node_selector` plus the GKE TPU labels when the pods ask for TPUs."""
        selectors = dict(self.node_selector)
        if self.tpus:
            selectors[TPU_ACCELERATOR_LABEL] = self.tpu_accelerator
            selectors[TPU_TOPOLOGY_LABEL] = self.tpu_topology
        return selectors

    def limits(self) -> dict[str, Any]:
        limits: dict[str, Any] = {}
        if self.cpu:
            limits["cpu"] = self.cpu
        if self.memory:
            limits["memory"] = self.memory
        if self.gpus:
            limits[self.gpu_resource] = self.gpus
        if self.tpus:
            limits[self.tpu_resource] = self.tpus
        return limits


@dataclasses.dataclass(frozen=True, kw_only=True)
class TFJobConfig:
    """The TFJob to generate: one image and command for every replica.

    Args:
        name: The TFJob's name (a DNS-1123 label: lowercase letters, digits, '-').
        image: The container image of every replica.
        command: The command every replica runs (a list of strings).
        replicas: Replica count per type: "chief" (0 or 1), "worker", "ps", "evaluator"
            (0 or 1). Default `{"chief": 1}`.
        resources: `ReplicaResources` (or a dict of its fields) per replica type; types
            left out get none.
        namespace: Default "default".
        env: Extra environment variables for every replica. Default {}.
        restart_policy: The pods' restart policy; "OnFailure" (default) restarts a
            killed worker or chief, which then resumes from the latest checkpoint.

    Raises:
        TypeError, ValueError: For a bad field, naming it (see `tfjob_manifest`).

    Example:
        >>> TFJobConfig(name="trainer", image="trainer:1", command=["python", "train.py"],
        ...             replicas={"worker": 2})
    """

    name: str
    image: str
    command: Sequence[str]
    replicas: Mapping[str, int] = dataclasses.field(default_factory=lambda: {"chief": 1})
    resources: Mapping[str, ReplicaResources] = dataclasses.field(default_factory=dict)
    namespace: str = "default"
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    restart_policy: str = "OnFailure"

    def __post_init__(self):
        for field in ("name", "namespace"):
            value = getattr(self, field)
            if not isinstance(value, str) or len(value) > 63 or not _DNS_1123.match(value):
                raise ValueError(
                    f"`TFJobConfig.{field}` ({value!r}) must be a DNS-1123 label: at most 63 "
                    "lowercase letters, digits or '-', starting and ending with a letter or digit."
                )
        if not isinstance(self.image, str) or not self.image.strip():
            raise ValueError(f"`TFJobConfig.image` ({self.image!r}) must be a non-empty string.")
        if isinstance(self.command, str) or not isinstance(self.command, Sequence) or not (
                self.command and all(isinstance(c, str) for c in self.command)):
            raise TypeError(
                "`TFJobConfig.command` must be a non-empty list of strings, e.g. ['python', "
                f"'-m', 'components.trainer']; received {self.command!r}."
            )
        object.__setattr__(self, "command", list(self.command))
        object.__setattr__(self, "replicas", _checked_replicas(self.replicas))
        object.__setattr__(self, "resources", _checked_resources(self.resources, self.replicas))
        if not isinstance(self.env, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.env.items()):
            raise TypeError(f"`TFJobConfig.env` must map names to strings; received {self.env!r}.")
        if "TF_CONFIG" in self.env:
            raise ValueError("`TFJobConfig.env` must not set TF_CONFIG: the operator sets it.")
        object.__setattr__(self, "env", dict(self.env))
        if self.restart_policy not in RESTART_POLICIES:
            raise ValueError(
                f"`TFJobConfig.restart_policy` ({self.restart_policy!r}) must be one of "
                f"{RESTART_POLICIES}."
            )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TFJobConfig:
        """Builds a config from plain data (a pipeline's YAML/JSON), checking the keys.

        Example:
            >>> TFJobConfig.from_dict({"name": "t", "image": "i", "command": ["train"],
            ...                        "resources": {"worker": {"gpus": 1}}})
        """
        if not isinstance(values, Mapping):
            raise TypeError(f"A TFJob config must be a dict; received {type(values).__name__}.")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown TFJob config keys {unknown}; known keys: {sorted(known)}.")
        return cls(**values)


def _checked_replicas(replicas) -> dict[str, int]:
    if not isinstance(replicas, Mapping):
        raise TypeError(f"`TFJobConfig.replicas` must be a dict; received {replicas!r}.")
    unknown = sorted(set(replicas) - set(REPLICA_TYPES))
    if unknown:
        raise ValueError(
            f"`TFJobConfig.replicas` has unknown replica types {unknown}; expected some of "
            f"{sorted(REPLICA_TYPES)}."
        )
    for kind, count in replicas.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"`TFJobConfig.replicas[{kind!r}]` ({count!r}) must be an integer >= 0.")
    counts = {k: v for k, v in replicas.items() if v}
    for kind in ("chief", "evaluator"):
        if counts.get(kind, 0) > 1:
            raise ValueError(
                f"`TFJobConfig.replicas[{kind!r}]` is {counts[kind]}; a TFJob has at most one."
            )
    if not counts.get("chief") and not counts.get("worker"):
        raise ValueError("`TFJobConfig.replicas` needs a chief or at least one worker to train.")
    if counts.get("ps"):
        if not counts.get("chief"):
            raise ValueError(
                "`TFJobConfig.replicas` has ps replicas but no chief: ParameterServerStrategy "
                "needs a chief to coordinate. Add {'chief': 1}."
            )
        if not counts.get("worker"):
            raise ValueError("`TFJobConfig.replicas` has ps replicas but no worker to run steps.")
    return counts


def _checked_resources(resources, replicas) -> dict[str, ReplicaResources]:
    if not isinstance(resources, Mapping):
        raise TypeError(f"`TFJobConfig.resources` must be a dict; received {resources!r}.")
    checked = {}
    for kind, value in resources.items():
        if kind not in REPLICA_TYPES:
            raise ValueError(
                f"`TFJobConfig.resources` has unknown replica type {kind!r}; expected one of "
                f"{sorted(REPLICA_TYPES)}."
            )
        if kind not in replicas:
            raise ValueError(
                f"`TFJobConfig.resources[{kind!r}]` is set but the job has no {kind} replicas."
            )
        if isinstance(value, Mapping):
            try:
                value = ReplicaResources(**value)
            except TypeError as error:
                raise TypeError(f"`TFJobConfig.resources[{kind!r}]`: {error}") from None
        if not isinstance(value, ReplicaResources):
            raise TypeError(
                f"`TFJobConfig.resources[{kind!r}]` must be a ReplicaResources or a dict of its "
                f"fields; received {value!r}."
            )
        checked[kind] = value
    with_tpus = sorted(kind for kind, value in checked.items() if value.tpus)
    if with_tpus:
        if replicas.get("ps"):
            raise ValueError("`TFJobConfig.resources` asks for TPUs, but TPUStrategy does not use "
                             "ps replicas; remove them.")
        if "evaluator" in with_tpus:
            raise ValueError(
                "`TFJobConfig.resources['evaluator']` asks for TPUs, but the evaluator "
                "evaluates on its CPU (make_strategy('tpu') gives it None); give it none."
            )
        trainers = {k: replicas[k] for k in ("chief", "worker") if replicas.get(k)}
        if sum(trainers.values()) != 1:
            raise ValueError(
                f"`TFJobConfig.resources` asks for TPUs, so the job trains from one program per "
                f"TPU slice: one chief or one worker; `replicas` has {trainers}."
            )
    return checked


def tfjob_manifest(config: TFJobConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The TFJob manifest (`kubeflow.org/v1`) for `config`, as a plain dict.

    Args:
        config: A `TFJobConfig`, or a dict of its fields (checked by `from_dict`).

    Returns:
        The manifest: `apiVersion`, `kind`, `metadata`, and `spec.tfReplicaSpecs` with one
        entry per replica type (Chief, Worker, PS, Evaluator) that has replicas.

    Raises:
        TypeError, ValueError: For a bad config, naming the field.

    Example:
        >>> manifest = tfjob_manifest({"name": "trainer", "image": "trainer:1",
        ...                            "command": ["python", "train.py"],
        ...                            "replicas": {"worker": 2}})
        >>> sorted(manifest["spec"]["tfReplicaSpecs"])
        ['Worker']
    """
    if not isinstance(config, TFJobConfig):
        config = TFJobConfig.from_dict(config)
    specs = {}
    for kind, count in config.replicas.items():
        resources = config.resources.get(kind, ReplicaResources())
        container: dict[str, Any] = {"name": CONTAINER_NAME, "image": config.image,
                                     "command": list(config.command)}
        env = dict(config.env)
        if resources.tpus:  # The chips are on the pod's node: make_strategy("tpu") finds them.
            env.setdefault("TPU_NAME", "local")
        if env:
            container["env"] = [{"name": k, "value": v} for k, v in sorted(env.items())]
        limits = resources.limits()
        if limits:
            requests = {k: v for k, v in limits.items() if k in ("cpu", "memory")}
            container["resources"] = {"limits": limits, **({"requests": requests} if requests else {})}
        pod_spec: dict[str, Any] = {"containers": [container]}
        if resources.node_selectors():
            pod_spec["nodeSelector"] = resources.node_selectors()
        specs[REPLICA_TYPES[kind]] = {"replicas": count, "restartPolicy": config.restart_policy,
                                      "template": {"spec": pod_spec}}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": config.name, "namespace": config.namespace},
        "spec": {"runPolicy": {"cleanPodPolicy": "None"}, "tfReplicaSpecs": specs},
    }


def manifest_yaml(config: TFJobConfig | Mapping[str, Any]) -> str:
    """`tfjob_manifest(config)` as YAML, for `kubectl apply -f`."""
    import yaml

    return yaml.safe_dump(tfjob_manifest(config), sort_keys=False)


def trainer_command(trainer: TrainerConfig, *, python: str = "python") -> list[str]:
    """The command a TFJob replica runs to train as `trainer` says.

    Example:
        >>> trainer_command(config)[:3]
        ['python', '-m', 'components.trainer']
    """
    return [python, "-m", TRAINER_MODULE, *trainer_args(trainer)]


def trainer_job(trainer: TrainerConfig, *, name: str, image: str,
                replicas: Mapping[str, int] | None = None,
                resources: Mapping[str, ReplicaResources] | None = None,
                namespace: str = "default", env: Mapping[str, str] | None = None,
                restart_policy: str = "OnFailure", python: str = "python") -> TFJobConfig:
    """The TFJob that runs the trainer `trainer` on a cluster.

    Args:
        trainer: The trainer's config; its flags become every replica's command.
        name / image / replicas / resources / namespace / env / restart_policy: As in
            `TFJobConfig`. `replicas` defaults to `{"chief": 1}`.
        python: The Python executable in the image. Default "python".

    Returns:
        A checked `TFJobConfig`; `tfjob_manifest` or `manifest_yaml` of it.

    Raises:
        TypeError, ValueError: For a bad field (see `TFJobConfig`), or replicas that
            `trainer.strategy` cannot train: a strategy other than "auto" and
            "parameter_server" with ps replicas, "parameter_server" without them, one
            machine's strategy ("default", "mirrored") on several training replicas, or
            TPU resources without strategy "tpu" (and the reverse).

    Example:
        >>> trainer_job(config, name="taxi-trainer", image="gcr.io/p/pipeline:1",
        ...             replicas={"chief": 1, "worker": 2, "ps": 1})
    """
    if not isinstance(trainer, TrainerConfig):
        raise TypeError(f"`trainer` must be a TrainerConfig; received {type(trainer).__name__}.")
    job = TFJobConfig(name=name, image=image, command=trainer_command(trainer, python=python),
                      replicas={"chief": 1} if replicas is None else replicas,
                      resources=resources or {}, namespace=namespace, env=env or {},
                      restart_policy=restart_policy)
    _check_strategy(trainer.strategy, job)
    return job


def _check_strategy(strategy: str, job: TFJobConfig) -> None:
    replicas = job.replicas
    trainers = {k: replicas[k] for k in ("chief", "worker") if replicas.get(k)}
    with_tpus = sorted(kind for kind, value in job.resources.items() if value.tpus)
    where = f"`TrainerConfig.strategy` is {strategy!r}, but the TFJob's replicas are {replicas}"
    if replicas.get("ps") and strategy not in ("auto", "parameter_server"):
        raise ValueError(f"{where}: ps replicas serve a ParameterServerStrategy only. Use "
                         "strategy 'parameter_server' (or 'auto'), or remove the ps replicas.")
    if strategy == "parameter_server" and not replicas.get("ps"):
        raise ValueError(f"{where}: add ps replicas (and workers) for a parameter-server "
                         "cluster.")
    if strategy in ("default", "mirrored") and sum(trainers.values()) > 1:
        raise ValueError(f"{where}: {strategy!r} trains on one machine, so each training "
                         "replica would train on its own. Use 'multi_worker_mirrored' (or "
                         "'auto'), or one chief or worker.")
    if with_tpus and strategy != "tpu":
        raise ValueError(f"{where}, and {with_tpus} ask for TPUs: set strategy 'tpu', or "
                         "the TPU chips go unused.")
    if strategy == "tpu" and not with_tpus:
        raise ValueError(f"{where}, with no TPU resources: give the training replica "
                         "`ReplicaResources(tpus=..., tpu_accelerator=..., tpu_topology=...)`.")
