"""Training under a ParameterServerStrategy: the chief schedules loops on the workers.

The chief (the coordinator) holds no variables: they live on the ps tasks. It schedules
one compiled loop per worker through a `ClusterCoordinator`; workers run them
asynchronously (the paper's mode) and a worker that dies has its loop run again
elsewhere once its failure is seen. Hooks and checkpoints run on the chief between
rounds, so the Estimator's outer loop stays the same.

Each step first claims its global step (`assign_add` on the ps) and runs only if the
claim is <= the round's last step, else gives it back: however the steps are spread over
workers, retried or raced, a round ends at exactly its last step.

A round whose loops fail with a transport-level error (a worker's reply lost or garbled,
as seen just after a chief restart) is scheduled again for the steps not yet claimed, up
to `ROUND_RETRIES` times; the coordinator clears its errors after raising them, so it
can. Errors of the model itself (bad input, NaN checks) are not retried.
"""

from __future__ import annotations

import logging

import tensorflow as tf

logger = logging.getLogger("estimator_lib")

ROUND_RETRIES = 3
# Errors of the runtime between the chief and its workers, not of the model's math.
_TRANSIENT_ERRORS = (tf.errors.InternalError, tf.errors.UnavailableError,
                     tf.errors.AbortedError, tf.errors.CancelledError)


def is_parameter_server(strategy) -> bool:
    """Whether `strategy` is a (TF2) ParameterServerStrategy."""
    return bool(getattr(strategy, "_is_parameter_server_strategy_v2", False))


def coordinator(strategy):
    """The strategy's one `ClusterCoordinator` (made on first use)."""
    return tf.distribute.experimental.coordinator.ClusterCoordinator(strategy)


def num_workers(strategy) -> int:
    return strategy.extended._num_workers  # noqa: SLF001


def per_worker_iterator(strategy, dataset_fn):
    """An iterator the scheduled loops read (each worker reads its own dataset).

    TensorFlow gives every worker's `dataset_fn` the same input context (one pipeline):
    workers read the whole dataset each, in their own order; shuffle it in input_fn.
    """
    return iter(coordinator(strategy).create_per_worker_dataset(dataset_fn))


def make_claimed_loop(global_step: tf.Variable, body, initial):
    """`loop(iterator, num_steps, last_step) -> state + steps`, claiming each step first.

    Args:
        global_step: The global step variable (on a ps).
        body: `state = body(element, state)`, one training step.
        initial: `() -> state` before the first step.
    """

    @tf.function
    def loop(iterator, num_steps, last_step):
        def condition(steps, done, state):
            return tf.logical_and(steps < num_steps, tf.logical_not(done))

        def step(steps, done, state):
            claimed = global_step.assign_add(1, read_value=True)

            def give_back():
                with tf.control_dependencies([global_step.assign_sub(1)]):
                    return steps, tf.constant(True), tf.nest.map_structure(tf.identity, state)

            def run():
                optional = iterator.get_next_as_optional()
                return tf.cond(optional.has_value(),
                               lambda: (steps + 1, tf.constant(False),
                                        body(optional.get_value(), state)),
                               give_back)

            return tf.cond(claimed <= last_step, run, give_back)

        start = initial()
        invariants = tf.nest.map_structure(lambda t: tf.TensorShape(None), start)
        steps, _, state = tf.while_loop(
            condition, step, (tf.constant(0, tf.int64), tf.constant(False), start),
            shape_invariants=(tf.TensorShape([]), tf.TensorShape([]), invariants))
        return {"steps": steps, **state}

    return loop


def run_round(strategy, loop, iterator, num_steps: int, global_step: tf.Variable) -> dict:
    """Runs `num_steps` global steps over all workers; returns the loop outputs.

    `steps` is the number of global steps the round made (fewer when the input ended);
    the other outputs are those of the last loop that ran a step, `nan_loss` of all.
    """
    cluster = coordinator(strategy)
    start = int(global_step.numpy())
    last = start + num_steps
    for attempt in range(ROUND_RETRIES + 1):
        remaining = max(last - int(global_step.numpy()), 0)
        remote = [cluster.schedule(loop, args=(iterator, tf.constant(remaining, tf.int64),
                                               tf.constant(last, tf.int64)))
                  for _ in range(num_workers(strategy))]
        try:
            cluster.join()
            results = [value.fetch() for value in remote]
            break
        except _TRANSIENT_ERRORS as error:
            if attempt == ROUND_RETRIES:
                raise
            logger.warning(
                "Steps %d-%d: a worker's loop failed (%s: %s). The steps it claimed stay "
                "done; scheduling the rest again (retry %d of %d).", start + 1, last,
                type(error).__name__, str(error).strip().splitlines()[0][:200], attempt + 1,
                ROUND_RETRIES)
    ran = [r for r in results if int(r["steps"]) > 0] or results[-1:]
    outputs = dict(ran[-1])
    outputs["nan_loss"] = any(bool(r["nan_loss"]) for r in results)
    outputs["steps"] = int(global_step.numpy()) - start
    return outputs
