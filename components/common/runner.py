"""Beam pipelines the way every step creates them: an explicit runner, never Prism by accident.

Beam 2.77's `DirectRunner` (and a pipeline with no runner) first tries to download and start
the Prism runner binary; offline that costs a failed lookup and, where a name resolves but
traffic is dropped, can hang. Here `DirectRunner` (or no `--runner`) means Beam's FnApiRunner,
the DirectRunner's batch engine, with `--direct_num_workers` and `--direct_running_mode` set
explicitly (1 worker, in memory unless the arguments say otherwise). Every other runner
(`DataflowRunner`, `FlinkRunner`, `SparkRunner`, `PrismRunner`, ...) is used as given.

Example:
    >>> with create_pipeline(["--direct_num_workers=2",
    ...                       "--direct_running_mode=multi_processing"]) as p:
    ...     _ = p | beam.Create([1, 2, 3]) | beam.Map(print)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import (
    DirectOptions,
    GoogleCloudOptions,
    PipelineOptions,
    StandardOptions,
)

__all__ = ["DIRECT_RUNNER_NAMES", "create_pipeline", "is_direct", "pipeline_options"]

_LOGGER = logging.getLogger(__name__)

DIRECT_RUNNER_NAMES = frozenset({"direct", "directrunner", "switchingdirectrunner",
                                 "fnapirunner", "fnapi"})


def is_direct(options: PipelineOptions) -> bool:
    """Whether these options run on the local FnApiRunner (no or a direct `--runner`)."""
    runner = options.view_as(StandardOptions).runner
    return runner is None or (isinstance(runner, str) and runner.lower() in DIRECT_RUNNER_NAMES)


def _has_flag(args: Sequence[str], name: str) -> bool:
    return any(a == f"--{name}" or a.startswith(f"--{name}=") for a in args)


def pipeline_options(beam_pipeline_args: Sequence[str] = (), *,
                     temp_location: str | None = None) -> PipelineOptions:
    """Parses Beam arguments and fills in the defaults every step relies on.

    Args:
        beam_pipeline_args: Beam's command-line arguments, e.g. `["--runner=FlinkRunner",
            "--flink_master=host:8081"]`. Default: none (the local FnApiRunner).
        temp_location: `--temp_location` to use when the arguments give none (runners that
            stage files need one; put it on the artifact store). Default: None.

    Returns:
        The options; for the local runner `--direct_num_workers` and `--direct_running_mode`
        are always explicit, and construction-time type checks are off unless the
        arguments turn them on (`--pipeline_type_check`).

    Raises:
        TypeError: if `beam_pipeline_args` is a string rather than a list of strings.
    """
    if isinstance(beam_pipeline_args, str | bytes):
        raise TypeError(
            f"`beam_pipeline_args` must be a list of strings, got the string "
            f"{beam_pipeline_args!r}; pass e.g. [{beam_pipeline_args!r}].")
    args = [str(a) for a in beam_pipeline_args]
    probe = PipelineOptions(args)
    if is_direct(probe):
        if not _has_flag(args, "direct_num_workers"):
            args.append("--direct_num_workers=1")
        # Construction-time type checks parse the options anew for each transform applied
        # (`view_as`): ~2 s for tf.Transform's ~1,500 transforms on one core, for graphs
        # the project builds itself. The outputs are the same without (compared on the
        # taxi transform). `--pipeline_type_check` turns them back on.
        if not (_has_flag(args, "pipeline_type_check")
                or _has_flag(args, "no_pipeline_type_check")):
            args.append("--no_pipeline_type_check")
        if not _has_flag(args, "direct_running_mode"):
            workers = PipelineOptions(args).view_as(DirectOptions).direct_num_workers
            args.append("--direct_running_mode="
                        + ("in_memory" if workers == 1 else "multi_processing"))
    if temp_location and not _has_flag(args, "temp_location"):
        args.append(f"--temp_location={temp_location}")
    options = PipelineOptions(args)
    if temp_location and not options.view_as(GoogleCloudOptions).temp_location:
        options.view_as(GoogleCloudOptions).temp_location = temp_location
    return options


def _direct_runner(options: PipelineOptions):
    # What SwitchingDirectRunner does once it has given up on Prism: the FnApiRunner with
    # the pipeline options in its provision info (workers in subprocesses read them there).
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import fn_runner
    from apache_beam.runners.portability.portable_runner import JobServiceHandle

    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    provision_info = fn_runner.ExtendedProvisionInfo(
        beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))
    return fn_runner.FnApiRunner(provision_info=provision_info)


def create_pipeline(beam_pipeline_args: Sequence[str] = (), *,
                    temp_location: str | None = None) -> beam.Pipeline:
    """A `beam.Pipeline` on the runner the arguments name; see `pipeline_options`.

    Without `--runner` (or with `--runner=DirectRunner`) this is Beam's FnApiRunner,
    never Prism.
    """
    options = pipeline_options(beam_pipeline_args, temp_location=temp_location)
    if is_direct(options):
        direct = options.view_as(DirectOptions)
        _LOGGER.info("Beam: FnApiRunner, %s worker(s), %s.", direct.direct_num_workers,
                     direct.direct_running_mode)
        return beam.Pipeline(runner=_direct_runner(options), options=options)
    _LOGGER.info("Beam: %s.", options.view_as(StandardOptions).runner)
    return beam.Pipeline(options=options)
