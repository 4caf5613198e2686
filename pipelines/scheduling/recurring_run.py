"""A recurring run on a Kubeflow Pipelines endpoint: the cluster runs the schedule.

The pipeline is compiled (`compile_pipeline`) and sent with the recurring run, with the
same policies as the local scheduler: one run at a time (`max_concurrency=1`) and at most
one catch-up after a pause (`no_catchup=True`). The cron goes in its six-field form
(`CronSchedule.kfp_expression`), since KFP's scheduler reads the first of six fields as
the second. KFP evaluates the cron in its controller's time zone (UTC on most clusters).

Example:
    >>> recurring = create_recurring_run(
    ...     load_config("examples/chicago_taxi/pipeline.yaml"), host="http://localhost:8080",
    ...     cron="0 3 * * *", image="us-docker.pkg.dev/proj/ml/estimator-pipelines:0.1.0")
    >>> recurring.cron
    '0 0 3 * * *'
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import tempfile
import warnings
from datetime import datetime
from typing import Any

from pipelines.config import PipelineConfig
from pipelines.scheduling.cron import CronSchedule

__all__ = ["RecurringRun", "create_recurring_run"]

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RecurringRun:
    """A recurring run created on a KFP endpoint.

    Attributes:
        recurring_run_id: Its id on the endpoint.
        name: Its display name.
        experiment_id: The id of the experiment it runs in.
        cron: The six-field cron expression it was given.
    """

    recurring_run_id: str
    name: str
    experiment_id: str
    cron: str


def create_recurring_run(config: PipelineConfig, *, host: str, cron: str | CronSchedule,
                         image: str | None = None, experiment: str | None = None,
                         name: str | None = None, arguments: dict[str, Any] | None = None,
                         until: datetime | None = None) -> RecurringRun:
    """Compiles the pipeline and creates a recurring run of it on the KFP endpoint `host`.

    Args:
        config: The checked pipeline config.
        host: The KFP API endpoint URL (e.g. `http://localhost:8080`).
        cron: Five fields, or six with seconds first; sent as six.
        image: The container image every step runs in (default: the components' own).
        experiment: The KFP experiment, created if missing (default: `config.name`).
        name: The recurring run's display name (default: `<config.name>-schedule`).
        arguments: Pipeline parameters (`input_pattern`, `train_steps`, ...).
        until: No runs after this moment (time-zone aware; default: none).

    Returns:
        The created recurring run.

    Raises:
        CronError: If `cron` is not a valid cron expression (before anything is sent).
        ValueError: If `image` is not an image reference or `until` is naive.
        RuntimeError: If the endpoint cannot be reached or refuses; the message names it.
    """
    schedule = cron if isinstance(cron, CronSchedule) else CronSchedule(cron)
    if until is not None and until.utcoffset() is None:
        raise ValueError(f"`until` ({until.isoformat()}) must be time-zone aware.")
    name = name or f"{config.name}-schedule"
    experiment = experiment or config.name
    import kfp

    from pipelines.compile import compile_pipeline

    with tempfile.TemporaryDirectory() as directory:
        package = compile_pipeline(config, os.path.join(directory, "pipeline.yaml"),
                                   image=image)
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed), warnings.catch_warnings():
                # kfp prints UI links (logged below) and warns about old servers on every use.
                warnings.filterwarnings("ignore", "This client only works with",
                                        FutureWarning)
                client = kfp.Client(host=host)
                experiment_id = client.create_experiment(experiment).experiment_id
                created = client.create_recurring_run(
                    experiment_id=experiment_id, job_name=name,
                    description=f"{config.name} on cron {schedule.expression!r}",
                    cron_expression=schedule.kfp_expression,
                    end_time=None if until is None else until.isoformat(),
                    max_concurrency=1, no_catchup=True, params=dict(arguments or {}),
                    pipeline_package_path=package, enabled=True)
        except Exception as error:  # kfp raises urllib3/ApiException/ValueError errors
            raise RuntimeError(
                f"Could not create a recurring run on the Kubeflow Pipelines endpoint "
                f"{host!r}: {type(error).__name__}: {error}") from None
        finally:
            for line in printed.getvalue().splitlines():
                _log.debug("kfp: %s", line)
    return RecurringRun(recurring_run_id=created.recurring_run_id, name=name,
                        experiment_id=experiment_id, cron=schedule.kfp_expression)
