"""The pusher's settings (`PusherSettings`) and its executor config (`PusherConfig`: the
settings plus where the model comes from and goes to), frozen and checked at construction.

The model name follows the project's one model-name rule (`model_names`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from components.common.settings import Settings
from model_names import validate_model_name

__all__ = ["PusherConfig", "PusherSettings"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class PusherSettings(Settings):
    """How the pusher publishes: its settings, each declared once here.

    The pipeline YAML's `serving:` section (besides `model_name` and `base_dir`, which a run
    may override) and the KFP component's `settings` parameter come from these fields.

    Args:
        keep_versions: How many versions to keep under `<serving_base_uri>/<model_name>/`;
            older ones are deleted after a push, except the one just pushed and those a
            rollback republished while that rollback's version is kept. Defaults to 5.
        require_blessing: Whether the evaluator's blessing is required. Defaults to True.
            With False and no blessing wired in, the model is pushed unblessed; a blessing
            that is given always decides.
        infra_validation: Whether to query the model in a fresh process before publishing
            it (a model that does not load or answer is refused). Defaults to True; False
            publishes without querying (not recommended).
        infra_validation_split: The raw examples' split the sample requests come from.
            Defaults to "eval".
        infra_validation_examples: How many raw examples each serving signature is run on
            (fewer if the split holds fewer). Defaults to 16.
        infra_validation_timeout_seconds: The time the fresh process gets to start, load the
            model and answer every signature; a model that takes longer is refused.
            Defaults to 300.

    Raises:
        TypeError, ValueError: For a bad field, naming it.

    Example:
        >>> PusherSettings(keep_versions=3, infra_validation_examples=32)
    """

    keep_versions: int = 5
    require_blessing: bool = True
    infra_validation: bool = True
    infra_validation_split: str = "eval"
    infra_validation_examples: int = 16
    infra_validation_timeout_seconds: float = 300.0

    def __post_init__(self):
        for name in ("keep_versions", "infra_validation_examples"):
            _positive_int(name, getattr(self, name))
        for name in ("require_blessing", "infra_validation"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"`{name}` must be true or false; received "
                                f"{getattr(self, name)!r}.")
        split = self.infra_validation_split
        if not isinstance(split, str) or not split or "/" in split:
            raise ValueError(f"`infra_validation_split` ({split!r}) must be a split name, "
                             "e.g. 'eval'.")
        timeout = self.infra_validation_timeout_seconds
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise ValueError(f"`infra_validation_timeout_seconds` ({timeout!r}) must be a "
                             "positive number of seconds.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class PusherConfig(PusherSettings):
    """The pusher's settings plus what it reads and where it publishes: what `executor.run`
    takes.

    Args:
        model_uri: The trainer's model artifact: `serving_model/` (a SavedModel taking
            serialized tf.Example) and optionally `trainer_result.json`.
        serving_base_uri: The root TF Serving watches; the model goes to
            `<serving_base_uri>/<model_name>/<version>/`.
        model_name: The model's name in TF Serving (the `model_names` rule).
        pushed_model_uri: The pusher's output artifact folder; `push_record.json` goes there.
        blessing_uri: The evaluator's blessing artifact (`blessing.json`). Defaults to None,
            which needs `require_blessing=False`.
        examples_uri: Raw examples (`Split-<split>/*.tfrecord.gz`) for the infra validation.
            Required unless `infra_validation` is False.
        **settings: `PusherSettings`.

    Raises:
        TypeError: If a field has the wrong type.
        ValueError: If a value is out of range, the model name is not valid, no blessing is
            given while one is required, or no examples are given for the infra validation.

    Example:
        >>> config = PusherConfig(
        ...     model_uri="/pipeline/trainer/model", blessing_uri="/pipeline/evaluator/blessing",
        ...     examples_uri="/pipeline/ingest/examples", pushed_model_uri="/pipeline/pusher/out",
        ...     serving_base_uri="/srv/models", model_name="chicago_taxi", keep_versions=3)
        >>> record = run(config)
    """

    model_uri: str
    serving_base_uri: str
    model_name: str
    pushed_model_uri: str
    blessing_uri: str | None = None
    examples_uri: str | None = None

    def __post_init__(self):
        for name in ("model_uri", "serving_base_uri", "pushed_model_uri"):
            _check_uri(name, getattr(self, name), optional=False)
        for name in ("blessing_uri", "examples_uri"):
            _check_uri(name, getattr(self, name), optional=True)
        try:
            validate_model_name(self.model_name)
        except (TypeError, ValueError) as error:
            raise type(error)(f"`model_name`: {error}") from None
        super().__post_init__()
        if self.require_blessing and self.blessing_uri is None:
            raise ValueError(
                "`blessing_uri` is None but `require_blessing` is True: wire the evaluator's "
                "blessing in, or set `require_blessing=False` to push unvalidated models.")
        if self.infra_validation and self.examples_uri is None:
            raise ValueError(
                "`examples_uri` is None, but the infra validation needs raw examples to "
                "query the model with: give the ingest step's examples, or set "
                "`infra_validation=False` to publish without querying the model.")
        if self.serving_base_uri.rstrip("/") == self.model_uri.rstrip("/"):
            raise ValueError(f"`serving_base_uri` ({self.serving_base_uri!r}) must differ from "
                             "`model_uri`.")

    def replace(self, **changes) -> PusherConfig:
        """A copy with `changes` applied (and checked)."""
        return dataclasses.replace(self, **changes)


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be an integer; received {value!r}.")
    if value < 1:
        raise ValueError(f"`{name}` must be >= 1; received {value}.")


def _check_uri(name: str, value: object, *, optional: bool) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        expected = "a path or URI (a non-empty string)" + (" or None" if optional else "")
        raise TypeError(f"`{name}` must be {expected}, got {value!r}.")
