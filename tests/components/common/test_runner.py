"""Beam pipelines: the local runner is the FnApiRunner (never Prism), options are explicit."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import DirectOptions, StandardOptions, TypeOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from components.common.runner import create_pipeline, pipeline_options


@pytest.mark.parametrize("args", [[], ["--runner=DirectRunner"], ["--runner=FnApiRunner"]])
def test_local_runs_use_the_fn_api_runner(args):
    pipeline = create_pipeline(args)
    assert isinstance(pipeline.runner, FnApiRunner)
    direct = pipeline.options.view_as(DirectOptions)
    assert direct.direct_num_workers == 1 and direct.direct_running_mode == "in_memory"


def test_explicit_workers_choose_multi_processing():
    options = pipeline_options(["--direct_num_workers=2"])
    assert options.view_as(DirectOptions).direct_running_mode == "multi_processing"
    options = pipeline_options(["--direct_num_workers=2", "--direct_running_mode=multi_threading"])
    assert options.view_as(DirectOptions).direct_running_mode == "multi_threading"


def test_local_runs_skip_construction_type_checks_unless_asked():
    assert pipeline_options([]).view_as(TypeOptions).pipeline_type_check is False
    asked = pipeline_options(["--pipeline_type_check"])
    assert asked.view_as(TypeOptions).pipeline_type_check is True


def test_other_runners_are_left_alone():
    options = pipeline_options(["--runner=FlinkRunner"], temp_location="gs://b/tmp")
    assert options.view_as(StandardOptions).runner == "FlinkRunner"
    assert options.view_as(TypeOptions).pipeline_type_check is True
    assert "--direct_num_workers=1" not in options.get_all_options(retain_unknown_options=True)
    assert options.get_all_options()["temp_location"] == "gs://b/tmp"


def test_a_string_is_refused():
    with pytest.raises(TypeError, match=r"list of strings, got the string '--runner=X'"):
        pipeline_options("--runner=X")


def test_it_runs():
    with create_pipeline() as pipeline:
        assert_that(pipeline | beam.Create([1, 2]) | beam.Map(lambda x: x * 10),
                    equal_to([10, 20]))
