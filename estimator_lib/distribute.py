"""The one reader of TF_CONFIG: cluster and task parsing, and strategy helpers.

TF_CONFIG is the JSON the Kubeflow Training Operator (TFJob) sets on every replica:
`{"cluster": {"chief": [...], "worker": [...], "ps": [...]}, "task": {"type": "worker",
"index": 0}}`. It is parsed and validated once, into a `ClusterInfo`, so a bad cluster
description fails at start-up with a clear message instead of hanging later.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import os
import socket
import time
from collections.abc import Mapping, Sequence

import tensorflow as tf

logger = logging.getLogger("estimator_lib")

TASK_TYPES = ("chief", "worker", "ps", "evaluator", "master")


@dataclasses.dataclass(frozen=True)
class ClusterInfo:
    """What TF_CONFIG says about the cluster and about this task.

    Example:
        >>> info = ClusterInfo.from_tf_config(
        ...     '{"cluster": {"chief": ["a:1"], "worker": ["b:1"]},'
        ...     ' "task": {"type": "worker", "index": 0}}')
        >>> info.task_type, info.is_chief, info.num_worker_replicas
        ('worker', False, 2)
    """

    cluster: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    task_type: str | None = None
    task_id: int = 0

    @classmethod
    def from_tf_config(cls, tf_config: str | Mapping | None = None) -> ClusterInfo:
        """Parses TF_CONFIG (the environment variable when `tf_config` is None).

        Raises:
            ValueError: If the JSON is malformed, names an unknown task type, has a task
                index out of range, lists more than one chief, or lists the evaluator
                in the cluster.
        """
        if tf_config is None:
            tf_config = os.environ.get("TF_CONFIG", "")
        if isinstance(tf_config, str):
            if not tf_config.strip():
                return cls()
            try:
                tf_config = json.loads(tf_config)
            except json.JSONDecodeError as error:
                raise ValueError(f"TF_CONFIG is not valid JSON ({error}): {tf_config!r}") from None
        if not isinstance(tf_config, Mapping):
            raise ValueError(f"TF_CONFIG must be a JSON object; received {tf_config!r}.")
        cluster_raw = tf_config.get("cluster") or {}
        task = tf_config.get("task") or {}
        cluster = {}
        for job, addresses in cluster_raw.items():
            if job not in TASK_TYPES:
                raise ValueError(
                    f"TF_CONFIG cluster has unknown job {job!r}; expected one of {TASK_TYPES}."
                )
            if job == "evaluator":
                raise ValueError(
                    "TF_CONFIG lists 'evaluator' in the cluster; the evaluator is not part of "
                    "the training cluster. Give it only in `task` ({'type': 'evaluator'})."
                )
            if isinstance(addresses, str) or not all(isinstance(a, str) for a in addresses):
                raise ValueError(
                    f"TF_CONFIG cluster[{job!r}] must be a list of 'host:port' strings; "
                    f"received {addresses!r}."
                )
            cluster[job] = tuple(addresses)
        if len(cluster.get("chief", ())) > 1 or len(cluster.get("master", ())) > 1:
            raise ValueError("TF_CONFIG cluster may have at most one chief.")
        task_type = task.get("type")
        task_id = task.get("index", 0)
        if task_type is not None:
            if task_type not in TASK_TYPES:
                raise ValueError(
                    f"TF_CONFIG task type {task_type!r} is unknown; expected one of {TASK_TYPES}."
                )
            if not isinstance(task_id, int) or task_id < 0:
                raise ValueError(
                    f"TF_CONFIG task index must be a non-negative int; received {task_id!r}."
                )
            if task_type != "evaluator":
                if task_type not in cluster:
                    raise ValueError(
                        f"TF_CONFIG task type {task_type!r} has no entry in the cluster {cluster}."
                    )
                if task_id >= len(cluster[task_type]):
                    raise ValueError(
                        f"TF_CONFIG task index {task_id} is out of range: the cluster has "
                        f"{len(cluster[task_type])} {task_type!r} task(s)."
                    )
            elif task_id != 0:
                raise ValueError(f"There is one evaluator task; its index must be 0, got {task_id}.")
        if cluster and task_type is None:
            raise ValueError("TF_CONFIG has a cluster but no `task`; set task.type and task.index.")
        if "worker" in cluster and "ps" in cluster and not (
            "chief" in cluster or "master" in cluster
        ):
            raise ValueError(
                "TF_CONFIG with parameter servers needs a 'chief' task to coordinate training."
            )
        return cls(cluster=cluster, task_type=task_type, task_id=task_id)

    @property
    def cluster_spec(self) -> tf.train.ClusterSpec:
        """The cluster as a `tf.train.ClusterSpec` (empty when running locally)."""
        return tf.train.ClusterSpec({job: list(a) for job, a in self.cluster.items()})

    @property
    def is_chief(self) -> bool:
        """True for the chief, for worker 0 of a chief-less cluster, and locally."""
        if self.task_type in (None, "chief", "master"):
            return True
        if self.task_type == "worker":
            return "chief" not in self.cluster and "master" not in self.cluster and self.task_id == 0
        return False

    @property
    def num_worker_replicas(self) -> int:
        """Chief plus workers (1 when running locally)."""
        count = sum(len(self.cluster.get(job, ())) for job in ("chief", "master", "worker"))
        return max(count, 1)

    @property
    def num_ps_replicas(self) -> int:
        """The number of parameter servers."""
        return len(self.cluster.get("ps", ()))

    @property
    def is_distributed(self) -> bool:
        """Whether the cluster has more than this one task."""
        return bool(self.cluster)


def num_replicas(strategy: tf.distribute.Strategy | None) -> int:
    """Replicas that run a step in sync (1 without a strategy)."""
    return 1 if strategy is None else strategy.num_replicas_in_sync


# -- roles ------------------------------------------------------------------------------------
class Role(enum.StrEnum):
    """What a task does in `train_and_evaluate` (see `task_role`)."""

    LOCAL = "local"  # No cluster: train, evaluate and export in this process.
    TRAINER = "trainer"  # Chief, or a worker of a synchronous (all-reduce) cluster.
    SERVER = "server"  # A ps, or a worker of a parameter-server cluster: runs a tf server.
    EVALUATOR = "evaluator"  # Evaluates checkpoints as they appear.


def task_role(cluster: ClusterInfo, strategy: tf.distribute.Strategy | None) -> Role:
    """The role of this task, checking that the cluster and the strategy fit together.

    Raises:
        ValueError: If a multi-task cluster trains without a multi-worker strategy, or a
            parameter-server cluster's chief has no ParameterServerStrategy.

    Example:
        >>> task_role(ClusterInfo(), None)
        <Role.LOCAL: 'local'>
    """
    if cluster.task_type is None:
        return Role.LOCAL
    if cluster.task_type == "evaluator":
        return Role.EVALUATOR
    where = f"task {cluster.task_type}:{cluster.task_id}"
    if "ps" in cluster.cluster:
        if cluster.task_type in ("ps", "worker"):
            return Role.SERVER
        if not _is_parameter_server(strategy):
            raise ValueError(
                f"The cluster has 'ps' tasks, so the chief ({where}) needs "
                "RunConfig(train_distribute=<a ParameterServerStrategy>); it has "
                f"{type(strategy).__name__ if strategy else None}. Make it with "
                "el.distribute.make_strategy('parameter_server')."
            )
        return Role.TRAINER
    if cluster.num_worker_replicas > 1 and not _is_multi_worker(strategy):
        raise ValueError(
            f"The cluster has {cluster.num_worker_replicas} training tasks but {where} has no "
            "multi-worker strategy, so each would train on its own. Set RunConfig("
            "train_distribute=el.distribute.make_strategy('multi_worker_mirrored'))."
        )
    return Role.TRAINER


def _is_parameter_server(strategy) -> bool:
    return bool(getattr(strategy, "_is_parameter_server_strategy_v2", False))


def _is_multi_worker(strategy) -> bool:
    return strategy is not None and (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        or strategy.extended._in_multi_worker_mode())  # noqa: SLF001


def serve_until_done(cluster: ClusterInfo, model_dir: str, poll_secs: float = 1.0) -> None:
    """Runs this task's TensorFlow server until the training-done marker appears.

    For the ps and worker tasks of a parameter-server cluster: the chief places variables
    on the ps tasks and schedules steps on the workers through their servers. A server's
    own `join()` never returns; this returns once the chief has marked training done.
    """
    from estimator_lib import training_status

    server = tf.distribute.Server(cluster.cluster_spec, job_name=cluster.task_type,
                                  task_index=cluster.task_id, protocol="grpc", start=True)
    logger.info("Task %s:%d serving at %s until training is done.", cluster.task_type,
                cluster.task_id, server.target)
    while not training_status.training_done(model_dir):
        time.sleep(poll_secs)
    logger.info("Training is done; task %s:%d exits.", cluster.task_type, cluster.task_id)


# -- strategies -------------------------------------------------------------------------------
STRATEGY_KINDS = ("default", "mirrored", "multi_worker_mirrored", "parameter_server", "tpu")


def make_strategy(kind: str, *, cluster: ClusterInfo | None = None,
                  startup_timeout_secs: float = 300,
                  heartbeat_timeout_secs: float = 30,
                  tpu: str | None = None, zone: str | None = None,
                  project: str | None = None) -> tf.distribute.Strategy | None:
    """The strategy of `kind` for this task, made so a missing task fails in bounded time.

    Call it first in the program, before other TensorFlow work (multi-worker strategies
    must be created before TensorFlow's runtime starts). Tasks that do not train with the
    strategy get None: the evaluator, and the ps and worker tasks of a parameter-server
    cluster (`train_and_evaluate` runs their servers).

    With kind "tpu", a `TPUClusterResolver` finds the TPU (`tpu`, else
    `KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS` as GKE sets it, else `TPU_NAME`), this program
    connects to it and initializes the TPU system, and the `TPUStrategy` drives all its
    cores from this one process (the only training task: no TF_CONFIG cluster, or a single
    chief/worker beside an evaluator, which gets None and evaluates on its CPU). The
    Estimator feeds it through `distribute_datasets_from_function`, so input_fn gets an
    input_context per host. On a TPU, input_fn must yield dense tensors with numbers (do
    string lookups and hashing in input_fn or the transform step: XLA compiles the step and
    has no string ops, and TPUStrategy refuses sparse and ragged input).

    Args:
        kind: One of "default" (None), "mirrored" (this machine's devices),
            "multi_worker_mirrored" (synchronous, all-reduce), "parameter_server"
            (asynchronous; for the chief, with a ClusterCoordinator) or "tpu".
        cluster: The cluster; default `ClusterInfo.from_tf_config()`.
        startup_timeout_secs: How long to wait for every task (or the TPU's workers) to
            come up before failing with the list of those that did not. Default 300.
        heartbeat_timeout_secs: A synchronous cluster fails when a task has been silent
            this long (then restart all tasks; they resume from the latest checkpoint).
            Default 30.
        tpu: For kind "tpu": "local" (the chips of this Cloud TPU VM or GKE TPU node), a
            Cloud TPU name, or the TPU workers' addresses ("grpc://10.0.0.2:8470", several
            joined by ","). Default None: read from the environment.
        zone: For a Cloud TPU name: its zone. Default None (the GCE metadata server's).
        project: For a Cloud TPU name: its project. Default None (likewise).

    Returns:
        A `tf.distribute.Strategy`, or None.

    Raises:
        ValueError: For an unknown kind, one that does not fit the cluster, TPU arguments
            with another kind, or no TPU named.
        RuntimeError: If tasks (or the TPU) did not come up within `startup_timeout_secs`,
            or the TPU has no devices.

    Example:
        >>> strategy = el.distribute.make_strategy("multi_worker_mirrored")
        >>> config = el.RunConfig(model_dir="gs://bucket/model", train_distribute=strategy)
        >>> tpu = el.distribute.make_strategy("tpu", tpu="local")  # on a Cloud TPU VM
        >>> config = el.RunConfig(model_dir="gs://bucket/model", train_distribute=tpu)
    """
    if kind not in STRATEGY_KINDS:
        raise ValueError(f"Strategy `kind` {kind!r} is unknown; expected one of {STRATEGY_KINDS}.")
    if isinstance(startup_timeout_secs, bool) or not isinstance(
            startup_timeout_secs, int | float) or startup_timeout_secs <= 0:
        raise ValueError(
            f"`startup_timeout_secs` ({startup_timeout_secs!r}) must be a positive number.")
    given = [n for n, v in (("tpu", tpu), ("zone", zone), ("project", project)) if v is not None]
    if kind != "tpu" and given:
        raise ValueError(f"{', '.join(f'`{n}`' for n in given)} only apply to kind='tpu'; "
                         f"received kind={kind!r}.")
    cluster = ClusterInfo.from_tf_config() if cluster is None else cluster
    if kind == "default" or cluster.task_type == "evaluator":
        return None
    if kind == "tpu":
        _check_tpu_cluster(cluster)
        from estimator_lib import _tpu

        return _tpu.tpu_strategy(tpu, zone=zone, project=project,
                                 startup_timeout_secs=startup_timeout_secs)
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    if kind == "parameter_server":
        if "ps" not in cluster.cluster:
            raise ValueError(
                "`kind='parameter_server'` needs a TF_CONFIG cluster with 'ps' tasks; the "
                f"cluster is {dict(cluster.cluster)}."
            )
        if cluster.task_type in ("ps", "worker"):
            return None
        wait_for_tasks(cluster, ("worker", "ps"), startup_timeout_secs)
        return tf.distribute.experimental.ParameterServerStrategy(_resolver(cluster))
    if "ps" in cluster.cluster:
        raise ValueError("`kind='multi_worker_mirrored'` does not use 'ps' tasks; remove them "
                         "from the cluster or use kind='parameter_server'.")
    if not cluster.is_distributed:
        return tf.distribute.MultiWorkerMirroredStrategy()
    return _multi_worker_mirrored(cluster, startup_timeout_secs, heartbeat_timeout_secs)


def _check_tpu_cluster(cluster: ClusterInfo) -> None:
    if "ps" in cluster.cluster:
        raise ValueError("`kind='tpu'` does not use 'ps' tasks; remove them from the cluster "
                         "or use kind='parameter_server'.")
    if cluster.num_worker_replicas > 1:
        raise ValueError(
            f"`kind='tpu'` trains from one program, but the TF_CONFIG cluster has "
            f"{cluster.num_worker_replicas} training tasks ({dict(cluster.cluster)}). Run one "
            "chief or worker per TPU slice (the resolver finds the slice's hosts), plus an "
            "optional evaluator."
        )


def _resolver(cluster: ClusterInfo):
    return tf.distribute.cluster_resolver.SimpleClusterResolver(
        cluster.cluster_spec, task_type=cluster.task_type, task_id=cluster.task_id,
        rpc_layer="grpc")


def _multi_worker_mirrored(cluster, startup_timeout_secs, heartbeat_timeout_secs):
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.eager import context

    # MultiWorkerMirroredStrategy configures the coordination service itself, with no
    # start-up timeout (TensorFlow then waits an hour for a missing task); configured here
    # first, the strategy keeps this configuration.
    jobs = [coordination_config_pb2.CoordinatedJob(name=job, num_tasks=len(cluster.cluster[job]))
            for job in ("chief", "worker") if job in cluster.cluster]
    leader = "chief" if "chief" in cluster.cluster else "worker"
    # TensorFlow starts this task's server inside the strategy's constructor and then
    # waits for the others without a bound; so first rendezvous on plain TCP: listen on
    # this task's own port until every other task's port answers (or time runs out).
    _rendezvous(cluster, ("chief", "worker"), startup_timeout_secs)
    context.context().configure_coordination_service(
        service_type="standalone", service_leader=f"/job:{leader}/replica:0/task:0",
        coordinated_jobs=jobs, cluster_register_timeout_in_ms=int(startup_timeout_secs * 1000),
        heartbeat_timeout_in_ms=int(heartbeat_timeout_secs * 1000))
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=_resolver(cluster))
    except (tf.errors.DeadlineExceededError, tf.errors.UnavailableError,
            tf.errors.AbortedError, tf.errors.InternalError) as error:
        missing = unreachable_tasks(cluster, ("chief", "worker"))
        raise RuntimeError(
            f"The multi-worker cluster did not come up within {startup_timeout_secs:.0f} s "
            f"(startup_timeout_secs): tasks not reachable: {missing or 'none found'}. Start "
            f"every task listed in TF_CONFIG. TensorFlow said: {str(error)[:300]}"
        ) from None


def _rendezvous(cluster: ClusterInfo, jobs: Sequence[str], timeout_secs: float) -> None:
    host, _, port = cluster.cluster[cluster.task_type][cluster.task_id].rpartition(":")
    listener = socket.socket(socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("", int(port)))
        listener.listen(64)
    except OSError as error:
        listener.close()
        raise RuntimeError(
            f"Task {cluster.task_type}:{cluster.task_id} cannot listen on its TF_CONFIG "
            f"address port {port}: {error}."
        ) from None
    try:
        wait_for_tasks(cluster, jobs, timeout_secs)
    finally:
        listener.close()


def unreachable_tasks(cluster: ClusterInfo, jobs: Sequence[str]) -> list[str]:
    """`job:index (host:port)` of the tasks of `jobs` that accept no TCP connection."""
    missing = []
    for job in jobs:
        for index, address in enumerate(cluster.cluster.get(job, ())):
            if (job, index) == (cluster.task_type, cluster.task_id):
                continue
            host, _, port = address.rpartition(":")
            try:
                with socket.create_connection((host.strip("[]"), int(port)), timeout=2):
                    pass
            except OSError:
                missing.append(f"{job}:{index} ({address})")
    return missing


def wait_for_tasks(cluster: ClusterInfo, jobs: Sequence[str], timeout_secs: float,
                   poll_secs: float = 0.5) -> None:
    """Waits until the servers of every task of `jobs` accept connections.

    Raises:
        RuntimeError: Naming the tasks still unreachable after `timeout_secs`.

    Example:
        >>> wait_for_tasks(ClusterInfo.from_tf_config(), ("worker", "ps"), timeout_secs=60)
    """
    deadline = time.monotonic() + timeout_secs
    while missing := unreachable_tasks(cluster, jobs):
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"Tasks did not come up within {timeout_secs:.0f} s (startup_timeout_secs): "
                f"{missing}. Start every task listed in TF_CONFIG, or check the addresses."
            )
        time.sleep(poll_secs)
