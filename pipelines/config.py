"""The pipeline's YAML config: one file drives every step, checked before anything runs.

```yaml
pipeline: {name: chicago-taxi, root: ../../runs}     # root: local folder or gs://, s3://
data:                                               # the ingest step (IngestSettings)
  input_pattern: data/data.csv                      # a glob, or .../span-{SPAN}/*.csv
  format: csv                                       # csv | tfrecord | parquet
  label_column: tips
  splits: {train: 80, eval: 20}
  missing_values: ["", NA, "?"]                     # default: pandas' usual markers
  # csv_delimiter, csv_quotechar, column_names (no header), column_types, ...
transform: {spec: transform_spec.yaml}              # or .py, or {module: preprocessing.py}
model:                                              # the trainer (TrainerSettings) ...
  estimator: DNNLinearCombinedClassifier            # or module: trainer_module.py
  params: {dnn_hidden_units: [64, 32]}
training: {train_steps: 2000, batch_size: 256, resources: {cpu: "4", memory: 8G}}
                                                    # ... strategy, steps_per_loop, ...
                                                    # warm_start: true -> from the latest blessed run
evaluation:                                         # the evaluator (EvaluatorSettings)
  slices: [trip_start_hour, payment_type]
  thresholds: {auc: {lower_bound: 0.7, max_decrease: 0.01}}
serving:                                            # the pusher (PusherSettings)
  model_name: chicago_taxi                          # TF Serving's name (the model_names rule)
  base_dir: ../../serving                           # publishes base_dir/model_name/<version>/
  keep_versions: 5                                  # ... require_blessing, infra_validation,
                                                    # infra_validation_examples, ...
```

A step's section takes exactly its settings class's fields (`components/<step>/config.py`,
where each is documented), plus `resources:` (`components.common.resources.Resources`);
`model.module` and `data.format` are the YAML's names for `module_file` and `input_format`.
`data.input_pattern`, `data.span`, `serving.model_name` and `serving.base_dir` are not
settings but pipeline parameters (a run may override them).
Relative paths are resolved against the config file's folder. Every problem found is
reported at once, each with its place in the file (`training.train_steps: ...`), unknown
keys with the closest known name.

Example:
    >>> config = load_config("examples/chicago_taxi/pipeline.yaml")
    >>> config.trainer.estimator
    'DNNLinearCombinedClassifier'
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from typing import Any

import yaml

from components.common.resources import Resources
from components.common.settings import check_settings
from components.evaluator.config import EvaluatorSettings
from components.ingest.config import IngestSettings
from components.pusher.config import PusherSettings
from components.trainer.config import TrainerSettings
from components.transform.config import TransformSettings
from model_names import model_name_problem

__all__ = [
    "DEFAULT_RESOURCES",
    "ConfigError",
    "DataConfig",
    "PipelineConfig",
    "ServingConfig",
    "load_config",
    "parse_config",
]

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")  # a Kubernetes-safe run name


class ConfigError(ValueError):
    """A config with problems; `problems` lists each as "where: what"."""

    def __init__(self, origin: str, problems: list[str]):
        self.origin = origin
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{origin}: {len(self.problems)} problem(s) in the pipeline config:\n"
                         f"{lines}")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """The YAML's `data:` section: where the input is, and how the ingest step reads it.

    Attributes:
        input_pattern: The files (a pipeline parameter: a run may override it).
        span: The span to ingest, None for the latest (a pipeline parameter).
        settings: The ingest step's settings (`IngestSettings`: format, label, splits,
            missing values, CSV dialect, ...), with the YAML's `format` for `input_format`.
    """

    input_pattern: str
    span: int | None = None
    settings: IngestSettings = dataclasses.field(default_factory=IngestSettings)


@dataclasses.dataclass(frozen=True)
class ServingConfig:
    """The YAML's `serving:` section: where the pusher publishes, and how.

    Attributes:
        model_name: The model's name in TF Serving (a pipeline parameter: a run may
            override it).
        base_dir: The serving base; the pusher publishes `<base_dir>/<model_name>/<version>/`
            (a pipeline parameter).
        settings: The pusher's settings (`PusherSettings`: versions kept, blessing required,
            infra validation).
    """

    model_name: str
    base_dir: str
    settings: PusherSettings = dataclasses.field(default_factory=PusherSettings)


# Kubernetes requests of each step unless its section's `resources:` says otherwise.
DEFAULT_RESOURCES = {
    "ingest": Resources(cpu="2", memory="4G"),
    "transform": Resources(cpu="2", memory="4G"),
    "trainer": Resources(cpu="4", memory="8G"),
    "evaluator": Resources(cpu="2", memory="4G"),
    "pusher": Resources(cpu="1", memory="2G"),
    # The pipeline's bookkeeping steps (plan-model-dir, check-new-span, resolve-base-model,
    # record-run): they read and write a few small files.
    "bookkeeping": Resources(cpu="500m", memory="512Mi"),
}


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """The whole pipeline config: the composition of the steps' settings.

    Attributes:
        trainer: The trainer's settings (the YAML's `model:` and `training:` sections).
        evaluator: The evaluator's settings (the YAML's `evaluation:` section).
        resources: Each step's Kubernetes requests, by step name (`DEFAULT_RESOURCES`
            where a section gives none).
        warm_start: Start each run's model from the latest blessed run's
            (`training.warm_start`).
    """

    name: str
    root: str
    data: DataConfig
    transform: TransformSettings
    trainer: TrainerSettings
    evaluator: EvaluatorSettings
    serving: ServingConfig
    resources: Mapping[str, Resources] = dataclasses.field(
        default_factory=lambda: dict(DEFAULT_RESOURCES))
    warm_start: bool = False
    source: str = "<dict>"


def load_config(path: str) -> PipelineConfig:
    """Reads and checks the pipeline config at `path`.

    Raises:
        FileNotFoundError: If there is no such file.
        ConfigError: Listing every problem, each with its place in the file.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"The pipeline config {path!r} does not exist.")
    with open(path) as f:
        text = f.read()
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(path, [f"not valid YAML: {error}"]) from None
    return parse_config(raw, base_dir=os.path.dirname(os.path.abspath(path)), origin=path)


def parse_config(raw: Any, *, base_dir: str = ".", origin: str = "<dict>") -> PipelineConfig:
    """Checks a config given as data (the YAML file's content); see `load_config`."""
    checker = _Checker(base_dir)
    if not isinstance(raw, Mapping):
        raise ConfigError(origin, [f"the config must be a mapping of sections; got "
                                   f"{type(raw).__name__}"])
    known = ("pipeline", "data", "transform", "model", "training", "evaluation", "serving")
    for key in raw:
        if key not in known:
            checker.problem(str(key), f"unknown section; the sections are {list(known)}")
    pipeline = checker.section(raw, "pipeline", required=True)
    data = checker.section(raw, "data", required=True)
    transform = checker.section(raw, "transform", required=True)
    model = checker.section(raw, "model", required=True)
    training = checker.section(raw, "training")
    evaluation = checker.section(raw, "evaluation")
    serving = checker.section(raw, "serving", required=True)

    resources = dict(DEFAULT_RESOURCES)
    for step, section, where in (("ingest", data, "data"), ("transform", transform, "transform"),
                                 ("trainer", training, "training"), ("pusher", serving, "serving"),
                                 ("evaluator", evaluation, "evaluation")):
        given = section.get("resources") if isinstance(section, Mapping) else None
        resources[step] = (checker.settings(Resources, {f"{where}.resources": given})
                           if given is not None else DEFAULT_RESOURCES[step])
    warm_start = training.get("warm_start", False)
    if not isinstance(warm_start, bool):
        checker.problem("training.warm_start", f"must be true or false; got {warm_start!r}")
    trainer = checker.settings(
        TrainerSettings, {"model": model, "training": _without(training, _TRAINING_EXTRAS)},
        rename={"module": "module_file"})
    if trainer is not None and trainer.module_file is not None:
        key = "module" if "module" in model else "module_file"  # either name, as written
        module = checker.path(model, f"model.{key}")
        trainer = dataclasses.replace(trainer, module_file=module) if module else None
    config = PipelineConfig(
        name=checker.string(pipeline, "pipeline.name", required=True, pattern=_NAME,
                            hint="lower-case letters, digits and '-', e.g. chicago-taxi"),
        root=checker.path(pipeline, "pipeline.root", required=True, must_exist=False),
        data=_data(checker, data),
        transform=_transform(checker, transform),
        trainer=trainer,
        evaluator=checker.settings(EvaluatorSettings,
                                   {"evaluation": _without(evaluation, ("resources",))}),
        resources=resources, warm_start=warm_start is True,
        serving=_serving(checker, serving),
        source=origin,
    )
    checker.unknown_keys(pipeline, "pipeline", ("name", "root"))
    if checker.problems:
        raise ConfigError(origin, checker.problems)
    return config


def _data(checker: _Checker, data: Mapping) -> DataConfig:
    """`data:`: where the input is (pipeline parameters) and the ingest step's settings."""
    pattern = checker.string(data, "data.input_pattern", required=True)
    if pattern and "://" not in pattern and not os.path.isabs(pattern):
        pattern = os.path.normpath(os.path.join(checker.base_dir, pattern))
    span = data.get("span")
    if span is not None and (not isinstance(span, int) or isinstance(span, bool) or span < 0):
        checker.problem("data.span", f"must be a span number >= 0; got {span!r}")
    settings = checker.settings(IngestSettings,
                                {"data": _without(data, _DATA_LOCATION + ("resources",))},
                                rename={"format": "input_format"})
    if settings is not None and not {"train", "eval"} <= set(settings.splits):
        checker.problem("data.splits", "needs a 'train' and an 'eval' split; got "
                                       f"{sorted(settings.splits)}")
    return DataConfig(input_pattern=pattern, span=span, settings=settings)


def _transform(checker: _Checker, transform: Mapping) -> TransformSettings | None:
    """`transform:`: the transform step's settings, and its spec's own problems."""
    paths = {key: checker.path(transform, f"transform.{key}")
             for key in ("spec", "spec_file", "module", "module_file")
             if isinstance(transform, Mapping) and key in transform}
    given = dict(transform) if isinstance(transform, Mapping) else transform
    if isinstance(given, dict):
        given.update({k: v for k, v in paths.items() if v is not None})
    settings = checker.settings(TransformSettings, {"transform": _without(given, ("resources",))},
                                rename={"spec": "spec_file", "module": "module_file"})
    spec = paths.get("spec") or paths.get("spec_file")
    if settings is not None and spec is not None and os.path.isfile(spec):
        from components.transform.spec import SpecError
        from components.transform.spec_loading import load_spec

        try:  # the spec's own problems, each with its place, now rather than at build time
            load_spec(spec)
        except SpecError as error:
            for problem in error.problems:
                checker.problem("transform.spec", f"{os.path.basename(spec)}: {problem}")
    return settings


def _serving(checker: _Checker, serving: Mapping) -> ServingConfig:
    """`serving:`: where the pusher publishes (pipeline parameters) and the pusher's settings."""
    model_name = checker.string(serving, "serving.model_name", required=True)
    if model_name is not None and (problem := model_name_problem(model_name)) is not None:
        checker.problem("serving.model_name", problem)
    base_dir = checker.path(serving, "serving.base_dir", required=True, must_exist=False)
    settings = checker.settings(PusherSettings, {
        "serving": _without(serving, _SERVING_LOCATION + ("resources",))})
    return ServingConfig(model_name=model_name, base_dir=base_dir, settings=settings)


_TRAINING_EXTRAS = ("resources", "warm_start")  # training keys that are not trainer settings
_DATA_LOCATION = ("input_pattern", "span")  # data keys that are pipeline parameters
_SERVING_LOCATION = ("model_name", "base_dir")  # serving keys that are pipeline parameters


def _without(section: Any, keys: tuple[str, ...]) -> Any:
    if not isinstance(section, Mapping):
        return section
    return {k: v for k, v in section.items() if k not in keys}


class _Checker:
    """Collects problems instead of stopping at the first."""

    def __init__(self, base_dir: str):
        self.base_dir = base_dir
        self.problems: list[str] = []

    def problem(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")

    def settings(self, cls, sections: Mapping[str, Any], rename=None):
        """A step's settings from its sections (`check_settings`), or None with problems."""
        settings, problems = check_settings(cls, sections, rename=rename)
        self.problems.extend(problems)
        return settings

    def section(self, raw: Mapping, key: str, *, required: bool = False,
                where: str | None = None) -> Mapping:
        value = raw.get(key)
        if value is None:
            if required:
                self.problem(where or key, "missing section")
            return {}
        if not isinstance(value, Mapping):
            self.problem(where or key, f"must be a mapping; got {value!r}")
            return {}
        return value

    def unknown_keys(self, values: Mapping, where: str, known: tuple[str, ...]) -> None:
        for key in values:
            if key not in known:
                self.problem(f"{where}.{key}", f"unknown key; {where} takes {list(known)}")

    def string(self, values: Mapping, where: str, *, required: bool = False,
               default: str | None = None, pattern: re.Pattern | None = None,
               hint: str = "") -> str | None:
        key = where.rsplit(".", 1)[-1]
        value = values.get(key, default)
        if value is None:
            if required:
                self.problem(where, "missing")
            return None
        if not isinstance(value, str) or not value:
            self.problem(where, f"must be a non-empty string; got {value!r}")
            return None
        if pattern is not None and not pattern.match(value):
            self.problem(where, f"{value!r} is not a valid name ({hint})")
        return value

    def path(self, values: Mapping, where: str, *, required: bool = False,
             must_exist: bool = True) -> str | None:
        value = self.string(values, where, required=required)
        if value is None:
            return None
        if "://" in value:
            return value
        path = value if os.path.isabs(value) else os.path.normpath(
            os.path.join(self.base_dir, value))
        if must_exist and not os.path.exists(path):
            self.problem(where, f"{value!r} does not exist (looked for {path})")
        return path
