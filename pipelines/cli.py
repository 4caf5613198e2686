"""`estpipe`: the project's command line.

    estpipe run [CONFIG] [--root DIR] [--no-cache] [--isolate-steps] [--warm]
                                                     the pipeline end to end, here (kfp.local)
    estpipe warm [status|stop]                       the warm workers of `run --warm`
    estpipe compile [CONFIG] -o pipeline.yaml --root gs://... --serving-base gs://...
                                                     Kubeflow IR YAML for a cluster
    estpipe submit [CONFIG] --host URL --root gs://...   a run on a Kubeflow Pipelines endpoint
    estpipe serve --model-base-path DIR --model-name NAME   the local TF-Serving-style server
    estpipe rollback MODEL --serving-base DIR [--to V]      serve an earlier pushed version
    estpipe runs [CONFIG]                            the recorded runs: span, metrics, version
    estpipe lineage VERSION [CONFIG] [--json]        the run, span and model behind a version
    estpipe schedule [CONFIG] --cron EXPR (--host URL | --local)   recurring runs
    estpipe estimator-demo                           el.Estimator alone on the taxi data

CONFIG defaults to the bundled Chicago taxi pipeline (examples/chicago_taxi/pipeline.yaml).
`-v` (debug logging; `run` streams every step's log) goes before or after the command. An
error is one line, `estpipe <command>: <cause>`: exit status 2 when the command could not
start (arguments, config, input), 1 when it started and failed (see `console.run_command`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings

from console import CommandParser, quiet_tensorflow, run_command
from pipelines.cli_arguments import (
    add_cluster_overrides,
    add_config,
    add_overrides,
    load,
    run_arguments,
    with_overrides,
)


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stderr)


def _estimator_demo(args) -> int:
    from examples.chicago_taxi import estimator_demo

    result = estimator_demo.run(model_dir=args.model_dir, steps=args.steps)
    metrics = result["metrics"]
    print("Chicago taxi, big-tipper classifier (el.Estimator), evaluation on the 20% split:")
    for key in sorted(metrics):
        print(f"  {key:>12}: {float(metrics[key]):.4f}" if key != "global_step"
              else f"  {key:>12}: {int(metrics[key])}")
    print(f"SavedModel: {result['export_dir']}")
    print(f"Classify on one eval trip -> scores [no, yes] = "
          f"{[round(s, 4) for s in result['sample_prediction']]}")
    return 0


def _run(args) -> int:
    from pipelines.local_run import run_local
    from pipelines.summary import summarize

    config = load(args.config)
    result = run_local(config, pipeline_root=args.root, enable_caching=not args.no_cache,
                       isolate_steps=args.isolate_steps,
                       arguments=run_arguments(args), verbose=args.verbose)
    print(summarize(result))
    return 0


def _warm(args) -> int:
    from pipelines.warm_client import list_workers, runtime_dir, stop_workers

    if args.action == "stop":
        print(f"Stopped {stop_workers()} warm worker(s).")
        return 0
    workers = list_workers()
    if not workers:
        print(f"No warm worker in {runtime_dir()}.")
    for w in workers:
        print(f"{w['socket']}: busy with a run" if w.get("busy") else
              f"worker {w['pid']} (key {w['key']}): {w['runs']} run(s), idle "
              f"{w['idle_seconds']:.0f} s; log {w['log']}")
    return 0


def _wants_warm_worker(argv: list[str]) -> bool:
    """`estpipe [-v] run ... --warm`: the run goes to a warm worker, which parses it."""
    command = next((a for a in argv if not a.startswith("-")), None)
    return command == "run" and "--warm" in argv


def _without_warm(argv: list[str]) -> list[str]:
    return [a for a in argv if a != "--warm"]


def _compile(args) -> int:
    from pipelines.compile import compile_pipeline

    config = _for_cluster(args)
    path = compile_pipeline(config, args.output, image=args.image)
    print(f"Wrote Kubeflow IR YAML for {config.name!r} to {path}")
    return 0


def _submit(args) -> int:
    from pipelines.compile import submit_pipeline

    config = _for_cluster(args)
    run_id = submit_pipeline(config, host=args.host, image=args.image,
                             experiment=args.experiment, run_name=args.run_name,
                             arguments=run_arguments(args))
    print(f"Submitted run {run_id} of {config.name!r} to {args.host}")
    return 0


def _for_cluster(args):
    """The config with the command's overrides, checked to hold no path of this machine
    (unless --allow-local)."""
    from pipelines.compile import check_cluster_paths

    config = with_overrides(load(args.config), args)
    if not args.allow_local:
        check_cluster_paths(config)
    return config


def _runs(args) -> int:
    from pipelines.records import list_runs

    config = load(args.config)
    root = args.root or config.root
    records = list_runs(root)
    if not records:
        print(f"No runs recorded under {root}.")
        return 0
    print(f"{'finished (UTC)':<26}{'span':>5}{'step':>7}{'auc':>8}  {'blessed':<8}"
          f"{'version':>8}  run")
    for r in records:
        auc = (r.get("metrics") or {}).get("auc")
        print(f"{r['finished_at']:<26}{_cell(r.get('span')):>5}{_cell(r.get('final_step')):>7}"
              f"{'' if auc is None else f'{auc:.4f}':>8}  {'yes' if r['blessed'] else 'no':<8}"
              f"{_cell(r.get('version')):>8}  {r['run_id']}")
    return 0


def _lineage(args) -> int:
    from pipelines.records import describe_lineage, lineage

    config = load(args.config)
    serving_base = args.serving_base or config.serving.base_dir
    model_name = args.model_name or config.serving.model_name
    found = lineage(args.root or config.root, serving_base, model_name, args.version)
    if args.json:
        print(json.dumps(found, indent=2, sort_keys=True, default=str))
    else:
        print(describe_lineage(found, model_name))
    return 0


def _cell(value) -> str:
    return "-" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `estpipe`."""
    given = sys.argv[1:] if argv is None else list(argv)
    if _wants_warm_worker(given):  # before anything heavy: the worker has it all imported
        from pipelines.warm_client import run_in_worker

        return run_command("estpipe run", lambda: run_in_worker(_without_warm(given)),
                           verbose=bool({"-v", "--verbose"} & set(given)))
    quiet_tensorflow()  # first: the serving and pusher commands import TensorFlow
    # kfp.Client warns on every construction that it needs KFP >= 2.0.0-beta.2 (true of every
    # endpoint this project targets): noise at the terminal of `submit` and `schedule`.
    warnings.filterwarnings("ignore", message="This client only works with Kubeflow Pipeline",
                            category=FutureWarning)
    parser = CommandParser(prog="estpipe", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logging; `run` also streams every step's log")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the pipeline end to end on this machine")
    add_config(run)
    run.add_argument("--root", help="pipeline root for this run (default: the config's)")
    run.add_argument("--no-cache", action="store_true",
                     help="run every step, even those whose inputs did not change")
    run.add_argument("--isolate-steps", action="store_true",
                     help="run each step in a fresh process, as kfp.local's SubprocessRunner "
                          "and a cluster do (slower: every step imports TensorFlow again); "
                          "by default every step runs in this process")
    run.add_argument("--warm", action="store_true",
                     help="run in a warm worker process that keeps TensorFlow, Beam and kfp "
                          "imported between runs (started by the first --warm run; see "
                          "`estpipe warm`)")
    add_overrides(run)
    run.set_defaults(handler=_run)

    warm = commands.add_parser("warm", help="the warm workers of `estpipe run --warm`")
    warm.add_argument("action", choices=("status", "stop"), nargs="?", default="status",
                      help="list them (default) or stop them")
    warm.set_defaults(handler=_warm)

    compile_ = commands.add_parser("compile", help="write the pipeline as Kubeflow IR YAML")
    add_config(compile_)
    compile_.add_argument("-o", "--output", default="pipeline.yaml", help="output file")
    compile_.add_argument("--image", help="container image every step runs in")
    add_cluster_overrides(compile_)
    compile_.set_defaults(handler=_compile)

    submit = commands.add_parser("submit", help="create a run on a Kubeflow Pipelines endpoint")
    add_config(submit)
    submit.add_argument("--host", required=True, help="the KFP API endpoint URL")
    submit.add_argument("--image", help="container image every step runs in")
    submit.add_argument("--experiment", default=None, help="KFP experiment name")
    submit.add_argument("--run-name", default=None, help="run name")
    add_cluster_overrides(submit)
    submit.set_defaults(handler=_submit)

    runs = commands.add_parser("runs", help="list the recorded pipeline runs")
    add_config(runs)
    runs.add_argument("--root", help="pipeline root (default: the config's)")
    runs.set_defaults(handler=_runs)

    lineage = commands.add_parser("lineage",
                                  help="which run, span, config and model made a served version")
    lineage.add_argument("version", type=int, help="the served version")
    add_config(lineage)
    lineage.add_argument("--root", help="pipeline root (default: the config's)")
    lineage.add_argument("--serving-base", help="serving base (default: the config's)")
    lineage.add_argument("--model-name", help="model name (default: the config's)")
    lineage.add_argument("--json", action="store_true",
                         help="print the push history and the run record as JSON")
    lineage.set_defaults(handler=_lineage)

    demo = commands.add_parser("estimator-demo",
                               help="el.Estimator alone on the taxi data: train, evaluate, serve")
    demo.add_argument("--model-dir", default=None, help="model directory (default: a temp dir)")
    demo.add_argument("--steps", type=int, default=2000, help="training steps (default 2000)")
    demo.set_defaults(handler=_estimator_demo)

    from components.pusher.cli import add_rollback_command
    from pipelines.schedule_cli import add_schedule_command
    from serving.cli import add_serve_command

    add_rollback_command(commands)
    add_schedule_command(commands)
    add_serve_command(commands)
    for command in commands.choices.values():  # `estpipe run -v` as well as `estpipe -v run`
        command.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                             help="debug logging; `run` also streams every step's log")
    args = parser.parse_args(given)
    _configure_logging(args.verbose)
    command = commands.choices[args.command]
    for name in ("steps", "train_steps"):
        value = getattr(args, name, None)
        if value is not None and value <= 0:
            command.error(f"--{name.replace('_', '-')} must be positive, got {value}")
    return run_command(command.prog, lambda: args.handler(args), verbose=args.verbose)


if __name__ == "__main__":
    raise SystemExit(main())
