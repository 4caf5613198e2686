"""Compiles the pipeline to Kubeflow IR YAML, and submits it to a Kubeflow Pipelines endpoint.

On a cluster every step runs in the project's container image (see the Dockerfile):
`image` replaces the image of every step in the compiled spec, so one build of the
components serves any registry. The compiled pipeline runs the evaluator beside the trainer.

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

from pipelines.config import PipelineConfig

__all__ = ["compile_pipeline", "set_image", "submit_pipeline"]

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
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=directory, delete=False) as f:
        temp = f.name
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
