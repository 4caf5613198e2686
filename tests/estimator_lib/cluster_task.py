"""One task of a loopback training cluster: `python -m tests.estimator_lib.cluster_task`.

The multi-process tests (test_distributed_cluster.py) and bench/distributed_throughput.py
start one of these per task, with TF_CONFIG set. It trains the toy model of toy.py (or,
with --model taxi, the taxi wide & deep model of taxi.py on the shards in --data) with
`el.train_and_evaluate` and prints one JSON line: the final metrics (evaluator and local
runs) and the task's role.

Arguments: model_dir, strategy kind (see el.distribute.make_strategy), max_steps, and
optionally --save-steps N, --steps-per-loop N, --step-sleep SECS (slows each training
step so faults can be injected mid-training), --startup-timeout SECS, --model toy|taxi,
--data DIR (taxi.write_shards' directory).
"""

from __future__ import annotations

import argparse
import json
import time

from console import quiet_tensorflow

quiet_tensorflow()  # a task script: quiet before TensorFlow is imported

import estimator_lib as el  # noqa: E402

GLOBAL_BATCH = 32


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("kind", choices=el.distribute.STRATEGY_KINDS)
    parser.add_argument("max_steps", type=int)
    parser.add_argument("--save-steps", type=int, default=20)
    parser.add_argument("--steps-per-loop", type=int, default=10)
    parser.add_argument("--step-sleep", type=float, default=0.0)
    parser.add_argument("--startup-timeout", type=float, default=120)
    parser.add_argument("--model", choices=("toy", "taxi", "taxi_wide_deep"), default="toy")
    parser.add_argument("--data", help="The taxi shards (taxi.write_shards); for --model taxi.")
    args = parser.parse_args(argv)
    if args.model != "toy" and not args.data:
        parser.error("--model taxi needs --data DIR (the shards of taxi.write_shards).")

    started = time.time()
    strategy = el.distribute.make_strategy(args.kind, startup_timeout_secs=args.startup_timeout,
                                           heartbeat_timeout_secs=10)

    import tensorflow as tf

    from tests.estimator_lib import toy

    def toy_train_input_fn(input_context=None):
        dataset = tf.data.Dataset.from_tensor_slices(({"x": toy.X}, toy.Y))
        batch = GLOBAL_BATCH
        if input_context is not None:
            dataset = dataset.shard(input_context.num_input_pipelines,
                                    input_context.input_pipeline_id)
            batch = input_context.get_per_replica_batch_size(GLOBAL_BATCH)
        return dataset.repeat().batch(batch)

    model_input_fn = toy_train_input_fn
    if args.model != "toy":
        from tests.estimator_lib import taxi

        model_input_fn = taxi.train_input_fn(args.data)

    def train_input_fn(input_context=None):
        dataset = model_input_fn(input_context)
        if args.step_sleep:  # A graph op, so it also runs on a parameter-server worker.
            from tensorflow.python.data.experimental.ops import testing

            dataset = dataset.apply(testing.sleep(int(args.step_sleep * 1e6)))
        return dataset

    config = el.RunConfig(train_distribute=strategy, save_checkpoints_steps=args.save_steps,
                          steps_per_loop=args.steps_per_loop, log_step_count_steps=None,
                          keep_checkpoint_max=None, tf_random_seed=1)
    if args.model != "toy":
        make = taxi.make_wide_deep if args.model == "taxi_wide_deep" else taxi.make_estimator
        estimator = make(args.model_dir, config)
        eval_input_fn = taxi.eval_input_fn(args.data)
    else:
        estimator = el.Estimator(toy.model_fn, model_dir=args.model_dir, config=config,
                                 params={"learning_rate": 0.5})
        eval_input_fn = toy.eval_input_fn
    metrics, exports = el.train_and_evaluate(
        estimator, el.TrainSpec(train_input_fn, max_steps=args.max_steps),
        el.EvalSpec(eval_input_fn, steps=None, start_delay_secs=0, throttle_secs=0))
    print(json.dumps({
        "task": f"{estimator.config.task_type}:{estimator.config.task_id}",
        "metrics": None if metrics is None else {k: float(v) for k, v in metrics.items()},
        "exports": exports, "seconds": time.time() - started}), flush=True)


if __name__ == "__main__":
    main()
