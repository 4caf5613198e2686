"""What a step asks Kubernetes for: CPU, memory and an accelerator node pool.

Every step has a `Resources` (the pipeline YAML's `resources:` in the step's section, with
defaults per step), applied to its task as requests and limits when the pipeline is built,
so a shared cluster schedules each step where it fits and does not evict it first.

Example:
    >>> resources = Resources(cpu="4", memory="16G", accelerator_type="NVIDIA_L4",
    ...                       accelerator_count=1)
    >>> resources.apply(task)
"""

from __future__ import annotations

import dataclasses
import re

from components.common.settings import Settings

__all__ = ["Resources"]

_QUANTITY = re.compile(r"\d+(\.\d+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Resources(Settings):
    """A step's Kubernetes requests (also its limits) and accelerators.

    Args:
        cpu: CPU request and limit, a Kubernetes quantity ("2", "500m"). None asks nothing.
        memory: Memory request and limit ("4G", "512Mi"). None asks nothing.
        accelerator_type: The accelerator node pool, e.g. "NVIDIA_TESLA_T4", "NVIDIA_L4",
            "TPU_V5_LITEPOD". None: no accelerator.
        accelerator_count: Accelerators to request (needs `accelerator_type`; 0 means 1
            when a type is given).

    Raises:
        ValueError: For a quantity Kubernetes would refuse, or a count without a type.
    """

    cpu: str | None = None
    memory: str | None = None
    accelerator_type: str | None = None
    accelerator_count: int = 0

    def __post_init__(self):
        for name in ("cpu", "memory"):
            value = getattr(self, name)
            if value is not None and not _QUANTITY.fullmatch(str(value)):
                raise ValueError(f"`{name}` {value!r} is not a Kubernetes quantity (e.g. '4', "
                                 "'500m', '16G').")
            if value is not None:
                object.__setattr__(self, name, str(value))
        if isinstance(self.accelerator_count, bool) or not isinstance(
                self.accelerator_count, int) or self.accelerator_count < 0:
            raise ValueError(f"`accelerator_count` must be an integer >= 0; received "
                             f"{self.accelerator_count!r}.")
        if self.accelerator_count and not self.accelerator_type:
            raise ValueError(f"`accelerator_count` is {self.accelerator_count} but no "
                             "`accelerator_type` says which (e.g. 'NVIDIA_TESLA_T4').")

    def apply(self, task) -> None:
        """Sets these requests, limits and accelerators on a KFP `PipelineTask`."""
        if self.cpu:
            task.set_cpu_request(self.cpu).set_cpu_limit(self.cpu)
        if self.memory:
            task.set_memory_request(self.memory).set_memory_limit(self.memory)
        if self.accelerator_type:
            task.set_accelerator_type(self.accelerator_type)
            task.set_accelerator_limit(self.accelerator_count or 1)
