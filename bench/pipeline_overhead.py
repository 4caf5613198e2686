"""Wall time of `estpipe run`, per step and phase, against training alone.

    python -m bench.pipeline_overhead                  # the bundled taxi config, no cache
    python -m bench.pipeline_overhead --rows 300 --train-steps 200
    python -m bench.pipeline_overhead --rows 300 --train-steps 200 --isolate-steps
    python -m bench.pipeline_overhead --rows 300 --train-steps 200 --compare-isolated
    python -m bench.pipeline_overhead --rows 300 --train-steps 200 --warm

1. Runs the taxi pipeline as `estpipe run --no-cache` does (every step in this process, the
   default; `--isolate-steps`: each in its own process, as kfp.local's SubprocessRunner
   runs them), and takes each step's phases from its log (`components.common.phases`):
   start-up (process start and imports), engine start-up (tf.Transform's tracing), the work
   (reading, analysis, training, export, evaluation, copying) and writing outputs.
   "End to end" is from this process's start (its imports included, as a command's) to the
   pipeline's end.
2. In this process, trains the same Estimator (the same recipe, data, steps and seed) on the
   pipeline's transformed examples with `Estimator.train` alone: the floor.

`--warm` runs `estpipe run --warm` as a user does, twice, each as its own command: the first
starts the warm worker (`pipelines.warm_worker`, in a fresh runtime folder, so it pays the
imports), the second finds it warm; "end to end" is each command's wall time.

It prints the run's time over the training-alone time (the pipeline's overhead as a ratio).
`--rows N` runs on the first N rows of the data. Results go to bench/RESULTS.md between this
benchmark's markers for the variant (full data or a sample, in process or isolated), with the
command and the commit.
"""

from __future__ import annotations

import argparse
import time

PROCESS_START = time.time()  # before any import: "end to end" includes this process's

import dataclasses  # noqa: I001 - after the clock starts
import os
import platform
import sys
import tempfile

from console import quiet_tensorflow

quiet_tensorflow()  # an entry point: TensorFlow's start-up lines stay out of the output

import estimator_lib as el
from bench._results import ROOT, commit, write_block
from components.model.inputs import make_input_fn
from components.model.recipe import ModelRecipe
from pipelines.config import load_config
from pipelines.local_run import run_local
from pipelines.summary import read_outcome

CONFIG = os.path.join(ROOT, "examples", "chicago_taxi", "pipeline.yaml")
MARKER = "pipeline_overhead"


def _train_alone(trainer: dict, config) -> float:
    """`Estimator.train` alone on the run's transformed examples: the same recipe, steps and
    seed as the trainer step; its seconds."""
    # The transform step's outputs (siblings under its task folder), from the trainer's recipe.
    transform_graph = ModelRecipe.read(trainer["model_dir"]).transform_graph_uri
    transformed = os.path.join(os.path.dirname(transform_graph), "transformed_examples")
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
    parser.add_argument("--rows", type=int, default=None,
                        help="run on the first ROWS rows of the data (default: all)")
    parser.add_argument("--isolate-steps", action="store_true",
                        help="each step in its own process (kfp.local's SubprocessRunner)")
    parser.add_argument("--compare-isolated", action="store_true",
                        help="then run it again with each step in its own process, and print "
                             "the two side by side")
    parser.add_argument("--warm", action="store_true",
                        help="run `estpipe run --warm` twice as commands: the worker's start, "
                             "then a warm run")
    parser.add_argument("--no-record", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    if args.train_steps:
        config = dataclasses.replace(config, trainer=dataclasses.replace(
            config.trainer, train_steps=args.train_steps))
    if args.warm:
        return _warm_runs(args, argv, config)
    root = tempfile.mkdtemp(prefix="bench-pipeline-")
    arguments = {}
    if args.rows:
        arguments["input_pattern"] = _sample(config.data.input_pattern, args.rows, root)
    config = dataclasses.replace(config, root=os.path.join(root, "runs"),
                                 serving=dataclasses.replace(config.serving,
                                                             base_dir=os.path.join(root, "serving")))
    result = run_local(config, enable_caching=False, arguments=arguments,
                       isolate_steps=args.isolate_steps)
    end_to_end = time.time() - PROCESS_START
    outcome = read_outcome(result)
    trainer = outcome["trainer"]
    alone = _train_alone(trainer, config)
    how = ("each step in its own process (--isolate-steps)" if args.isolate_steps
           else "every step in one process (the default)")
    lines = [
        _machine_line(config, args.rows, how),
        "",
        "| step | seconds | start-up | where the rest went |",
        "|---|---:|---:|---|",
        *[f"| {s.name} | {s.seconds:.1f} | {s.phases.get('start-up', 0.0):.1f} | "
          f"{_phases(s.phases)} |" for s in result.steps],
        f"| **pipeline** | **{result.seconds:.1f}** | | |",
        f"| **end to end** (this process's start to the pipeline's end) | **{end_to_end:.1f}** | | |",
        "",
        f"- training alone (Estimator.train, same data/steps, in process): {alone:.1f}s",
        f"- the trainer step's training (train_and_evaluate): {trainer['train_seconds']:.1f}s",
        f"- pipeline / training alone: **{result.seconds / alone:.2f}x**; end to end / "
        f"training alone: {end_to_end / alone:.2f}x",
        f"- AUC on the eval split (the evaluator's exact AUC): {_auc(outcome):.4f}; blessed: "
        f"{(outcome['blessing'] or {}).get('blessed')}; pushed: {(outcome['push'] or {}).get('pushed')}",
    ]
    if args.compare_isolated and not args.isolate_steps:
        isolated = run_local(
            dataclasses.replace(config, root=os.path.join(root, "isolated", "runs"),
                                serving=dataclasses.replace(
                                    config.serving, base_dir=os.path.join(root, "isolated",
                                                                          "serving"))),
            enable_caching=False, arguments=arguments, isolate_steps=True)
        auc = _auc(read_outcome(isolated))
        lines += [
            f"- the same run, each step in its own process (--isolate-steps), right after: "
            f"{isolated.seconds:.1f}s; in process / isolated: "
            f"**{result.seconds / isolated.seconds:.2f}x** the time; AUC {auc:.4f}",
            "  " + ", ".join(f"{s.name} {s.seconds:.1f}" for s in isolated.steps),
        ]
    report = "\n".join(lines)
    print(report)
    if not args.no_record:
        variant = (("-rows" if args.rows else "") + ("-isolated" if args.isolate_steps else "")
                   + ("-compared" if args.compare_isolated else ""))
        _record(variant, "Pipeline overhead (`estpipe run` vs training alone)", report, argv)
    return 0


def _auc(outcome: dict) -> float:
    """The evaluator's AUC of a run's final model (the pipeline's trainer does not evaluate)."""
    return (outcome["blessing"] or {}).get("metrics", {}).get("auc", float("nan"))


def _machine_line(config, rows: int | None, how: str) -> str:
    data = f"the first {rows} rows of the taxi data" if rows else "taxi data"
    return (f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.1f} at the end; {data}, {config.trainer.train_steps} steps "
            f"of {config.trainer.estimator}; {how}; commit {commit()}")


def _record(variant: str, title: str, report: str, argv) -> None:
    """The report in RESULTS.md under this benchmark's marker for `variant`, with the command."""
    given = sys.argv[1:] if argv is None else argv
    command = " ".join(["python -m bench.pipeline_overhead", *given])
    write_block(MARKER + variant, f"## {title}\n\nCommand: `{command}` "
                f"({time.strftime('%Y-%m-%d %H:%M %Z')})\n\n{report}")


def _warm_runs(args, argv, config) -> int:
    """`estpipe run --warm` twice, as commands; the warm run's overhead over training alone."""
    import re
    import subprocess

    from components.artifacts.model import read_trainer_result
    from pipelines.records import list_runs

    folder = tempfile.mkdtemp(prefix="bench-warm-")
    env = dict(os.environ, ESTPIPE_WARM_DIR=os.path.join(folder, "workers"),
               PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    common = ["run", args.config, "--no-cache", "--warm"]
    if args.train_steps:
        common += ["--train-steps", str(args.train_steps)]
    if args.rows:
        common += ["--input-pattern", _sample(config.data.input_pattern, args.rows, folder)]
    runs = []
    try:
        for name in ("first (starts the worker)", "warm"):
            root = os.path.join(folder, f"run{len(runs)}")
            command = [sys.executable, "-m", "pipelines.cli", *common, "--root",
                       os.path.join(root, "runs"), "--serving-base", os.path.join(root, "serving")]
            start = time.time()
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            wall = time.time() - start
            if done.returncode:
                raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
            pipeline = float(re.search(r"finished in ([0-9.]+)s", done.stdout).group(1))
            steps = re.findall(r"^  (\S+)\s+SUCCESS\s+([0-9.]+)", done.stdout, re.MULTILINE)
            runs.append((name, wall, pipeline, steps, list_runs(os.path.join(root, "runs"))[-1]))
    finally:
        subprocess.run([sys.executable, "-m", "pipelines.cli", "warm", "stop"], env=env,
                       capture_output=True)
    record = runs[-1][-1]
    alone = _train_alone(read_trainer_result(record["model_uri"]).to_json(), config)
    lines = [
        _machine_line(config, args.rows, "`estpipe run --warm` as two commands"),
        "",
        "| command | end to end (its wall time) | pipeline | steps |",
        "|---|---:|---:|---|",
        *[f"| {name} | {wall:.1f} | {pipeline:.1f} | "
          f"{', '.join(f'{s} {float(t):.1f}' for s, t in steps)} |"
          for name, wall, pipeline, steps, _ in runs],
        "",
        f"- training alone (Estimator.train, same data/steps, in process): {alone:.1f}s",
        f"- warm run end to end / training alone: **{runs[-1][1] / alone:.2f}x**",
        f"- AUC on the eval split (warm run; the evaluator's exact AUC, from the run record): "
        f"{record.get('metrics', {}).get('auc', float('nan')):.4f}; blessed: "
        f"{record.get('blessed')}",
    ]
    report = "\n".join(lines)
    print(report)
    if not args.no_record:
        _record(("-rows" if args.rows else "") + "-warm",
                "Pipeline overhead, `estpipe run --warm` (two commands)", report, argv)
    return 0


def _sample(pattern: str, rows: int, folder: str) -> str:
    """The first `rows` rows (and the header) of the pattern's first file, in `folder`."""
    import glob

    path = os.path.join(folder, "sample.csv")
    with open(sorted(glob.glob(pattern))[0]) as source, open(path, "w") as sample:
        for index, line in enumerate(source):
            if index > rows:
                break
            sample.write(line)
    return path


def _phases(phases: dict[str, float]) -> str:
    rest = sorted(((v, k) for k, v in phases.items() if k != "start-up" and v >= 0.05),
                  reverse=True)
    return ", ".join(f"{name} {seconds:.1f}" for seconds, name in rest)


if __name__ == "__main__":
    raise SystemExit(main())
