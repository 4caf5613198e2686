"""`Estimator`: train, evaluate, predict and export a model_fn (the paper's harness).

Every method builds a fresh model from model_fn and restores the latest (or given)
checkpoint, so methods are independent and can run in separate processes. Evaluate and
predict keep what they traced for the next call with the same input signature (only the
checkpoint is read again), which makes repeated calls cheap.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from estimator_lib import _autograph, _calls, _coordinated, _variables
from estimator_lib import checkpoint as ckpt
from estimator_lib import hooks as hooks_lib
from estimator_lib.run_config import RunConfig
from estimator_lib.spec import ModeKeys
from estimator_lib.training import UNTIL_END, TracedModel

logger = logging.getLogger("estimator_lib")


class Estimator:
    """Trains, evaluates, predicts with and exports a model defined by `model_fn`.

    Args:
        model_fn: `model_fn(features, labels, mode[, params][, config])` returning an
            `EstimatorSpec`. It may create Keras layers, metrics and optimizers inline.
        model_dir: Where checkpoints and summaries go. Default: `config.model_dir`, else
            a new temporary directory.
        config: A `RunConfig`. Default `RunConfig()`.
        params: Dict of hyperparameters passed to model_fn (and input_fn) as `params`.
        warm_start_from: A checkpoint/model_dir path or `WarmStartSettings`, used when
            model_dir has no checkpoint yet.

    Raises:
        ValueError: If model_fn's signature is wrong, or model_dir is not a directory.
        TypeError: If config or params have the wrong type.

    Example:
        >>> def model_fn(features, labels, mode):
        ...     logits = keras.layers.Dense(1)(features["x"])
        ...     loss = tf.reduce_mean(tf.square(logits - labels))
        ...     return EstimatorSpec(mode, predictions={"y": logits}, loss=loss,
        ...                          train_op=keras.optimizers.SGD(0.1))
        >>> estimator = Estimator(model_fn, model_dir="/tmp/linear")
        >>> estimator.train(input_fn, max_steps=100).evaluate(input_fn)["loss"]
    """

    def __init__(self, model_fn: Callable, model_dir: str | None = None,
                 config: RunConfig | None = None, params: Mapping | None = None,
                 warm_start_from=None):
        self._model_fn_args = _calls.model_fn_args(model_fn)
        self._model_fn = model_fn
        self._converted_model_fn = _autograph.convert(model_fn)
        if config is None:
            config = RunConfig()
        if not isinstance(config, RunConfig):
            raise TypeError(f"`config` must be an el.RunConfig; received {type(config).__name__}.")
        if params is not None and not isinstance(params, Mapping):
            raise TypeError(f"`params` must be a dict; received {type(params).__name__}.")
        model_dir = os.fspath(model_dir) if model_dir is not None else config.model_dir
        if model_dir is not None and config.model_dir not in (None, model_dir):
            raise ValueError(
                f"`model_dir` ({model_dir!r}) differs from `config.model_dir` "
                f"({config.model_dir!r}); set one of them."
            )
        if model_dir is None:
            model_dir = tempfile.mkdtemp(prefix="estimator-")
            logger.warning("No model_dir given; using temporary directory %s.", model_dir)
        if tf.io.gfile.exists(model_dir) and not tf.io.gfile.isdir(model_dir):
            raise ValueError(
                f"`model_dir` {model_dir!r} is a file, not a directory. Give a directory path."
            )
        self._model_dir = model_dir
        self._config = config.replace(model_dir=model_dir)
        self._params = dict(params or {})
        self._warm_start = ckpt.as_warm_start_settings(warm_start_from)
        self._cache: dict[Any, TracedModel] = {}
        self._seeded = False

    # -- properties ---------------------------------------------------------------------------
    @property
    def model_dir(self) -> str:
        return self._model_dir

    @property
    def config(self) -> RunConfig:
        return self._config

    @property
    def params(self) -> dict:
        return dict(self._params)

    @property
    def model_fn(self) -> Callable:
        """model_fn with params and config bound: `fn(features, labels, mode)`."""
        return self._bound_model_fn

    def latest_checkpoint(self) -> str | None:
        """The newest checkpoint in model_dir, or None."""
        return ckpt.latest_checkpoint(self._model_dir)

    def get_variable_names(self) -> list[str]:
        """Names of the variables in the latest checkpoint."""
        return sorted(ckpt.list_variables(self._require_checkpoint(None, "get_variable_names")))

    def get_variable_value(self, name: str) -> np.ndarray:
        """The value of variable `name` in the latest checkpoint."""
        return ckpt.load_variable(self._require_checkpoint(None, "get_variable_value"), name)

    # -- internals shared by the methods ---------------------------------------------------------
    def _bound_model_fn(self, features, labels, mode):
        kwargs = {}
        if "params" in self._model_fn_args:
            kwargs["params"] = self.params
        if "config" in self._model_fn_args:
            kwargs["config"] = self._config
        if "labels" in self._model_fn_args:
            kwargs["labels"] = labels
        elif labels is not None:
            raise ValueError("input_fn yields labels, but model_fn takes no `labels` argument.")
        return self._converted_model_fn(features=features, mode=mode, **kwargs)

    def _require_checkpoint(self, checkpoint_path, method: str) -> str:
        path = checkpoint_path or self.latest_checkpoint()
        if path is None:
            raise ValueError(
                f"{method}() needs a trained model, but model_dir {self._model_dir!r} has no "
                "checkpoint. Train first, or pass `checkpoint_path`."
            )
        if not tf.io.gfile.exists(path + ".index"):
            raise ValueError(f"{method}(): checkpoint {path!r} does not exist.")
        return path

    def _seed(self, mode: ModeKeys):
        # Once per Estimator: setting TensorFlow's global seed again would make every
        # traced function this Estimator keeps trace anew.
        seed = self._config.tf_random_seed
        if seed is None or self._seeded:
            return
        if mode != ModeKeys.TRAIN and tf.compat.v1.get_seed(1)[0] == seed:
            # Evaluation and prediction restore every variable, and with the global seed
            # already this one their traces get the same op seeds. Setting it again would
            # only clear TensorFlow's kernel caches: about 12% of a fresh evaluate().
            return
        keras.utils.set_random_seed(seed)
        self._seeded = True

    def _input(self, input_fn, mode, strategy) -> _Input:
        """The iterator over input_fn's data in `mode`, and what it yields."""
        call = lambda context=None: _calls.call_input_fn(  # noqa: E731
            input_fn, mode=mode, params=self.params, config=self._config, input_context=context)
        if strategy is None:
            dataset, has_labels = _calls.as_dataset(call(), mode=mode)
            return _Input(iter(dataset), has_labels, dataset.element_spec,
                          lambda: next(iter(dataset.take(1))), _endless(dataset))
        if _coordinated.is_parameter_server(strategy):
            return self._per_worker_input(call, mode, strategy)
        holder = {}

        def dataset_fn(context):
            dataset, holder["has_labels"] = _calls.as_dataset(call(context), mode=mode)
            holder["element_spec"] = dataset.element_spec
            holder["endless"] = _endless(dataset)
            return dataset

        distributed = strategy.distribute_datasets_from_function(dataset_fn)

        def sample():
            element = next(iter(distributed))
            return tf.nest.map_structure(
                lambda value: strategy.experimental_local_results(value)[0], element)

        return _Input(iter(distributed), holder["has_labels"], holder["element_spec"], sample,
                      holder["endless"])

    def _per_worker_input(self, call, mode, strategy) -> _Input:
        """The input of a ParameterServerStrategy: one dataset per worker."""
        dataset, has_labels = _calls.as_dataset(call(tf.distribute.InputContext()), mode=mode)

        def dataset_fn(context=None):
            context = context or tf.distribute.InputContext()
            return _calls.as_dataset(call(context), mode=mode)[0]

        return _Input(_coordinated.per_worker_iterator(strategy, dataset_fn), has_labels,
                      dataset.element_spec, lambda: next(iter(dataset.take(1))),
                      _endless(dataset))

    def _new_model(self, mode, strategy, has_labels):
        # In-graph summaries need the chief's summary writer, which the workers of a
        # parameter-server cluster cannot reach.
        summary_steps = (None if _coordinated.is_parameter_server(strategy)
                         else self._config.save_summary_steps)
        return TracedModel(self._bound_model_fn, mode, strategy=strategy, has_labels=has_labels,
                           save_summary_steps=summary_steps)

    def _cached_model(self, mode, strategy, data: _Input, reuse: bool = True) -> TracedModel:
        """The model traced for this mode and input signature, built on first use.

        Its variables are overwritten by the checkpoint the caller restores next; with
        `reuse=False` (nothing to restore from) a fresh model replaces the cached one.
        """
        key = (mode, repr(data.element_spec), data.has_labels, id(strategy))
        model = self._cache.get(key) if reuse else None
        if model is None:
            model = self._built_model(mode, strategy, data)
            if not _cacheable(model):
                return model
            self._cache[key] = model
        else:
            model.reset_metrics()
        return model

    def _built_model(self, mode, strategy, data: _Input) -> TracedModel:
        """A new model with its variables, created while tracing its first loop.

        Under a strategy, model_fn runs once eagerly instead (see TracedModel.build).
        """
        model = self._new_model(mode, strategy, data.has_labels)
        if strategy is None:
            try:
                model.build_in_trace(functools.partial(_trace_first_loop, model, data))
                return model
            except _variables.NotLiftable as error:
                logger.debug("Building the %s model eagerly: %s has an initial value "
                             "computed in the trace.", mode.name, error)
                model = self._new_model(mode, strategy, data.has_labels)
        model.build(data.sample)
        return model

    # -- train -------------------------------------------------------------------------------------
    def train(self, input_fn: Callable, hooks: Sequence[hooks_lib.Hook] | None = None,
              steps: int | None = None, max_steps: int | None = None,
              saving_listeners: Sequence[hooks_lib.CheckpointSaverListener] | None = None):
        """Trains the model; resumes from the latest checkpoint in model_dir.

        Args:
            input_fn: Returns a tf.data.Dataset of (features, labels). It may take
                `params`, `config`, `mode` and `input_context` arguments.
            hooks: Extra `el.Hook`s.
            steps: Train this many more steps (incremental). Default: until the input ends.
            max_steps: Train until the global step reaches this (absolute); returns at once
                if it already has. At most one of `steps` and `max_steps`.
            saving_listeners: `CheckpointSaverListener`s called around checkpoint saves.

        Returns:
            self, so calls chain.

        Raises:
            ValueError: For bad steps/max_steps; NanLossDuringTrainingError for a NaN loss.
        """
        if steps is not None and max_steps is not None:
            raise ValueError("Set at most one of `steps` and `max_steps`.")
        for name, value in (("steps", steps), ("max_steps", max_steps)):
            if value is not None and (not isinstance(value, int | np.integer) or value <= 0):
                raise ValueError(f"`{name}` ({value!r}) must be a positive integer.")
        latest = self.latest_checkpoint()
        if max_steps is not None and latest is not None:
            done = int(tf.train.load_variable(latest, "global_step/.ATTRIBUTES/VARIABLE_VALUE"))
            if done >= max_steps:
                logger.info("Skipping training: global step %d >= max_steps %d.", done, max_steps)
                return self
        hooks = _check_hooks(hooks)
        if steps is not None or max_steps is not None:
            hooks.append(hooks_lib.StopAtStepHook(num_steps=steps, last_step=max_steps))
        self._seed(ModeKeys.TRAIN)
        strategy = self._config.train_distribute
        data = self._input(input_fn, ModeKeys.TRAIN, strategy)
        if not any(isinstance(hook, hooks_lib.NanTensorHook) for hook in hooks):
            hooks.insert(0, hooks_lib.NanTensorHook())
        default_hooks = self._default_training_hooks(saving_listeners)
        for hook in hooks + default_hooks:
            hook.begin()
        # A later call reuses the traced model and restores the latest checkpoint into it.
        writer = hooks_lib.summary_writer(self._model_dir)
        # The loop traced by the build records its summaries there; an eager build (under a
        # strategy) runs model_fn outside any loop, where summaries must stay off.
        with writer.as_default() if strategy is None else contextlib.nullcontext():
            model = self._cached_model(ModeKeys.TRAIN, strategy, data, reuse=latest is not None)
        variables = model.saveable_variables()
        checkpoint = ckpt.make_checkpoint(model.global_step, variables)
        if latest is not None:
            ckpt.restore(checkpoint, latest, variables, training=True)
        elif self._warm_start is not None:
            ckpt.warm_start(self._warm_start, variables)
        for hook in model.spec.training_hooks:
            hook.begin()
        # The default hooks run last, so a loop's checkpoint is saved after every other
        # hook (a NaN check above all) has seen the loop.
        all_hooks = hooks + list(model.spec.training_hooks) + default_hooks
        context = hooks_lib.RunContext(mode=ModeKeys.TRAIN, model_dir=self._model_dir,
                                       global_step=model.global_step.numpy(),
                                       variables=variables, checkpoint=checkpoint)
        with writer.as_default():
            self._run_loops(model, data, all_hooks, context)
        writer.flush()
        return self

    def _default_training_hooks(self, saving_listeners):
        config = self._config
        result = []
        if config.log_step_count_steps:
            result.append(hooks_lib.LoggingTensorHook(
                {"loss": "loss", "step": "global_step"}, every_n_iter=config.log_step_count_steps))
            result.append(hooks_lib.StepCounterHook(every_n_steps=config.log_step_count_steps,
                                                    output_dir=self._model_dir))
        if config.is_chief and config.save_summary_steps:
            result.append(hooks_lib.LossSummaryHook(config.save_summary_steps))
        if config.is_chief:
            result.append(hooks_lib.CheckpointSaverHook(
                self._model_dir, save_secs=config.save_checkpoints_secs,
                save_steps=config.save_checkpoints_steps, listeners=saving_listeners,
                max_to_keep=config.keep_checkpoint_max))
        return result

    def _run_loops(self, model, data: _Input, hooks, context):
        for hook in hooks:
            hook.after_create(context)
        while not context.stop_requested:
            step = context.global_step
            boundaries = [b for h in hooks if (b := h.next_boundary(step)) is not None and b > step]
            context.loop_steps = min([self._config.steps_per_loop] + [b - step for b in boundaries])
            requests = [hook.before_run(context) for hook in hooks]
            if context.stop_requested:
                break
            names = set()
            for request in requests:
                if request is not None:
                    names |= hooks_lib.fetch_names(request.fetches)
            requested = context.loop_steps
            model.follow_global_step()
            if _coordinated.is_parameter_server(model.strategy):
                outputs = _coordinated.run_round(
                    model.strategy, model.coordinated_train_loop(frozenset(names)),
                    data.iterator, requested, model.global_step)
            else:
                loop = model.train_loop(frozenset(names), endless=data.endless)
                outputs = loop(data.iterator, tf.constant(requested, tf.int64))
            done = int(outputs.pop("steps"))
            context.global_step = int(model.global_step.numpy())
            if done == 0:
                logger.info("Input ended at global step %d.", context.global_step)
                break
            context.loop_steps = done
            available = {k: np.asarray(v) for k, v in outputs.items()}
            available["global_step"] = np.int64(context.global_step)
            for hook, request in zip(hooks, requests, strict=True):
                results = None if request is None else hooks_lib.resolve_fetches(
                    request.fetches, available)
                hook.after_run(context, hooks_lib.RunValues(results))
            if done < requested:
                logger.info("Input ended at global step %d.", context.global_step)
                break
        for hook in hooks:
            hook.end(context)

    # -- evaluate ----------------------------------------------------------------------------------
    def evaluate(self, input_fn: Callable, steps: int | None = None,
                 hooks: Sequence[hooks_lib.Hook] | None = None,
                 checkpoint_path: str | None = None, name: str | None = None) -> dict[str, Any]:
        """Evaluates a checkpoint on the data of input_fn.

        Args:
            input_fn: Returns a tf.data.Dataset of (features, labels).
            steps: Evaluate this many batches. Default: until the input ends.
            hooks: Extra `el.Hook`s.
            checkpoint_path: The checkpoint to evaluate. Default: the latest.
            name: Name of this evaluation (e.g. "validation"); summaries go to
                `model_dir/eval_<name>` (or `model_dir/eval`).

        Returns:
            Dict with `loss` (the mean of the batch losses), `global_step` and each metric
            of `eval_metric_ops`.

        Raises:
            ValueError: If there is no checkpoint, or steps is not positive.
        """
        if steps is not None and (not isinstance(steps, int | np.integer) or steps <= 0):
            raise ValueError(f"`steps` ({steps!r}) must be a positive integer or None.")
        path = self._require_checkpoint(checkpoint_path, "evaluate")
        hooks = _check_hooks(hooks)
        self._seed(ModeKeys.EVAL)
        strategy = self._config.eval_distribute
        data = self._input(input_fn, ModeKeys.EVAL, strategy)
        iterator = data.iterator
        for hook in hooks:
            hook.begin()
        model = self._cached_model(ModeKeys.EVAL, strategy, data)
        variables = model.saveable_variables()
        ckpt.restore(ckpt.make_checkpoint(model.global_step, variables), path, variables)
        all_hooks = hooks + list(model.spec.evaluation_hooks)
        context = hooks_lib.RunContext(mode=ModeKeys.EVAL, model_dir=self._model_dir,
                                       global_step=model.global_step.numpy(), variables=variables)
        for hook in all_hooks:
            hook.after_create(context)
        remaining = UNTIL_END if steps is None else int(steps)
        total_steps, loss_sum, outputs = 0, tf.constant(0.0, tf.float64), {}
        eval_fn = model.eval_fn()
        batches = _python_iterator(iterator)
        ended = False
        while remaining > 0 and not ended and not context.stop_requested:
            context.loop_steps = min(remaining, self._config.steps_per_loop)
            for hook in all_hooks:
                hook.before_run(context)
            done = 0
            for element in itertools.islice(batches, context.loop_steps):
                outputs = eval_fn(element)
                loss_sum += outputs["loss"]
                done += 1
            ended = done < context.loop_steps
            total_steps += done
            remaining -= done
            for hook in all_hooks:
                hook.after_run(context, hooks_lib.RunValues({"eval_steps": total_steps}))
        for hook in all_hooks:
            hook.end(context)
        if total_steps == 0:
            raise ValueError("evaluate(): input_fn yielded no data; nothing was evaluated.")
        results = {"loss": np.float32(float(loss_sum) / total_steps)}
        results.update(model.metric_results(outputs))
        results["global_step"] = np.int64(model.global_step.numpy())
        _write_eval_summaries(self.eval_dir(name), results)
        logger.info("Evaluation at step %d: %s", results["global_step"],
                    ", ".join(f"{k} = {_short(v)}" for k, v in results.items()))
        return results

    def eval_dir(self, name: str | None = None) -> str:
        """The directory evaluate(name=...) writes its summaries to."""
        return os.path.join(self._model_dir, "eval" if not name else f"eval_{name}")

    # -- predict -----------------------------------------------------------------------------------
    def predict(self, input_fn: Callable, predict_keys: Sequence[str] | str | None = None,
                hooks: Sequence[hooks_lib.Hook] | None = None,
                checkpoint_path: str | None = None,
                yield_single_examples: bool = True) -> Iterator[Any]:
        """Yields predictions for the features of input_fn.

        Args:
            input_fn: Returns a tf.data.Dataset of features (labels, if any, are ignored).
            predict_keys: Keys of the predictions dict to return. Default: all.
            hooks: Extra `el.Hook`s (one loop per batch).
            checkpoint_path: The checkpoint to use. Default: the latest.
            yield_single_examples: Yield one dict per example (default) or per batch.

        Yields:
            Dicts of numpy values (or arrays, when model_fn's predictions is a tensor).

        Raises:
            ValueError: If there is no checkpoint, or a predict key is unknown.
        """
        path = self._require_checkpoint(checkpoint_path, "predict")
        if isinstance(predict_keys, str):
            predict_keys = [predict_keys]
        hooks = _check_hooks(hooks)
        self._seed(ModeKeys.PREDICT)
        data = self._input(input_fn, ModeKeys.PREDICT, None)
        iterator = data.iterator
        for hook in hooks:
            hook.begin()
        model = self._cached_model(ModeKeys.PREDICT, None, data)
        variables = model.saveable_variables()
        ckpt.restore(ckpt.make_checkpoint(model.global_step, variables), path, variables)
        single_tensor = not isinstance(model.spec.predictions, Mapping)
        if predict_keys is not None:
            if single_tensor:
                raise ValueError("`predict_keys` needs model_fn's predictions to be a dict.")
            unknown = [k for k in predict_keys if k not in model.spec.predictions]
            if unknown:
                raise ValueError(
                    f"`predict_keys` {unknown} are not among the predictions "
                    f"{sorted(model.spec.predictions)}."
                )
        all_hooks = hooks + list(model.spec.prediction_hooks)
        context = hooks_lib.RunContext(mode=ModeKeys.PREDICT, model_dir=self._model_dir,
                                       global_step=model.global_step.numpy(), variables=variables)
        for hook in all_hooks:
            hook.after_create(context)
        predict_fn = model.predict_fn()
        for element in _python_iterator(iterator):
            if context.stop_requested:
                break
            context.loop_steps = 1
            for hook in all_hooks:
                hook.before_run(context)
            batch = {k: v.numpy() for k, v in predict_fn(element).items()}
            if predict_keys is not None:
                batch = {k: batch[k] for k in predict_keys}
            for hook in all_hooks:
                hook.after_run(context, hooks_lib.RunValues(batch))
            if single_tensor:
                batch = batch["predictions"]
            if not yield_single_examples:
                yield batch
                continue
            yield from _unbatch(batch)
        for hook in all_hooks:
            hook.end(context)

    # -- export -----------------------------------------------------------------------------------
    def export_saved_model(self, export_dir_base: str, serving_input_receiver_fn: Callable,
                           assets_extra: Mapping[str, str] | None = None, as_text: bool = False,
                           checkpoint_path: str | None = None) -> str:
        """Exports the model as a SavedModel TF Serving can load.

        Args:
            export_dir_base: Parent directory; the export goes in a new subdirectory named
                by a timestamp (TF Serving's version layout).
            serving_input_receiver_fn: Returns an `el.export.ServingInputReceiver`.
            assets_extra: Dict of destination path (relative, under `assets.extra/`) to a
                source file to copy.
            as_text: Write `saved_model.pbtxt` instead of `saved_model.pb`.
            checkpoint_path: The checkpoint to export. Default: the latest.

        Returns:
            The path of the new export directory. It appears atomically (written under a
            temporary name, then renamed).

        Raises:
            ValueError: If there is no checkpoint.
        """
        from estimator_lib import _exporter  # Keeps export machinery out of the import path.

        path = self._require_checkpoint(checkpoint_path, "export_saved_model")
        return _exporter.export(self, os.fspath(export_dir_base), serving_input_receiver_fn,
                                checkpoint_path=path, assets_extra=assets_extra, as_text=as_text)

    def export_savedmodel(self, export_dir_base, serving_input_receiver_fn, **kwargs) -> str:
        """The paper's name for `export_saved_model`."""
        return self.export_saved_model(export_dir_base, serving_input_receiver_fn, **kwargs)

    def predictor(self, serving_input_receiver_fn: Callable, checkpoint_path: str | None = None):
        """A callable that keeps one model loaded for low-latency repeated prediction.

        Example:
            >>> predict = estimator.predictor(
            ...     el.export.build_raw_serving_input_receiver_fn({"x": tf.TensorSpec([None, 1])}))
            >>> predict({"x": [[1.0], [2.0]]})["predictions"]
        """
        from estimator_lib import _exporter

        path = self._require_checkpoint(checkpoint_path, "predictor")
        return _exporter.Predictor(self, serving_input_receiver_fn, path)


class _Input(NamedTuple):
    iterator: Any
    has_labels: bool
    element_spec: Any  # Per replica.
    sample: Callable[[], Any]  # One replica's first batch, from a separate iterator.
    endless: bool  # The input repeats forever.


def _trace_first_loop(model: TracedModel, data: _Input) -> None:
    """Traces, without running it, the loop a new model of this mode runs first."""
    steps = tf.TensorSpec([], tf.int64)
    if model.mode == ModeKeys.TRAIN:
        loop = model.train_loop(frozenset(), endless=data.endless)
        loop.get_concrete_function(data.iterator, steps)
    elif model.mode == ModeKeys.EVAL:
        model.eval_fn().get_concrete_function(data.element_spec)
    else:
        model.predict_fn().get_concrete_function(data.element_spec)


def _endless(dataset: tf.data.Dataset) -> bool:
    return bool(dataset.cardinality() == tf.data.INFINITE_CARDINALITY)


def _cacheable(model: TracedModel) -> bool:
    # (value, update_op) metric pairs cannot be reset between calls.
    return all(isinstance(m, keras.metrics.Metric)
               for m in (model.spec.eval_metric_ops or {}).values())


def _check_hooks(hooks) -> list[hooks_lib.Hook]:
    hooks = list(hooks or ())
    for hook in hooks:
        if not isinstance(hook, hooks_lib.Hook):
            raise TypeError(f"Hooks must be el.Hook instances; received {hook!r}.")
    return hooks


def _short(value):
    array = np.asarray(value)
    return f"{array.item():.4g}" if array.size == 1 and array.dtype.kind in "fiu" else str(array)


def _write_eval_summaries(directory: str, results: Mapping[str, Any]) -> None:
    step = int(results["global_step"])
    writer = hooks_lib.summary_writer(directory)
    with writer.as_default():
        for key, value in results.items():
            array = np.asarray(value)
            if key != "global_step" and array.size == 1 and array.dtype.kind in "fiub":
                tf.summary.scalar(key, float(array), step=step)
    writer.flush()


def _python_iterator(iterator):
    while True:
        optional = iterator.get_next_as_optional()
        if not optional.has_value():
            return
        yield optional.get_value()


def _unbatch(batch):
    if isinstance(batch, Mapping):
        sizes = {k: np.shape(v)[0] if np.ndim(v) else None for k, v in batch.items()}
        distinct = {s for s in sizes.values()}
        if len(distinct) != 1 or None in distinct:
            raise ValueError(
                "yield_single_examples=True needs every prediction to have the same batch "
                f"dimension; got {sizes}. Use yield_single_examples=False."
            )
        size = distinct.pop()
        for i in range(size):
            yield {k: v[i] for k, v in batch.items()}
    else:
        yield from batch

