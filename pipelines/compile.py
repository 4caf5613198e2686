"""Compiles the pipeline to Kubeflow IR YAML, and submits it to a Kubeflow Pipelines endpoint.

On a cluster every step runs in the project's container image (see the Dockerfile):
`image` replaces the image of every step in the compiled spec, so one build of the
components serves any registry. The compiled pipeline runs the evaluator beside the trainer.
A cluster cannot reach this machine's files: `check_cluster_paths` says which of the
pipeline root, serving base and input pattern are local (the transform spec and the user
modules travel inside the spec, as text).

Example:
    >>> compile_pipeline(load_config("examples/chicago_taxi/pipeline.yaml"), "taxi.yaml",
    ...                  image="us-docker.pkg.dev/proj/ml/estimator-pipelines:0.1.0")
    'taxi.yaml'
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any

import yaml

from components.artifacts.io import is_local
from pipelines.config import PipelineConfig

__all__ = ["check_cluster_paths", "compile_pipeline", "set_image", "submit_pipeline"]

# An OCI image reference: [registry[:port]/]path[:tag][@sha256:digest]
_IMAGE = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*"
                    r"(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$")


def compile_pipeline(config: PipelineConfig, output: str, *, image: str | None = None) -> str:
    """Writes the pipeline of `config` as Kubeflow IR YAML to `output`; returns the path.

    Raises:
        ValueError: If `image` is not a valid image reference.
    """
    from kfp import compiler

    from pipelines.pipeline import build_pipeline

    if image is not None and not _IMAGE.match(image):
        raise ValueError(f"`image` {image!r} is not a container image reference "
                         "(e.g. registry.example.com/ml/estimator-pipelines:0.1.0).")
    directory = os.path.dirname(os.path.abspath(output))
    os.makedirs(directory, exist_ok=True)
    # Written in place, then renamed: the file gets the usual permissions (umask), which a
    # tempfile's 0600 would not.
    temp = os.path.join(directory, f".{os.path.basename(output)}.{os.getpid()}.tmp.yaml")
    try:
        compiler.Compiler().compile(build_pipeline(config), temp)
        if image is not None:
            with open(temp) as f:
                spec = yaml.safe_load(f)
            set_image(spec, image)
            with open(temp, "w") as f:
                yaml.safe_dump(spec, f, sort_keys=False)
        os.replace(temp, output)
    finally:
        if os.path.exists(temp):
            os.remove(temp)
    return output


def check_cluster_paths(config: PipelineConfig) -> None:
    """Checks that the pipeline of `config` names no path of this machine.

    The pipeline root, the serving base and the input pattern must be object-store URIs
    (`gs://`, `s3://`, ...) on a cluster.

    Raises:
        ValueError: Naming each local path and the flag that overrides it.

    Example:
        >>> check_cluster_paths(load_config("examples/chicago_taxi/pipeline.yaml"))
        ValueError: ... paths of this machine, which a cluster cannot reach: the pipeline
        root '/work/runs/chicago-taxi' (--root), ...
    """
    local = [f"the {what} {path!r} ({flag})" for what, path, flag in (
        ("pipeline root", config.root, "--root"),
        ("serving base", config.serving.base_dir, "--serving-base"),
        ("input pattern", config.data.input_pattern, "--input-pattern")) if is_local(path)]
    if local:
        raise ValueError(f"the pipeline would hold paths of this machine, which a cluster "
                         f"cannot reach: {', '.join(local)}. Give object-store URIs (e.g. "
                         f"--root gs://bucket/runs), or --allow-local to keep them.")


def set_image(spec: dict[str, Any], image: str) -> None:
    """Sets the container image of every step of a compiled pipeline spec (in place)."""
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    for executor in executors.values():
        if "container" in executor:
            executor["container"]["image"] = image


def submit_pipeline(config: PipelineConfig, *, host: str, image: str | None = None,
                    experiment: str | None = None, run_name: str | None = None,
                    arguments: dict[str, Any] | None = None) -> str:
    """Compiles the pipeline and creates a run on the KFP endpoint `host`; returns its id.

    Raises:
        RuntimeError: If the endpoint cannot be reached or refuses the run; the message
            names the host.
    """
    import kfp

    with tempfile.TemporaryDirectory() as directory:
        package = compile_pipeline(config, os.path.join(directory, "pipeline.yaml"),
                                   image=image)
        try:
            client = kfp.Client(host=host)
            run = client.create_run_from_pipeline_package(
                package, arguments=arguments or {}, run_name=run_name,
                experiment_name=experiment or config.name)
        except Exception as error:  # kfp raises urllib3/requests/ApiException errors
            raise RuntimeError(f"Could not create a run on the Kubeflow Pipelines endpoint "
                               f"{host!r}: {type(error).__name__}: {error}") from None
    return run.run_id
