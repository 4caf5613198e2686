"""The pusher's configuration: flat, frozen dataclasses, checked at construction."""

from __future__ import annotations

import dataclasses
import re

__all__ = ["InfraValidation", "PusherConfig", "validate_model_name"]

# What TF Serving accepts as a model name and what is safe as one folder name on every file
# system: a letter or digit first (no ".", "..", hidden or "_"-prefixed names), then letters,
# digits, "_", "-" and ".". No "/" or "\", so a name never leaves `<serving_base>/`.
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def validate_model_name(name: object) -> str:
    """Checks a model name for `<serving_base>/<model_name>/` and returns it.

    Args:
        name: the name TF Serving clients will ask for.

    Returns:
        `name`, unchanged.

    Raises:
        TypeError: if `name` is not a string.
        ValueError: if `name` is empty, longer than 128 characters, starts with anything
            but a letter or digit, or holds characters other than letters, digits, "_",
            "-" and "." (a "/" or ".." would escape the serving base).

    Example:
        >>> validate_model_name("chicago_taxi")
        'chicago_taxi'
    """
    if not isinstance(name, str):
        raise TypeError(f"`model_name` must be a string, got {type(name).__name__} {name!r}.")
    if not _MODEL_NAME.fullmatch(name) or ".." in name:
        raise ValueError(
            f"`model_name` ({name!r}) is not a valid model name: use 1 to 128 letters, digits, "
            "'_', '-' or '.', starting with a letter or digit (e.g. 'chicago_taxi'). It names "
            "the folder `<serving_base>/<model_name>/` and the model TF Serving clients ask "
            "for.")
    return name


@dataclasses.dataclass(frozen=True, kw_only=True)
class InfraValidation:
    """How the pusher queries a model in a fresh process before it publishes it.

    Args:
        split: The examples split the sample requests come from. Defaults to "eval".
        num_examples: How many raw examples each serving signature is run on (fewer if the
            split holds fewer). Defaults to 16.
        timeout_seconds: The time the fresh process gets to start, load the model and answer
            every signature; a model that takes longer is refused. Defaults to 300.

    Raises:
        TypeError, ValueError: If a field has the wrong type or value.

    Example:
        >>> InfraValidation(split="eval", num_examples=32, timeout_seconds=600)
    """

    split: str = "eval"
    num_examples: int = 16
    timeout_seconds: float = 300.0

    def __post_init__(self):
        if not isinstance(self.split, str) or not self.split or "/" in self.split:
            raise ValueError(f"`split` ({self.split!r}) must be a split name, e.g. 'eval'.")
        if (not isinstance(self.num_examples, int) or isinstance(self.num_examples, bool)
                or self.num_examples < 1):
            raise ValueError(
                f"`num_examples` ({self.num_examples!r}) must be a positive integer.")
        if (not isinstance(self.timeout_seconds, int | float)
                or isinstance(self.timeout_seconds, bool) or not self.timeout_seconds > 0):
            raise ValueError(
                f"`timeout_seconds` ({self.timeout_seconds!r}) must be a positive number.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class PusherConfig:
    """What the pusher publishes, where to, and the checks it runs first.

    Args:
        model_uri: The trainer's model artifact: `serving_model/` (a SavedModel taking
            serialized tf.Example) and optionally `trainer_result.json`.
        serving_base_uri: The root TF Serving watches; the model goes to
            `<serving_base_uri>/<model_name>/<version>/`.
        model_name: The model's name in TF Serving (see `validate_model_name`).
        pushed_model_uri: The pusher's output artifact folder; `push_record.json` goes there.
        blessing_uri: The evaluator's blessing artifact (`blessing.json`). Defaults to None,
            which needs `require_blessing=False`.
        examples_uri: Raw examples (`Split-<split>/*.tfrecord.gz`) for the infra validation.
            Required unless `infra_validation` is None.
        keep_versions: How many versions to keep under `<serving_base_uri>/<model_name>/`;
            older ones are deleted after a push, except the one just pushed and those a
            rollback republished while that rollback's version is kept. Defaults to 5.
        require_blessing: Whether a blessing is required. Defaults to True. With False and no
            `blessing_uri` the model is pushed unblessed; a blessing that is given always
            decides.
        infra_validation: How to query the model before publishing it. Defaults to
            `InfraValidation()`; None publishes without querying (not recommended).

    Raises:
        TypeError: If a field has the wrong type.
        ValueError: If a value is out of range, the model name is not valid, no blessing is
            given while one is required, or no examples are given for the infra validation.

    Example:
        >>> config = PusherConfig(
        ...     model_uri="/pipeline/trainer/model", blessing_uri="/pipeline/evaluator/blessing",
        ...     examples_uri="/pipeline/ingest/examples", pushed_model_uri="/pipeline/pusher/out",
        ...     serving_base_uri="/srv/models", model_name="chicago_taxi")
        >>> record = run(config)
    """

    model_uri: str
    serving_base_uri: str
    model_name: str
    pushed_model_uri: str
    blessing_uri: str | None = None
    examples_uri: str | None = None
    keep_versions: int = 5
    require_blessing: bool = True
    infra_validation: InfraValidation | None = dataclasses.field(default_factory=InfraValidation)

    def __post_init__(self):
        for name in ("model_uri", "serving_base_uri", "pushed_model_uri"):
            _check_uri(name, getattr(self, name), optional=False)
        for name in ("blessing_uri", "examples_uri"):
            _check_uri(name, getattr(self, name), optional=True)
        validate_model_name(self.model_name)
        if (not isinstance(self.keep_versions, int) or isinstance(self.keep_versions, bool)
                or self.keep_versions < 1):
            raise ValueError(f"`keep_versions` ({self.keep_versions!r}) must be a positive "
                             "integer: the newest versions to keep serving.")
        if not isinstance(self.require_blessing, bool):
            raise TypeError(f"`require_blessing` must be a bool, got {self.require_blessing!r}.")
        if self.require_blessing and self.blessing_uri is None:
            raise ValueError(
                "`blessing_uri` is None but `require_blessing` is True: wire the evaluator's "
                "blessing in, or set `require_blessing=False` to push unvalidated models.")
        if self.infra_validation is not None:
            if not isinstance(self.infra_validation, InfraValidation):
                raise TypeError("`infra_validation` must be an InfraValidation or None, got "
                                f"{type(self.infra_validation).__name__}.")
            if self.examples_uri is None:
                raise ValueError(
                    "`examples_uri` is None, but the infra validation needs raw examples to "
                    "query the model with: give the ingest step's examples, or set "
                    "`infra_validation=None` to publish without querying the model.")
        if self.serving_base_uri.rstrip("/") == self.model_uri.rstrip("/"):
            raise ValueError(f"`serving_base_uri` ({self.serving_base_uri!r}) must differ from "
                             "`model_uri`.")

    def replace(self, **changes) -> PusherConfig:
        """A copy with `changes` applied (and checked)."""
        return dataclasses.replace(self, **changes)


def _check_uri(name: str, value: object, *, optional: bool) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        expected = "a path or URI (a non-empty string)" + (" or None" if optional else "")
        raise TypeError(f"`{name}` must be {expected}, got {value!r}.")
