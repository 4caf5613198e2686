"""The pipeline definition: ingest -> transform -> trainer (+ evaluator beside it) -> pusher.

One definition, built from a `PipelineConfig`, runs locally (kfp.local) and compiles to
Kubeflow IR YAML. On a cluster the trainer and the evaluator share one model_dir, planned by
a small first step from the pipeline root and the run's id, so they run side by side and
metrics stream while training runs, as the paper's evaluation worker does. kfp.local runs
steps one at a time, so a local pipeline is built with `concurrent_evaluation=False`: the
evaluator takes the trainer's model artifact (its `model_dir/`), runs after the trainer and
evaluates the checkpoints it left; and unchanged steps are cached between local runs.

Pipeline parameters (what a scheduled or submitted run may change without recompiling):
`input_pattern`, `span` (-1: the latest or none), `serving_base_uri`, `model_name` and
`train_steps`; everything else is fixed by the config when the pipeline is built.

Example:
    >>> config = load_config("examples/chicago_taxi/pipeline.yaml")
    >>> pipeline_fn = build_pipeline(config)
    >>> kfp.compiler.Compiler().compile(pipeline_fn, "taxi.yaml")
"""


import concurrent.futures
import dataclasses
from collections.abc import Mapping
from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Model

from components.common.images import PIPELINE_IMAGE
from components.evaluator.component import evaluator
from components.ingest.component import ingest
from components.pusher.component import pusher
from components.trainer.component import trainer
from components.transform.component import transform
from pipelines.config import PipelineConfig
from pipelines.record_steps import check_new_span, record_run, resolve_base_model
from pipelines.records import NEW_SPAN, records_uri

SPAN_PLACEHOLDER = "{SPAN}"

__all__ = ["STEPS", "Outputs", "build_pipeline", "config_digest", "plan_model_dir"]

# The steps in order, by display name: `check-new-span` and `plan-model-dir` only on a
# cluster (`check-new-span` for a `{SPAN}` input), `resolve-base-model` with warm start.
STEPS = ("check-new-span", "ingest", "transform", "plan-model-dir", "resolve-base-model",
         "trainer", "evaluator", "pusher", "record-run")


class _Built(NamedTuple):
    outputs: "Outputs"
    tasks: list


class Outputs(NamedTuple):
    """The pipeline's outputs: the trained model, the verdict, the analysis, the push record."""

    model: Model
    blessing: Artifact
    evaluation: Artifact
    pushed_model: Artifact


@dsl.component(base_image=PIPELINE_IMAGE, install_kfp_package=False)
def plan_model_dir(pipeline_root: str, run_id: str) -> str:
    """The model_dir the trainer writes and the evaluator watches: one per pipeline run."""
    return f"{pipeline_root.rstrip('/')}/model_dirs/{run_id}"


def build_pipeline(config: PipelineConfig, *, concurrent_evaluation: bool = True,
                   cache_environment: "Mapping[str, str] | None" = None):
    """The KFP pipeline function for `config`.

    Args:
        config: The checked pipeline config.
        concurrent_evaluation: Run the evaluator beside the trainer (a cluster). False runs
            it after the trainer (kfp.local, which runs one step at a time). On a cluster, a
            `{SPAN}` input is first checked for a span no recorded run has taken
            (`check-new-span`); the other steps run only when there is one.
        cache_environment: Variables set on every step so that they join its cache key
            (`pipelines.caching.cache_environment`: the input data's fingerprint and the
            code's version). Given, unchanged data, settings and code reuse every step's
            outputs; None never caches ingest (files can change under the same pattern,
            e.g. a new drop of data for a scheduled run).

    Returns:
        A `@dsl.pipeline` function; its parameters default to the config's values.
    """
    # kfp's resource setters call `inspect.stack()`, which rescans every loaded module for
    # each frame whose file is no module's (runpy's, under `python -m` or in the warm
    # worker): 1.2-1.6 s with TensorFlow loaded. A new thread's stack has no such frame.
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="build-pipeline") as thread:
        return thread.submit(_build_pipeline, config, concurrent_evaluation,
                             cache_environment).result()


def _build_pipeline(config: PipelineConfig, concurrent_evaluation: bool,
                    cache_environment: "Mapping[str, str] | None"):
    data, serving = config.data, config.serving

    def steps(input_pattern, span, serving_base_uri, model_name, train_steps) -> Outputs:
        outputs = _steps(input_pattern, span, serving_base_uri, model_name, train_steps)
        for task in outputs.tasks:
            for name, value in (cache_environment or {}).items():
                task.set_env_variable(name, value)
        return outputs.outputs

    def _steps(input_pattern, span, serving_base_uri, model_name, train_steps):
        ingested = ingest(input_pattern=input_pattern, span=span, settings=data.settings,
                          resources=config.resources["ingest"])
        ingested.set_display_name("ingest")
        ingested.set_caching_options(cache_environment is not None)
        transformed = transform(
            examples=ingested.outputs["examples"], schema=ingested.outputs["schema"],
            settings=config.transform, resources=config.resources["transform"])
        transformed.set_display_name("transform")
        model_dir = None
        if concurrent_evaluation:
            plan = plan_model_dir(pipeline_root=config.root,
                                  run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER)
            plan.set_caching_options(False)  # a new model_dir for every run
            config.resources["bookkeeping"].apply(plan)
            plan.set_display_name("plan-model-dir")
            model_dir = plan.output
        base_model = None
        if config.warm_start:
            resolved = resolve_base_model(pipeline_root=config.root)
            resolved.set_caching_options(False)  # the answer changes as runs are blessed
            config.resources["bookkeeping"].apply(resolved)
            resolved.set_display_name("resolve-base-model")
            base_model = resolved.output
        trained = trainer(
            examples=transformed.outputs["transformed_examples"],
            transform_graph=transformed.outputs["transform_graph"],
            settings=config.trainer, train_steps=train_steps, model_dir=model_dir,
            warm_start_from=base_model, resources=config.resources["trainer"],
            evaluate=False)  # the evaluator step evaluates every checkpoint, the final one too
        trained.set_display_name("trainer")
        # Beside the trainer, the evaluator finds the model_dir by the planned URI; after it,
        # by the trainer's model artifact (which also orders the two steps).
        placement = ({"model_dir": model_dir} if concurrent_evaluation
                     else {"model": trained.outputs["model"]})
        evaluated = evaluator(
            examples=ingested.outputs["examples"],
            transformed_examples=transformed.outputs["transformed_examples"],
            transform_graph=transformed.outputs["transform_graph"], **placement,
            settings=config.evaluator, serving_base_uri=serving_base_uri,
            model_name=model_name, resources=config.resources["evaluator"])
        evaluated.set_display_name("evaluator")
        pushed = pusher(
            model=trained.outputs["model"], blessing=evaluated.outputs["blessing"],
            examples=ingested.outputs["examples"], serving_base_uri=serving_base_uri,
            model_name=model_name, settings=serving.settings,
            resources=config.resources["pusher"])
        pushed.set_display_name("pusher")
        pushed.set_caching_options(False)  # what is served can change between runs
        recorded = record_run(
            examples=ingested.outputs["examples"], model=trained.outputs["model"],
            blessing=evaluated.outputs["blessing"], pushed_model=pushed.outputs["pushed_model"],
            records=records_uri(config.root),
            run_id=f"{dsl.PIPELINE_JOB_NAME_PLACEHOLDER}",
            config_name=config.name, config_digest=config_digest(config),
            warm_started_from=base_model if base_model is not None else "")
        recorded.set_caching_options(False)
        config.resources["bookkeeping"].apply(recorded)
        recorded.set_display_name("record-run")
        tasks = [ingested, transformed, trained, evaluated, pushed, recorded]
        outputs = Outputs(model=trained.outputs["model"], blessing=evaluated.outputs["blessing"],
                          evaluation=evaluated.outputs["evaluation"],
                          pushed_model=pushed.outputs["pushed_model"])
        return _Built(outputs, tasks)

    decorate = dsl.pipeline(name=config.name, description=f"{config.name}: ingest -> "
                            "transform -> trainer + evaluator -> pusher (estimator-pipelines)",
                            pipeline_root=config.root)
    defaults = dict(input_pattern=data.input_pattern,
                    span=-1 if data.span is None else data.span,
                    serving_base_uri=serving.base_dir, model_name=serving.model_name,
                    train_steps=config.trainer.train_steps)
    if not (concurrent_evaluation and SPAN_PLACEHOLDER in data.input_pattern):
        @decorate
        def pipeline(
            input_pattern: str = defaults["input_pattern"],
            span: int = defaults["span"],
            serving_base_uri: str = defaults["serving_base_uri"],
            model_name: str = defaults["model_name"],
            train_steps: int = defaults["train_steps"],
        ) -> Outputs:
            return steps(input_pattern, span, serving_base_uri, model_name, train_steps)

        return pipeline

    # A scheduled cluster run with nothing new to ingest stops after its first step, saying
    # so (kfp.local runs are checked before they start: `local_run.run_local`).
    @decorate
    def gated_pipeline(
        input_pattern: str = defaults["input_pattern"],
        span: int = defaults["span"],
        serving_base_uri: str = defaults["serving_base_uri"],
        model_name: str = defaults["model_name"],
        train_steps: int = defaults["train_steps"],
    ):
        check = check_new_span(input_pattern=input_pattern, span=span,
                               pipeline_root=config.root)
        check.set_caching_options(False)
        config.resources["bookkeeping"].apply(check)
        check.set_display_name("check-new-span")
        with dsl.If(check.output == NEW_SPAN, name="new-span"):
            steps(input_pattern, span, serving_base_uri, model_name, train_steps)

    return gated_pipeline


def config_digest(config: PipelineConfig) -> str:
    """A short digest of the config (its content, not its file's path): runs made with the
    same settings share it."""
    import hashlib
    import json

    content = dataclasses.asdict(dataclasses.replace(config, source=""))
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()
                          ).hexdigest()[:16]
