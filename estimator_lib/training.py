"""A model traced for one mode, and its compiled loops (no I/O here).

`TracedModel` owns what one Estimator method call builds: the variables model_fn
creates (through a `VariableStore`), the global step, and the tf.functions that run
many steps per call. The Estimator drives the outer loop (hooks, checkpoints).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping

import keras
import numpy as np
import tensorflow as tf

from estimator_lib import _coordinated, _variables
from estimator_lib.spec import EstimatorSpec, ModeKeys

logger = logging.getLogger("estimator_lib")

UNTIL_END = 2**62  # "Run until the input ends" as a loop bound.
_PAIR = "metric_pair/"  # Eval loop outputs holding (value, update_op) metric values.


@contextlib.contextmanager
def _dtype_policy(policy):
    """Makes `policy` this thread's Keras global dtype policy for the block."""
    previous = keras.config.dtype_policy()
    if previous.name == policy.name:
        yield
        return
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


class TracedModel:
    """One mode's model: variables, the recorded EstimatorSpec, and loop functions.

    Args:
        call_model_fn: `fn(features, labels, mode) -> EstimatorSpec` (params and config
            already bound).
        mode: The ModeKeys value.
        strategy: A tf.distribute.Strategy or None.
        has_labels: Whether input elements are (features, labels).
        save_summary_steps: Record in-graph summaries every N steps (TRAIN).
    """

    def __init__(self, call_model_fn: Callable, mode: ModeKeys, *, strategy=None,
                 has_labels=True, save_summary_steps=None):
        self._call_model_fn = call_model_fn
        self.mode = ModeKeys(mode)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.has_labels = has_labels
        self._summary_steps = save_summary_steps
        self.store = _variables.VariableStore()
        # Keras keeps its global dtype policy per thread, and MirroredStrategy calls
        # model_fn in a thread per replica: without this, replicas ignore mixed precision.
        self._dtype_policy = keras.config.dtype_policy()
        self.spec: EstimatorSpec | None = None
        self._loops: dict = {}
        self._step_counters: dict = {}  # The optimizers' `iterations` (see follow_global_step).
        with self.strategy.scope():
            self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")

    # -- one call of model_fn ------------------------------------------------------
    def call(self, features, labels) -> EstimatorSpec:
        """Calls model_fn inside the variable store; records and returns its spec."""
        with (self.store.scope("model"), _variables.fresh_keras_names(),
              _dtype_policy(self._dtype_policy)):
            spec = self._call_model_fn(features, labels, self.mode)
        if not isinstance(spec, EstimatorSpec):
            raise TypeError(
                f"model_fn must return an EstimatorSpec; in mode {self.mode.name} it returned "
                f"{type(spec).__name__}."
            )
        if spec.mode != self.mode:
            raise ValueError(
                f"model_fn was called in mode {self.mode.name} but returned an EstimatorSpec "
                f"for mode {spec.mode.name}."
            )
        self.spec = spec
        return spec

    def _split(self, element):
        return element if self.has_labels else (element, None)

    # -- steps (replica context) -------------------------------------------------------
    def _train_step(self, element, build_only=False):
        """One training step; `build_only` builds the optimizers instead of applying them."""
        features, labels = self._split(element)
        with tf.GradientTape() as tape:
            spec = self.call(features, labels)
            loss = spec.loss
            scaled_loss = loss / tf.cast(self.strategy.num_replicas_in_sync, loss.dtype)
            if isinstance(spec.train_op, keras.optimizers.Optimizer):
                # Built before scale_loss, as Keras fit does: a LossScaleOptimizer (mixed
                # precision) reads its dynamic loss scale only once built; unbuilt, the
                # trace would keep its initial scale.
                if not spec.train_op.built:
                    with self.store.scope("optimizer", restart=False):
                        spec.train_op.build(self.store.trainable_variables)
                scaled_loss = spec.train_op.scale_loss(scaled_loss)
        variables = self.store.trainable_variables
        self._remember_step_counters(spec)
        if isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            tape = _DenseGradients(tape)
        if isinstance(spec.train_op, keras.optimizers.Optimizer):
            if build_only:  # Built above.
                return self._step_outputs(spec, loss)
            gradients = tape.gradient(scaled_loss, variables)
            if all(g is None for g in gradients):
                raise ValueError(
                    "The loss does not depend on any trainable variable model_fn created, so "
                    "the optimizer has nothing to train."
                )
            # All pairs, None gradients included: the optimizer builds its slots for the
            # full list (as at build time) and skips the None ones itself.
            with self.store.scope("optimizer", restart=False):
                spec.train_op.apply_gradients(zip(gradients, variables, strict=True))
        elif build_only and callable(getattr(spec.train_op, "build", None)):
            # Under a strategy the build runs in cross-replica context, where a mirrored
            # variable refuses tape.gradient and optimizers refuse apply_gradients: a
            # callable that can build its optimizers does only that.
            with self.store.scope("optimizer", restart=False):
                spec.train_op.build(variables)
        else:
            with self.store.scope("optimizer", restart=False):
                spec.train_op(scaled_loss, tape, variables)
        return self._step_outputs(spec, loss)

    def _remember_step_counters(self, spec) -> None:
        """Records the `iterations` of the optimizers this trace uses (no ops are added)."""
        optimizers = self.store.trace_optimizers()
        if isinstance(spec.train_op, keras.optimizers.Optimizer) and all(
                o is not spec.train_op for o in optimizers):
            optimizers.append(spec.train_op)
        for optimizer in optimizers:
            counter = optimizer.iterations
            # With gradient accumulation, `iterations` is computed (a tensor), not a variable.
            if hasattr(counter, "assign"):
                key = self.store.name_of(counter) or id(counter)
                self._step_counters.setdefault(key, counter)

    def follow_global_step(self) -> None:
        """Sets every optimizer's `iterations` to the global step; call before each loop.

        As tf.estimator's canned estimators set `optimizer.iterations = global_step`: a
        learning-rate schedule and Adam's bias correction count the model's steps (also
        after a restart from a checkpoint whose optimizer counted otherwise), and the
        optimizers of one model (wide & deep's two) count the same steps. Within a loop each
        optimizer adds one per step as the global step does, so setting them once per loop
        (eagerly, outside the compiled loop) keeps them equal without an op per step.
        """
        step = self.global_step.numpy()
        for counter in self._step_counters.values():
            counter.assign(tf.cast(step, counter.dtype))

    def _eval_step(self, element):
        features, labels = self._split(element)
        spec = self.call(features, labels)
        outputs = {"loss": spec.loss}
        for name, (value, update_op) in self._metric_pairs(spec).items():
            # TF1's value_op was read after its update_op had run; so is this.
            with tf.control_dependencies([update_op] if update_op is not None else []):
                outputs[_PAIR + name] = tf.identity(value)
        return outputs

    @staticmethod
    def _metric_pairs(spec) -> dict:
        """The spec's `(value, update_op)` eval metrics."""
        metrics = (spec.eval_metric_ops or {}) if spec else {}
        return {k: m for k, m in metrics.items() if not isinstance(m, keras.metrics.Metric)}

    def _predict_step(self, element):
        features, _ = self._split(element)
        spec = self.call(features, None)
        predictions = spec.predictions
        return dict(predictions) if isinstance(predictions, Mapping) else {"predictions": predictions}

    def _step_outputs(self, spec, loss):
        outputs = {"loss": loss}
        if isinstance(spec.predictions, Mapping):
            outputs.update({k: v for k, v in spec.predictions.items() if k not in outputs})
        return outputs

    def _run(self, step_fn, element):
        """Runs a step on every replica; returns the outputs of the first replica."""
        results = self.strategy.run(step_fn, args=(element,))
        return tf.nest.map_structure(
            lambda value: self.strategy.experimental_local_results(value)[0], results)

    def _reduced_loss(self, loss_per_replica):
        return self.strategy.reduce(tf.distribute.ReduceOp.MEAN, loss_per_replica, axis=None)

    # -- building ----------------------------------------------------------------------
    def build(self, sample: Callable[[], object]) -> None:
        """Creates and initializes the variables by running model_fn once, eagerly.

        model_fn runs on the first batch of the input (read from a separate iterator, so
        the input the loops read is not consumed), in cross-replica context when there
        is a strategy; every variable is then put back to its initial value, undoing
        that run's side effects (metric updates, batch-norm statistics). Optimizer slots
        are created by building the optimizer on the trainable variables, not by a step.

        Used under a tf.distribute strategy, where a mirrored variable's copies,
        initialized from the first copy, cannot be created outside the trace; without
        one, `build_in_trace` is cheaper (no eager model_fn call).

        Args:
            sample: Returns one replica's first batch.
        """
        with self.strategy.scope(), self.store.recording_initial_values():
            self._build_step(sample())
        self.store.frozen = True

    def build_in_trace(self, trace: Callable[[], object]) -> None:
        """Creates the variables while `trace()` traces one of this model's loops.

        The cheaper build where there is no strategy: nothing runs, so nothing is undone,
        and the loop traced here is the one the caller runs next (Keras builds a model the
        same way, symbolically). Under a strategy `build` runs model_fn eagerly instead.

        Args:
            trace: Traces a loop of this model without running it, e.g.
                `lambda: model.eval_fn().get_concrete_function(element_spec)`.

        Raises:
            _variables.NotLiftable: If model_fn gives a variable an initial value computed
                from other tensors of the trace; build this mode with `build` instead, on
                a new TracedModel.
        """
        with self.store.lifting():
            trace()
        if self.spec is None:
            raise RuntimeError("Tracing the loop did not call model_fn.")
        self.store.frozen = True

    def _build_step(self, element):
        if self.mode == ModeKeys.TRAIN:
            return self._train_step(element, build_only=True)["loss"]
        features, labels = self._split(element)
        return self.call(features, labels if self.mode == ModeKeys.EVAL else None).loss

    def build_from_specs(self, fn: Callable, *specs) -> None:
        """Traces `fn(*specs)` to create the variables (exports and predictors)."""
        with self.strategy.scope():
            if tf.distribute.has_strategy():
                tf.function(fn).get_concrete_function(*specs)
            else:
                try:  # One trace (see build_in_trace).
                    with self.store.lifting():
                        tf.function(fn).get_concrete_function(*specs)
                except _variables.NotLiftable:
                    # The variables created so far are handed back by the store.
                    tf.function(fn).get_concrete_function(*specs)
        self.store.frozen = True

    # -- loops -----------------------------------------------------------------------------
    def train_loop(self, fetch_names: frozenset[str], endless: bool = False):
        """`loop(iterator, num_steps) -> dict`: up to num_steps training steps in one call.

        The dict holds `steps` (steps run; fewer than asked when the input ended),
        `loss` (last step), `nan_loss` (any step non-finite) and the requested
        prediction keys (last step). `endless` (the input repeats forever) skips the
        per-step check for the end of the input.
        """
        # Keyed by the prediction keys only: loss, nan_loss and global_step are always
        # returned, so hooks fetching different sets of them share one traced loop.
        extra = tuple(sorted(n for n in fetch_names if n not in ("loss", "nan_loss", "global_step")))
        key = ("train", extra, endless)
        if key not in self._loops:
            self._loops[key] = self._make_train_loop(extra, endless)
        return self._loops[key]

    def _make_train_loop(self, extra, endless):
        templates = self._fetch_templates(extra)
        summary_steps = self._summary_steps

        def should_record():
            return tf.equal(self.global_step % summary_steps, 0)

        def one_step(element):
            # model_fn's own summaries, every summary_steps steps. The loss is written
            # between loops (the Estimator's default summary hook): a summary op in the
            # step costs a conditional per step, about a tenth of a small model's step.
            if summary_steps:
                with tf.summary.record_if(should_record):
                    tf.summary.experimental.set_step(self.global_step)
                    outputs = self._run(self._train_step, element)
            else:
                outputs = self._run(self._train_step, element)
            self.global_step.assign_add(1)
            return outputs

        def body(element, state):
            outputs = one_step(element)
            loss = tf.cast(outputs["loss"], tf.float32)
            return {"loss": loss,
                    "nan_loss": tf.logical_or(state["nan_loss"],
                                              tf.logical_not(tf.math.is_finite(loss))),
                    **{k: tf.cast(outputs[k], templates[k].dtype) for k in extra}}

        @tf.function
        def loop(iterator, num_steps):
            initial = {"loss": tf.constant(0.0), "nan_loss": tf.constant(False),
                       **{k: t.empty() for k, t in templates.items()}}
            return _while_input(iterator, num_steps, body, initial, endless=endless)

        return loop

    def coordinated_train_loop(self, fetch_names: frozenset[str]):
        """`loop(iterator, num_steps, last_step) -> dict` for ParameterServerStrategy.

        Scheduled on the workers by the chief (see `_coordinated`); each step claims its
        global step first, so loops stop at exactly `last_step` (no in-graph summaries:
        the summary writer lives on the chief).
        """
        extra = tuple(sorted(n for n in fetch_names if n not in ("loss", "nan_loss", "global_step")))
        key = ("coordinated", extra)
        if key not in self._loops:
            templates = self._fetch_templates(extra)

            def body(element, state):
                outputs = self._run(self._train_step, element)
                loss = tf.cast(outputs["loss"], tf.float32)
                return {"loss": loss,
                        "nan_loss": tf.logical_or(state["nan_loss"],
                                                  tf.logical_not(tf.math.is_finite(loss))),
                        **{k: tf.cast(outputs[k], templates[k].dtype) for k in extra}}

            def initial():
                return {"loss": tf.constant(0.0), "nan_loss": tf.constant(False),
                        **{k: t.empty() for k, t in templates.items()}}

            self._loops[key] = _coordinated.make_claimed_loop(self.global_step, body, initial)
        return self._loops[key]

    def _fetch_templates(self, names):
        if not names:  # Also before the first trace, when there is no spec yet.
            return {}
        predictions = self.spec.predictions if isinstance(self.spec.predictions, Mapping) else {}
        unknown = [n for n in names if n not in predictions]
        if unknown:
            raise ValueError(
                f"Hooks asked to fetch {unknown}, which model_fn does not provide in mode "
                f"{self.mode.name}. Fetchable: {sorted(['loss', 'global_step', 'nan_loss', *predictions])}."
            )
        return {n: _Template(predictions[n]) for n in names}

    def eval_fn(self):
        """`fn(element) -> outputs` for one batch, as Keras evaluates (one call per batch).

        Outputs: `loss` (float64, the batch's loss over the replicas) and the value of each
        `(value, update_op)` eval metric (`"metric_pair/<name>"`). `metric_results` reads
        the last batch's outputs, and the Keras metrics' results, eagerly.

        One call per batch rather than a loop of many steps in one call: a fresh evaluate()
        is mostly tracing and instantiating its function, and a plain function traces and
        instantiates in about half the time of a while loop around the same step. The Keras
        metrics' results stay out of the trace for the same reason: once per evaluate(),
        eagerly, they cost a few milliseconds; traced, about 15% of the ops of a canned
        classifier's step.
        """
        if "eval" not in self._loops:

            def step(element):
                outputs = self.strategy.run(self._eval_step, args=(element,))
                results = {"loss": tf.cast(self._reduced_loss(outputs["loss"]), tf.float64)}
                results.update({k: self.strategy.experimental_local_results(v)[0]
                                for k, v in outputs.items() if k.startswith(_PAIR)})
                return results

            self._loops["eval"] = tf.function(step, reduce_retracing=True)
        return self._loops["eval"]

    def predict_fn(self):
        """`fn(element) -> predictions dict` for one batch."""
        if "predict" not in self._loops:
            self._loops["predict"] = tf.function(lambda element: self._run(self._predict_step, element))
        return self._loops["predict"]

    # -- state -----------------------------------------------------------------------------
    def metric_variables(self) -> list[tf.Variable]:
        """The variables of the Keras metrics in the recorded spec (not checkpointed)."""
        metrics = (self.spec.eval_metric_ops or {}).values() if self.spec else ()
        result = []
        for metric in metrics:
            if isinstance(metric, keras.metrics.Metric):
                result.extend(getattr(v, "value", v) for v in metric.variables)
        return result

    def saveable_variables(self) -> dict[str, tf.Variable]:
        """Stable name to variable for everything checkpointed."""
        excluded = {id(v) for v in self.metric_variables()}
        return {n: v for n, v in self.store.named().items() if id(v) not in excluded}

    def _keras_metrics(self) -> dict[str, keras.metrics.Metric]:
        metrics = (self.spec.eval_metric_ops or {}) if self.spec else {}
        return {k: m for k, m in metrics.items() if isinstance(m, keras.metrics.Metric)}

    def reset_metrics(self) -> None:
        """Zeroes metric state, for a model reused by a later call.

        Eagerly, one assign per variable: cheaper than tracing a function for it, and a
        traced reset per model made TensorFlow warn about retracing in programs that
        evaluate many estimators.
        """
        for metric in self._keras_metrics().values():
            metric.reset_state()

    def metric_results(self, outputs: Mapping) -> dict:
        """The value of each of the spec's `eval_metric_ops`, as numpy values: a Keras
        metric's result now, a `(value, update_op)` pair's value from the outputs of the
        last `eval_fn` call."""
        keras_metrics = self._keras_metrics()
        with self.strategy.scope():  # Cross-replica: a replicated metric sums its replicas.
            return {name: tf.nest.map_structure(
                        np.asarray, keras_metrics[name].result() if name in keras_metrics
                        else outputs[_PAIR + name])
                    for name in (self.spec.eval_metric_ops or {})}


def _while_input(iterator, num_steps, body, initial, endless=False):
    """Runs `state = body(element, state)` up to num_steps times or to the input's end.

    Returns the final state plus `steps`, the number of bodies run. Written with
    tf.while_loop, since AutoGraph does not convert this library (see _autograph.py).
    Loop-carried tensors may change their batch dimension between steps. With
    `endless` (an input that repeats forever) the end-of-input check is left out.
    """

    def condition(steps, done, state):
        return tf.logical_and(steps < num_steps, tf.logical_not(done))

    def run_body(element, state):
        # At the root name scope: summaries model_fn writes (and the loss's) are tagged
        # "loss", not "while/cond/loss", and op names read as in model_fn.
        with tf.name_scope(""):
            return body(element, state)

    def step(steps, done, state):
        if endless:
            return steps + 1, done, run_body(iterator.get_next(), state)
        optional = iterator.get_next_as_optional()
        return tf.cond(optional.has_value(),
                       lambda: (steps + 1, tf.constant(False),
                                run_body(optional.get_value(), state)),
                       lambda: (steps, tf.constant(True), state))

    invariants = tf.nest.map_structure(lambda t: tf.TensorShape(None), initial)
    steps, _, state = tf.while_loop(
        condition, step, (tf.constant(0, tf.int64), tf.constant(False), initial),
        shape_invariants=(tf.TensorShape([]), tf.TensorShape([]), invariants))
    return {"steps": steps, **state}


class _DenseGradients:
    """A gradient tape whose sparse (`IndexedSlices`) gradients come out dense.

    MultiWorkerMirroredStrategy all-reduces sparse gradients by gathering them, which fails
    when the workers' batches touch different numbers of rows ("Shape mismatch in the
    collective instance"); a dense all-reduce of the table's gradient always works, at
    the cost of sending the whole table's size per step.
    """

    def __init__(self, tape: tf.GradientTape):
        self._tape = tape

    def gradient(self, *args, **kwargs):
        return tf.nest.map_structure(
            lambda g: tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g,
            self._tape.gradient(*args, **kwargs), expand_composites=False)


class _Template:
    """The dtype and rank of a fetched prediction (its batch size may vary by step)."""

    def __init__(self, tensor):
        tensor = tf.convert_to_tensor(tensor)
        self.dtype = tensor.dtype
        self.rank = tensor.shape.rank or 0

    def empty(self):
        """The value before the first step: an empty tensor of the right rank and dtype."""
        return tf.zeros([0] * self.rank, self.dtype)
