"""The one reader of TF_CONFIG: cluster and task parsing, and strategy helpers.

TF_CONFIG is the JSON the Kubeflow Training Operator (TFJob) sets on every replica:
`{"cluster": {"chief": [...], "worker": [...], "ps": [...]}, "task": {"type": "worker",
"index": 0}}`. It is parsed and validated once, into a `ClusterInfo`, so a bad cluster
description fails at start-up with a clear message instead of hanging later.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping

import tensorflow as tf

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
