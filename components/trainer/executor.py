"""The trainer's executor: trains an Estimator on transformed examples and exports it.

`run(config)`:
1. makes the distribution strategy `config.strategy` names (first: multi-worker strategies
   must exist before TensorFlow's runtime starts), "auto" choosing from TF_CONFIG;
2. on the chief, writes the model recipe into the model_dir (so the evaluator, watching the
   same folder, can rebuild the Estimator and read each checkpoint as it appears);
3. runs `el.train_and_evaluate` to `train_steps` with a RunConfig built from the config,
   the strategy and TF_CONFIG (on a cluster, this task's role: chief, worker, ps or
   evaluator), writing checkpoints and TensorBoard summaries into the model_dir (a
   restarted step resumes from the latest checkpoint); the chief marks training done there
   (`el.TRAINING_DONE_FILENAME`), then evaluates the final checkpoint on the eval split
   (unless `config.evaluate` is False: an evaluation worker, such as the pipeline's
   evaluator step, evaluates every checkpoint);
4. on the chief, exports `serving_model/` (raw tf.Example in, the transform graph inside)
   into the model artifact, and writes `trainer_result.json` last. Other tasks write
   nothing into the model artifact.

It imports no KFP. `python -m components.trainer` (see `components.trainer.cli`) runs it
from command-line flags, as every replica of a TFJob does.

Example:
    >>> from components.trainer.executor import TrainerConfig, run
    >>> result = run(TrainerConfig(
    ...     examples_uri="/runs/1/transform/examples",
    ...     transform_graph_uri="/runs/1/transform/graph", model_uri="/runs/1/model",
    ...     estimator="DNNLinearCombinedClassifier", train_steps=2000))
    >>> result.metrics["auc"]
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Mapping

import tensorflow as tf

import estimator_lib as el
from components.artifacts import model
from components.artifacts.model import TrainerResult, write_trainer_result
from components.common.phases import phase
from components.model.export import export_serving_model
from components.trainer.config import TrainerConfig, TrainerSettings

__all__ = ["TrainerConfig", "TrainerResult", "TrainerSettings", "run", "strategy_kind"]

_LOGGER = logging.getLogger(__name__)


def run(config: TrainerConfig) -> TrainerResult:
    """Trains, evaluates and exports as `config` says; see the module docstring.

    Raises:
        FileNotFoundError: If an input (examples split, transform graph, module) is missing.
        ValueError: If the recipe cannot be built over the transformed features.
    """
    start = time.time()
    if config.module_file is not None and not tf.io.gfile.exists(config.module_file):
        raise FileNotFoundError(f"The trainer module {config.module_file!r} does not exist.")
    cluster = el.ClusterInfo.from_tf_config()
    kind = strategy_kind(config.strategy, cluster)
    strategy = el.distribute.make_strategy(kind, cluster=cluster,
                                           startup_timeout_secs=config.startup_timeout_secs)
    model_dir = config.resolved_model_dir
    base = _warm_start_path(config.warm_start_from)
    recipe = config.recipe()
    if base:  # a continued model keeps the shapes its learned rows need
        recipe = recipe.continued_from(base)
    if cluster.is_chief:
        recipe.write(model_dir)
        if recipe.module_file is not None:  # build from the copy, as the evaluator will
            recipe = dataclasses.replace(recipe,
                                         module_file=os.path.join(model_dir, model.MODULE_FILE))
    label_key = recipe.resolved_label_key()
    run_config = el.RunConfig(
        tf_random_seed=config.seed, save_checkpoints_steps=config.checkpoint_every,
        save_checkpoints_secs=None, keep_checkpoint_max=config.keep_checkpoint_max,
        steps_per_loop=min(config.steps_per_loop, config.checkpoint_every),
        log_step_count_steps=(config.log_every_steps
                              or max(config.steps_per_loop, config.train_steps // 10)),
        train_distribute=strategy, cluster=cluster)
    # A base model trained on an earlier span may have other vocabularies: its learned rows
    # follow their tokens into the new ones (see `ModelRecipe.warm_start`).
    warm_start = recipe.warm_start(base) if base else None
    estimator = recipe.build_estimator(model_dir, run_config, warm_start_from=warm_start)
    train_fn = _sharded(recipe.input_fn(config.examples_uri, config.train_split,
                                        batch_size=config.batch_size, train=True,
                                        seed=config.seed))
    eval_fn = recipe.input_fn(config.examples_uri, config.eval_split,
                              batch_size=config.eval_batch_size, train=False)

    _LOGGER.info("Training %s to step %d in %s (task %s, strategy %s: %s)",
                 config.estimator or "the module's model_fn", config.train_steps, model_dir,
                 _task_name(cluster), kind, type(strategy).__name__ if strategy else None)
    train_start = time.time()
    # Locally: train, evaluating at most every `eval_throttle_secs` (not at all where an
    # evaluation worker evaluates); on a cluster, this task's role from TF_CONFIG (an
    # evaluator task evaluates whatever `evaluate` says). The chief marks training done.
    evaluates = config.evaluate or cluster.task_type == "evaluator"
    eval_spec = el.EvalSpec(eval_fn, steps=config.eval_steps,
                            throttle_secs=config.eval_throttle_secs) if evaluates else None
    with phase("training"):
        metrics, _ = el.train_and_evaluate(
            estimator, el.TrainSpec(train_fn, max_steps=config.train_steps), eval_spec)
    train_seconds = time.time() - train_start
    # A worker may end before the chief has saved the final checkpoint: it reports the
    # latest one it sees (its result is not written anywhere).
    final_checkpoint = estimator.latest_checkpoint()
    final_step = el.training_status.checkpoint_step(final_checkpoint) if final_checkpoint else 0
    if metrics is None and run_config.is_chief and config.evaluate:  # an evaluator task did; here too
        metrics = estimator.evaluate(eval_fn, steps=config.eval_steps,
                                     checkpoint_path=final_checkpoint)
    metrics = {k: float(v) for k, v in (metrics or {}).items()}
    if metrics:
        _LOGGER.info("Step %d: %s", final_step, _format(metrics))

    serving_dir = None
    if run_config.is_chief:
        with phase("export"):
            serving_dir = export_serving_model(
                estimator, config.transform_graph_uri, config.model_uri, label_key=label_key,
                checkpoint_path=final_checkpoint)
        _LOGGER.info("Exported the serving model to %s", serving_dir)
    result = TrainerResult(
        model_dir=model_dir, final_step=final_step, final_checkpoint=final_checkpoint,
        metrics=metrics, serving_model_dir=serving_dir,
        label_key=label_key, task=recipe.task(), train_seconds=round(train_seconds, 3),
        seconds=round(time.time() - start, 3), cluster_task=_task_name(cluster))
    if run_config.is_chief:
        write_trainer_result(config.model_uri, result)
    return result


def strategy_kind(strategy: str, cluster: el.ClusterInfo) -> str:
    """The `el.distribute.make_strategy` kind for `TrainerConfig.strategy` on `cluster`.

    "auto" picks from the cluster: "parameter_server" when it has ps tasks,
    "multi_worker_mirrored" when it has several training tasks (chief and workers),
    "mirrored" for one task that sees several GPUs (a pod asking for 2+ accelerators),
    "default" (no strategy) otherwise; any other value is returned as is.

    Example:
        >>> strategy_kind("auto", el.ClusterInfo.from_tf_config(
        ...     '{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}'))
        'multi_worker_mirrored'
    """
    if strategy != "auto":
        return strategy
    if cluster.num_ps_replicas:
        return "parameter_server"
    if cluster.num_worker_replicas > 1:
        return "multi_worker_mirrored"
    if cluster.task_type != "evaluator" and len(tf.config.list_physical_devices("GPU")) > 1:
        return "mirrored"
    return "default"


def _sharded(input_fn):
    """`input_fn` for a strategy: each input pipeline (training task) keeps its own share of
    the batches. Every task shuffles with the same seed, so the shares do not overlap."""

    def sharded_input_fn(input_context=None):
        dataset = input_fn()
        if input_context is not None and input_context.num_input_pipelines > 1:
            dataset = dataset.shard(input_context.num_input_pipelines,
                                    input_context.input_pipeline_id)
        return dataset

    return sharded_input_fn


def _task_name(cluster: el.ClusterInfo) -> str:
    return "local" if cluster.task_type is None else f"{cluster.task_type}:{cluster.task_id}"


def _warm_start_path(base: str | None) -> str | None:
    """A model artifact holds its checkpoints under `model_dir/`; anything else is used as is."""
    if base is None:
        return None
    nested = os.path.join(base, model.MODEL_DIR)
    if tf.io.gfile.isdir(nested) and tf.train.latest_checkpoint(nested):
        return nested
    if tf.io.gfile.isdir(base) and not tf.train.latest_checkpoint(base):
        raise FileNotFoundError(f"`warm_start_from` ({base!r}) holds no checkpoint (nor does "
                                f"{nested!r}).")
    return base


def _format(metrics: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()) if k != "global_step")
