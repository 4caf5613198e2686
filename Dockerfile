# The image every pipeline step runs in: the project and its pinned dependencies.
#   CPU: docker build -t REGISTRY/estimator-pipelines:0.1.0 .
#   GPU: docker build --build-arg BASE_IMAGE=tensorflow/tensorflow:2.21.0-gpu \
#          -t REGISTRY/estimator-pipelines:0.1.0-gpu .
# then `estpipe compile --image REGISTRY/estimator-pipelines:0.1.0` (or set
# ESTIMATOR_PIPELINES_IMAGE). The install step is the `pip install` that `make test` runs.
ARG BASE_IMAGE=tensorflow/tensorflow:2.21.0
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    TF_CPP_MIN_LOG_LEVEL=2
WORKDIR /opt/estimator-pipelines
COPY pyproject.toml README.md ./
COPY estimator_lib/ estimator_lib/
COPY components/ components/
COPY console/ console/
COPY model_names/ model_names/
COPY pipelines/ pipelines/
COPY serving/ serving/
COPY examples/ examples/
RUN python -m pip install --upgrade pip && python -m pip install .

# KFP runs each step as `python -m kfp.dsl.executor_main ...` in this image.
ENTRYPOINT []
