"""Wall time of `estpipe run` on the full taxi data, per step, against training alone.

    python -m bench.pipeline_overhead                # the bundled taxi config, caching off
    python -m bench.pipeline_overhead --train-steps 500

1. Runs the taxi pipeline with kfp.local (every step in its own subprocess, no cache), as
   `estpipe run` does, and records each step's wall time.
2. In this process, trains the same Estimator (the same recipe, data, steps and seed) on the
   pipeline's transformed examples with `Estimator.train` alone: the floor.

It prints the pipeline's wall time over the training-alone time (the pipeline's overhead as
a ratio), and the trainer step's own training time over the same floor (the cost of running
training inside a pipeline step: train_and_evaluate's evaluations). Results go to
bench/RESULTS.md between this benchmark's markers.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import tempfile
import time

from console import quiet_tensorflow

quiet_tensorflow()  # an entry point: TensorFlow's start-up lines stay out of the output

import estimator_lib as el
from components.model.inputs import make_input_fn
from components.model.recipe import ModelRecipe
from pipelines.config import load_config
from pipelines.local_run import run_local
from pipelines.summary import read_outcome

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "examples", "chicago_taxi", "pipeline.yaml")
RESULTS = os.path.join(ROOT, "bench", "RESULTS.md")
BEGIN, END = "<!-- pipeline_overhead:begin -->", "<!-- pipeline_overhead:end -->"


def _train_alone(trainer: dict, transform_graph: str, transformed: str, config) -> float:
    model_dir = tempfile.mkdtemp(prefix="train-alone-")
    recipe = ModelRecipe.read(trainer["model_dir"])
    estimator = recipe.build_estimator(model_dir, el.RunConfig(
        tf_random_seed=config.trainer.seed, save_checkpoints_steps=config.trainer.train_steps,
        save_checkpoints_secs=None))
    train_fn = make_input_fn(transformed, "train", transform_graph,
                             label_key=trainer["label_key"], batch_size=config.trainer.batch_size,
                             train=True, seed=config.trainer.seed)
    start = time.time()
    estimator.train(train_fn, max_steps=config.trainer.train_steps)
    return time.time() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=CONFIG)
    parser.add_argument("--train-steps", type=int, default=None)
    parser.add_argument("--no-record", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    if args.train_steps:
        config = dataclasses.replace(config, trainer=dataclasses.replace(
            config.trainer, train_steps=args.train_steps))
    root = tempfile.mkdtemp(prefix="bench-pipeline-")
    config = dataclasses.replace(config, root=os.path.join(root, "runs"),
                                 serving=dataclasses.replace(config.serving,
                                                             base_dir=os.path.join(root, "serving")))
    result = run_local(config, enable_caching=False)
    outcome = read_outcome(result)
    trainer = outcome["trainer"]
    # The transform step's outputs (siblings under its task folder), from the trainer's recipe.
    transform_graph = ModelRecipe.read(trainer["model_dir"]).transform_graph_uri
    transformed = os.path.join(os.path.dirname(transform_graph), "transformed_examples")
    alone = _train_alone(trainer, transform_graph, transformed, config)
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs; taxi data, "
        f"{config.trainer.train_steps} steps of {config.trainer.estimator}",
        "",
        "| step | seconds |",
        "|---|---:|",
        *[f"| {s.name} | {s.seconds:.1f} |" for s in result.steps],
        f"| **pipeline total** | **{result.seconds:.1f}** |",
        "",
        f"- training alone (Estimator.train, same data/steps, in process): {alone:.1f}s",
        f"- the trainer step's training (train_and_evaluate): {trainer['train_seconds']:.1f}s",
        f"- pipeline / training alone: **{result.seconds / alone:.2f}x**",
        f"- trainer-step training / training alone: {trainer['train_seconds'] / alone:.2f}x",
        f"- AUC on the eval split: {trainer['metrics'].get('auc', float('nan')):.4f}; blessed: "
        f"{(outcome['blessing'] or {}).get('blessed')}; pushed: {(outcome['push'] or {}).get('pushed')}",
    ]
    report = "\n".join(lines)
    print(report)
    if not args.no_record:
        _record(report, " ".join(["python -m bench.pipeline_overhead", *(argv or [])]))
    return 0


def _record(report: str, command: str) -> None:
    text = open(RESULTS).read() if os.path.exists(RESULTS) else "# Benchmark results\n"
    block = (f"{BEGIN}\n## Pipeline overhead (`estpipe run` vs training alone)\n\n"
             f"Command: `{command}` ({time.strftime('%Y-%m-%d')})\n\n{report}\n{END}")
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(RESULTS, "w") as f:
        f.write(text)


if __name__ == "__main__":
    raise SystemExit(main())
