"""The serving command: `estpipe serve`, the local TF-Serving-compatible model server.

    estpipe serve --model-base-path /serving/taxi --model-name taxi [--port 8500] [--rest-port 8501]
    estpipe serve --serving-base /serving [--model-name taxi]     # the pusher's layout
    estpipe serve --model-config-file models.config [--enable-batching]

Example:
    >>> parser = argparse.ArgumentParser(prog="estpipe")
    >>> commands = parser.add_subparsers(dest="command", required=True)
    >>> add_serve_command(commands)
    >>> args = parser.parse_args(["serve", "--serving-base", "/serving", "--port", "0"])
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

__all__ = ["add_serve_command"]

logger = logging.getLogger("serving")


def _policy(text: str):
    from serving.version_policy import VersionPolicy

    kind, _, rest = text.partition(":")
    try:
        if kind == "all" and not rest:
            return VersionPolicy.all()
        if kind == "latest":
            return VersionPolicy.latest(int(rest or 1))
        if kind == "specific" and rest:
            return VersionPolicy.specific(*(int(v) for v in rest.split(",")))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    raise argparse.ArgumentTypeError(
        f"{text!r}: use latest[:N], all, or specific:V1,V2,...")


def add_serve_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Registers `serve` on an argparse subparsers object; its handler returns an exit code.

    Args:
        subparsers: What `ArgumentParser.add_subparsers()` returned.

    Returns:
        The `serve` parser.
    """
    parser = subparsers.add_parser(
        "serve", help="serve models over TF Serving's gRPC and REST APIs",
        description="A local model server that speaks TF Serving's protocols (gRPC "
                    "PredictionService, ModelService, health; REST /v1/models/...). It follows "
                    "new versions on disk and swaps them in without failing requests.")
    models = parser.add_argument_group("models (one of)")
    models.add_argument("--model-base-path", metavar="DIR",
                        help="the directory holding the model's integer versions "
                             "(TF Serving's --model_base_path); needs --model-name")
    models.add_argument("--serving-base", metavar="DIR",
                        help="the pusher's serving root: serves DIR/NAME for --model-name, or "
                             "every model directory under DIR")
    models.add_argument("--model-config-file", metavar="FILE",
                        help="a models.config (ModelServerConfig text proto)")
    models.add_argument("--model-name", metavar="NAME", help="the model name clients use")
    models.add_argument("--model-version-policy", type=_policy, default=None,
                        metavar="POLICY", help="latest[:N] (default latest:1), all, or "
                                               "specific:V1,V2 (not with --model-config-file)")
    listen = parser.add_argument_group("listening")
    listen.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; 0.0.0.0 for remote clients)")
    listen.add_argument("--port", type=int, default=8500, help="gRPC port (default 8500; 0: any)")
    listen.add_argument("--rest-port", type=int, default=8501,
                        help="REST port (default 8501; 0: any)")
    listen.add_argument("--no-rest", action="store_true", help="do not serve the REST API")
    listen.add_argument("--grpc-max-threads", type=int, default=16,
                        help="gRPC worker threads (default 16)")
    polling = parser.add_argument_group("polling")
    polling.add_argument("--file-system-poll-wait-seconds", type=float, default=1.0,
                         help="how often to look for new versions (default 1; 0: never)")
    polling.add_argument("--model-config-file-poll-wait-seconds", type=float, default=0.0,
                         help="how often to re-read --model-config-file (default 0: never)")
    polling.add_argument("--max-num-load-retries", type=int, default=5,
                         help="how often a failed load is retried while its files stay the "
                              "same (default 5); a change to them always brings a new load")
    polling.add_argument("--load-retry-interval-seconds", type=float, default=60.0,
                         help="seconds between load retries (default 60)")
    limits = parser.add_argument_group("request limits")
    limits.add_argument("--max-request-bytes", type=int, default=None,
                        help="the largest gRPC message or REST body, in bytes "
                             "(default 16777216: 16 MiB)")
    limits.add_argument("--max-request-elements", type=int, default=None,
                        help="the most tensor elements one request may hold or claim, over "
                             "all inputs, and the most JSON lists and objects in a REST body "
                             "(default 2097152)")
    batching = parser.add_argument_group("batching")
    batching.add_argument("--enable-batching", action="store_true",
                          help="batch concurrent requests to a signature")
    batching.add_argument("--batching-parameters-file", metavar="FILE",
                          help="TF Serving's batching parameters (text proto)")
    batching.add_argument("--max-batch-size", type=int, default=None,
                          help="examples per batch (default 32)")
    batching.add_argument("--batch-timeout-micros", type=int, default=None,
                          help="how long a batch waits to fill (default 1000)")
    batching.add_argument("--num-batch-threads", type=int, default=None,
                          help="threads running batches, per signature (default 2)")
    parser.set_defaults(handler=_serve)
    return parser


def _configs(args):
    from model_names import validate_model_name
    from serving.model_config import ModelConfig

    sources = [args.model_base_path, args.serving_base, args.model_config_file]
    if sum(s is not None for s in sources) != 1:
        raise ValueError("Pass exactly one of --model-base-path, --serving-base and "
                         "--model-config-file.")
    if args.model_config_file:
        if args.model_version_policy is not None or args.model_name:
            raise ValueError("--model-name and --model-version-policy go with "
                             "--model-base-path or --serving-base; the config file names "
                             "its models and policies.")
        return None
    policy = {} if args.model_version_policy is None else {
        "version_policy": args.model_version_policy}
    if args.model_base_path:
        if not args.model_name:
            raise ValueError("--model-base-path needs --model-name.")
        return [ModelConfig(validate_model_name(args.model_name), args.model_base_path, **policy)]
    if args.model_name:
        return [ModelConfig.under(args.serving_base, args.model_name, **policy)]
    import tensorflow as tf

    if not tf.io.gfile.isdir(args.serving_base):
        raise ValueError(f"--serving-base {args.serving_base} does not exist; give "
                         "--model-name NAME to serve NAME's versions once they appear there.")
    names = sorted(n.rstrip("/") for n in tf.io.gfile.listdir(args.serving_base)
                   if tf.io.gfile.isdir(os.path.join(args.serving_base, n.rstrip("/"))))
    configs = []
    for name in names:
        try:
            configs.append(ModelConfig.under(args.serving_base, name, **policy))
        except ValueError:
            logger.warning("Skipping %r under %s: not a valid model name.", name,
                           args.serving_base)
    if not configs:
        raise ValueError(f"No model directories under --serving-base {args.serving_base}.")
    return configs


def _batching(args):
    from serving.batching import BatchingOptions

    overrides = {k: v for k, v in (("max_batch_size", args.max_batch_size),
                                   ("batch_timeout_micros", args.batch_timeout_micros),
                                   ("num_batch_threads", args.num_batch_threads))
                 if v is not None}
    if not args.enable_batching:
        if overrides or args.batching_parameters_file:
            raise ValueError("Batching flags need --enable-batching.")
        return None
    base = (BatchingOptions.from_file(args.batching_parameters_file)
            if args.batching_parameters_file else BatchingOptions())
    import dataclasses

    return dataclasses.replace(base, **overrides)


def _request_limits(args):
    from serving.request_limits import RequestLimits

    return RequestLimits(**{k: v for k, v in (
        ("max_request_bytes", args.max_request_bytes),
        ("max_request_elements", args.max_request_elements)) if v is not None})


def _warn_missing_base_paths(configs) -> None:
    """As TF Serving does, a model whose base path does not exist (yet) is served once
    versions appear there; the user is told the folder is missing, not only that it holds
    no versions."""
    import tensorflow as tf

    for config in configs:
        if not tf.io.gfile.isdir(config.base_path):
            logger.warning("The base path of model %r, %s, does not exist; it is served once "
                           "versions appear there.", config.name, config.base_path)


def _serve(args: argparse.Namespace) -> int:
    from serving.server import ModelServer, ServerOptions

    try:
        configs = _configs(args)
        options = ServerOptions(
            host=args.host, port=args.port, rest_port=None if args.no_rest else args.rest_port,
            file_system_poll_wait_seconds=args.file_system_poll_wait_seconds,
            model_config_file_poll_wait_seconds=args.model_config_file_poll_wait_seconds,
            batching=_batching(args), grpc_max_threads=args.grpc_max_threads,
            request_limits=_request_limits(args),
            max_num_load_retries=args.max_num_load_retries,
            load_retry_interval_seconds=args.load_retry_interval_seconds)
        server = ModelServer(configs, model_config_file=args.model_config_file, options=options)
        _warn_missing_base_paths(server.manager.configs.values())
        server.start()
    except (OSError, ValueError, TypeError) as error:
        print(f"estpipe serve: {error}", file=sys.stderr)
        return 2
    print(f"Serving {sorted(server.manager.configs)}: gRPC on {server.grpc_address}"
          + (f", REST on {server.rest_url}" if server.rest_port else ""), flush=True)

    def stop(signum, frame):
        logger.info("Received signal %d; stopping", signum)
        server.stop()

    signal.signal(signal.SIGTERM, stop)
    try:
        while not server.wait(1.0):
            pass
    except KeyboardInterrupt:
        server.stop()
    return 0
