"""The evaluator's settings (`EvaluatorSettings`) and executor config (`EvaluatorConfig`:
the settings plus what it watches, reads and writes).

The files it writes are laid out in `components/artifacts/evaluation.py` (metrics log,
candidate exports, report, evaluation.json) and `components/artifacts/blessing.py`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from components.artifacts import evaluation
from components.common.settings import Settings
from components.evaluator.thresholds import parse_thresholds
from model_names import validate_model_name

__all__ = ["EvaluatorConfig", "EvaluatorSettings"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class EvaluatorSettings(Settings):
    """What the evaluator judges and how: its settings, each declared once here.

    The pipeline YAML's `evaluation:` section and the KFP component's `settings` parameter
    come from these fields.

    Args:
        thresholds: `{metric: {bound: number}}` (see `thresholds.py`); {} validates nothing
            and blesses with a loud warning that nothing was validated.
        slices: Raw feature keys to slice the final analysis by, e.g. ("payment_type",).
        eval_split: The split evaluated. Defaults to "eval".
        eval_steps: Batches per checkpoint evaluation; None (default) reads the whole split.
        eval_batch_size: Examples per batch. Defaults to 1024.
        poll_seconds: Seconds between looks at the model_dir. Defaults to 5.
        timeout_seconds: Give up when no new checkpoint appeared for this long and training
            is not marked done. Defaults to 3600.
        calibration_bins: Bins of the calibration plot and data. Defaults to 10.

    Raises:
        TypeError, ValueError: For a bad field, naming it (thresholds: unknown metrics or
            bounds, listing the known ones).

    Example:
        >>> EvaluatorSettings(thresholds={"auc": {"lower_bound": 0.7, "max_decrease": 0.01}},
        ...                   slices=("trip_start_hour", "payment_type"))
    """

    thresholds: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    slices: tuple[str, ...] = ()
    eval_split: str = "eval"
    eval_steps: int | None = None
    eval_batch_size: int = 1024
    poll_seconds: float = 5.0
    timeout_seconds: float = 3600.0
    calibration_bins: int = 10

    def __post_init__(self):
        try:
            object.__setattr__(self, "thresholds", parse_thresholds(self.thresholds))
        except (TypeError, ValueError) as error:
            raise type(error)(f"`thresholds`: {error}") from None
        if isinstance(self.slices, str) or not isinstance(self.slices, Sequence):
            raise TypeError(f"`slices` must be a list of raw feature keys, e.g. "
                            f"['payment_type']; received {self.slices!r}.")
        for key in self.slices:
            if not isinstance(key, str) or not key:
                raise ValueError(f"`slices` must hold feature keys (non-empty strings); "
                                 f"received {key!r} in {list(self.slices)!r}.")
        if len(set(self.slices)) != len(self.slices):
            raise ValueError(f"`slices` repeats a key: {list(self.slices)!r}.")
        object.__setattr__(self, "slices", tuple(self.slices))
        if not isinstance(self.eval_split, str) or not self.eval_split or "/" in self.eval_split:
            raise ValueError(f"`eval_split` ({self.eval_split!r}) must be a split name, "
                             "e.g. 'eval'.")
        for name in ("eval_batch_size", "calibration_bins"):
            _positive_int(name, getattr(self, name))
        if self.eval_steps is not None:
            _positive_int("eval_steps", self.eval_steps)
        for name in ("poll_seconds", "timeout_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"`{name}` ({value!r}) must be a positive number of "
                                 "seconds.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class EvaluatorConfig(EvaluatorSettings):
    """The evaluator's settings plus what it watches, reads and writes: what `executor.run`
    takes.

    Args:
        model_dir: The trainer's model_dir (checkpoints, `model_recipe.json`, the
            training-done mark). It may not exist yet: the evaluator waits for it.
        examples_uri: The ingest step's raw examples (`Split-<name>/` shards): the final
            analysis, the baseline and the slices read them.
        transformed_examples_uri: The transform step's examples: each checkpoint's
            streaming evaluation reads them.
        transform_graph_uri: The transform graph the model was trained behind.
        evaluation_uri: The evaluation artifact folder (`components.artifacts.evaluation`).
        blessing_uri: The blessing artifact folder (`blessing.json`, read by the pusher).
        report_uri: Where the HTML report goes. Defaults to `<evaluation_uri>/report.html`.
        serving_base_uri / model_name: The baseline is the highest integer version under
            `<serving_base_uri>/<model_name>/` (TF Serving's layout); none there (the first
            run) skips change thresholds. Give both or neither.
        baseline_model_uri: An explicit baseline instead: a SavedModel folder, a trainer
            model artifact (with `serving_model/`) or a TF Serving model folder (versions).
        model_uri: The trainer's finished model artifact, when the evaluator runs after the
            trainer: its `serving_model/` is scored when it is of the checkpoint judged,
            instead of exporting that checkpoint again. None beside the trainer.
        **settings: `EvaluatorSettings`.

    Raises:
        TypeError, ValueError: For a bad field, naming it.

    Example:
        >>> EvaluatorConfig(
        ...     model_dir="/runs/1/model/model_dir", examples_uri="/runs/1/ingest/examples",
        ...     transformed_examples_uri="/runs/1/transform/examples",
        ...     transform_graph_uri="/runs/1/transform/graph",
        ...     evaluation_uri="/runs/1/evaluator/evaluation",
        ...     blessing_uri="/runs/1/evaluator/blessing",
        ...     thresholds={"auc": {"lower_bound": 0.7, "max_decrease": 0.01}},
        ...     slices=("trip_start_hour", "payment_type"),
        ...     serving_base_uri="/srv/models", model_name="chicago_taxi")
    """

    model_dir: str
    examples_uri: str
    transformed_examples_uri: str
    transform_graph_uri: str
    evaluation_uri: str
    blessing_uri: str
    report_uri: str | None = None
    serving_base_uri: str | None = None
    model_name: str | None = None
    baseline_model_uri: str | None = None
    model_uri: str | None = None

    def __post_init__(self):
        for name in ("model_dir", "examples_uri", "transformed_examples_uri",
                     "transform_graph_uri", "evaluation_uri", "blessing_uri"):
            _uri(name, getattr(self, name))
        for name in ("report_uri", "serving_base_uri", "baseline_model_uri", "model_uri"):
            if getattr(self, name) is not None:
                _uri(name, getattr(self, name))
        super().__post_init__()
        if (self.serving_base_uri is None) != (self.model_name is None):
            raise ValueError("Give both `serving_base_uri` and `model_name` (the baseline is "
                             "the newest version under <serving_base_uri>/<model_name>/) or "
                             f"neither; received serving_base_uri={self.serving_base_uri!r}, "
                             f"model_name={self.model_name!r}.")
        if self.model_name is not None:
            try:
                validate_model_name(self.model_name)
            except (TypeError, ValueError) as error:
                raise type(error)(f"`model_name`: {error}") from None
        if self.baseline_model_uri is not None and self.serving_base_uri is not None:
            raise ValueError("Give at most one baseline: `baseline_model_uri` "
                             f"({self.baseline_model_uri!r}) or `serving_base_uri` + "
                             f"`model_name` ({self.serving_base_uri!r}, {self.model_name!r}).")

    @property
    def metrics_log_uri(self) -> str:
        """`<evaluation_uri>/metrics.jsonl`."""
        return evaluation.metrics_log_path(self.evaluation_uri)

    @property
    def resolved_report_uri(self) -> str:
        """`report_uri`, or `<evaluation_uri>/report.html`."""
        return self.report_uri or evaluation.report_path(self.evaluation_uri)


def _uri(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise TypeError(f"`{name}` must be a non-empty string (a path or URI); received "
                        f"{value!r}.")


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be an integer; received {value!r}.")
    if value < 1:
        raise ValueError(f"`{name}` must be >= 1; received {value}.")
