"""The transform step's settings (`TransformSettings`) and executor config (`TransformConfig`:
the settings plus the artifact URIs), frozen and checked at construction."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from components.common.settings import Settings

DEFAULT_ANALYZE_SPLITS = ("train",)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TransformSettings(Settings):
    """What drives the transform step: its settings, each declared once here.

    The pipeline YAML's `transform:` section (`spec` and `module` are its names for
    `spec_file` and `module_file`) and the KFP component's `settings` parameter come from
    these fields.

    Args:
        spec_file: A feature spec: YAML (see `spec.py`), or Python with estimator_lib
            feature columns when it ends in `.py` (see `python_spec.py`). Exactly one of
            `spec_file` and `module_file`.
        module_file: A Python file defining `preprocessing_fn` (see `user_module.py`).
        analyze_splits: The splits the analyzers (vocabularies, quantiles, means) see.
            Defaults to ("train",).
        transform_splits: The splits to transform and write. Defaults to None: every split
            of the examples.
        beam_pipeline_args: Beam options, e.g. ("--direct_running_mode=multi_processing",
            "--direct_num_workers=2") or ("--runner=DataflowRunner", "--project=...").
            No runner, or DirectRunner, runs on Beam's FnApiRunner (see `beam_options.py`).

    Raises:
        TypeError: If a field has the wrong type.
        ValueError: If not exactly one of `spec_file` and `module_file` is given, or a split
            list is empty or repeats a name.

    Example:
        >>> TransformSettings(spec_file="examples/chicago_taxi/transform_spec.yaml")
    """

    spec_file: str | None = None
    module_file: str | None = None
    analyze_splits: tuple[str, ...] = DEFAULT_ANALYZE_SPLITS
    transform_splits: tuple[str, ...] | None = None
    beam_pipeline_args: tuple[str, ...] = ()

    def __post_init__(self):
        for name in ("spec_file", "module_file"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise TypeError(f"`{name}` must be a path (a non-empty string) or None, got "
                                f"{value!r}.")
        if (self.spec_file is None) == (self.module_file is None):
            raise ValueError(
                "`spec_file`: give exactly one of a feature spec (YAML or .py; the pipeline "
                "YAML's `spec`) and a Python file with preprocessing_fn (`module_file`, the "
                "pipeline YAML's `module`); got "
                f"spec_file={self.spec_file!r}, module_file={self.module_file!r}.")
        object.__setattr__(self, "analyze_splits",
                           _split_names("analyze_splits", self.analyze_splits))
        if self.transform_splits is not None:
            object.__setattr__(self, "transform_splits",
                               _split_names("transform_splits", self.transform_splits))
        args = self.beam_pipeline_args
        if isinstance(args, str) or not all(isinstance(a, str) for a in args):
            raise TypeError(f"`beam_pipeline_args` must be a list of strings, got {args!r}.")
        object.__setattr__(self, "beam_pipeline_args", tuple(args))


@dataclasses.dataclass(frozen=True, kw_only=True)
class TransformConfig(TransformSettings):
    """The transform step's settings plus where it reads and writes: what `executor.run`
    takes.

    Args:
        examples_uri: The raw examples: `Split-<name>/*.tfrecord.gz` folders.
        schema_uri: The folder holding `schema.pbtxt` (or the .pbtxt file itself).
        transformed_examples_uri: Where the transformed `Split-<name>/` folders go.
        transform_graph_uri: Where the transform graph (a TFTransformOutput folder) goes.
        **settings: `TransformSettings`.

    Example:
        >>> config = TransformConfig(
        ...     examples_uri="/data/ingest/examples", schema_uri="/data/ingest/schema",
        ...     transformed_examples_uri="/data/transform/examples",
        ...     transform_graph_uri="/data/transform/graph",
        ...     spec_file="examples/chicago_taxi/transform_spec.yaml")
        >>> result = run(config)
    """

    examples_uri: str
    schema_uri: str
    transformed_examples_uri: str
    transform_graph_uri: str

    def __post_init__(self):
        for name in ("examples_uri", "schema_uri", "transformed_examples_uri",
                     "transform_graph_uri"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise TypeError(f"`{name}` must be a non-empty string (a path or URI), got "
                                f"{value!r}.")
        super().__post_init__()
        if self.transformed_examples_uri.rstrip("/") == self.examples_uri.rstrip("/"):
            raise ValueError(f"`transformed_examples_uri` ({self.transformed_examples_uri!r}) "
                             "must differ from `examples_uri`: the step would overwrite its "
                             "input.")

    def replace(self, **changes) -> TransformConfig:
        """A copy with `changes` applied (and checked)."""
        return dataclasses.replace(self, **changes)


def _split_names(field: str, names: Sequence[str]) -> tuple[str, ...]:
    if isinstance(names, str):
        raise TypeError(f"`{field}` must be a list of split names, got the string {names!r}; "
                        f"write [{names!r}].")
    names = tuple(names)
    if not names:
        raise ValueError(f"`{field}` is empty; name at least one split.")
    for name in names:
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"`{field}` holds {name!r}, which is not a split name "
                             "(a non-empty string without '/').")
    if len(set(names)) != len(names):
        raise ValueError(f"`{field}` ({list(names)!r}) names a split twice.")
    return names
