"""Checkpoints keyed by stable variable names; restore across modes; warm start.

A checkpoint holds `global_step` and a dict of variables keyed by the names
`VariableStore` gives them (`dense/kernel`, `optimizer/dense/kernel/accumulator`, ...). Keras metric state is
not saved (it is evaluation state, as local variables were in the legacy Estimator).
Writes are atomic: TensorFlow writes the data under a temporary name and renames it, and
the `checkpoint` state file is replaced atomically after the data is in place.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Mapping, Sequence

import tensorflow as tf

from estimator_lib._checkpoint_files import list_variables, load_variable, resolve_checkpoint
from estimator_lib.vocab_info import VocabInfo

__all__ = [
    "CHECKPOINT_NAME",
    "WarmStartSettings",
    "as_warm_start_settings",
    "latest_checkpoint",
    "list_variables",
    "load_variable",
    "make_checkpoint",
    "resolve_checkpoint",
    "restore",
    "warm_start",
]

logger = logging.getLogger("estimator_lib")

CHECKPOINT_NAME = "model.ckpt"


def make_checkpoint(global_step: tf.Variable, variables: Mapping[str, tf.Variable]):
    """A `tf.train.Checkpoint` over the global step and named model variables."""
    return tf.train.Checkpoint(global_step=global_step, variables=dict(variables))


def latest_checkpoint(model_dir: str | None) -> str | None:
    """The newest checkpoint prefix in `model_dir`, or None."""
    if not model_dir or not tf.io.gfile.isdir(model_dir):
        return None
    return tf.train.latest_checkpoint(model_dir)


def restore(checkpoint: tf.train.Checkpoint, checkpoint_path: str,
            variables: Mapping[str, tf.Variable], *, training: bool = False) -> None:
    """Restores `variables` from `checkpoint_path`, checking that the model matches it.

    Every variable must be in the checkpoint with the same shape. Resuming training
    (`training=True`) needs all of them, optimizer state included: an optimizer slot that
    silently started over would change the training without anyone noticing. Evaluation,
    prediction and export need every trainable variable; a non-trainable one they create
    that training did not (evaluation state of a model_fn) keeps its initial value, with
    a warning that names it. Only a warm start (`warm_start`) loads part of a model.

    Raises:
        ValueError: If a variable is missing or has another shape; the message names them.
    """
    saved = list_variables(checkpoint_path)
    missing, mismatched, skipped = [], [], []
    for name, variable in variables.items():
        if name not in saved:
            (missing if training or variable.trainable else skipped).append(name)
            continue
        if list(variable.shape) != list(saved[name][1]):
            mismatched.append(f"{name}: model {list(variable.shape)}, checkpoint {saved[name][1]}")
    if missing or mismatched:
        raise ValueError(
            f"The model does not match checkpoint {checkpoint_path!r}. "
            + (f"Missing from the checkpoint: {missing}. " if missing else "")
            + (f"Shape differs: {mismatched}. " if mismatched else "")
            + "Use a fresh model_dir for a changed model, with warm_start_from=WarmStartSettings"
            "(<old checkpoint>) to load what matches."
        )
    if skipped:
        logger.warning("Not in checkpoint %s, left at their initial values: %s",
                       checkpoint_path, skipped)
    checkpoint.read(checkpoint_path).expect_partial()


@dataclasses.dataclass(frozen=True)
class WarmStartSettings:
    """Which variables to initialize from another model's checkpoint.

    Args:
        ckpt_to_initialize_from: A checkpoint prefix or a model_dir (its latest checkpoint):
            this library's, or a name-based one (TF1 `Saver`, legacy tf.estimator), whose
            variables this model reaches through `var_name_to_prev_var_name`.
        vars_to_warm_start: A regex (matched at the start of the name) or a list of
            names/regexes. Default `'.*'`: every trainable variable, as the legacy
            Estimator did. None warm-starts only the variables of `var_name_to_vocab_info`.
        var_name_to_prev_var_name: Dict from a name in this model to its name in the
            checkpoint, for renamed variables.
        skip_mismatch: Skip (and log) variables whose shape differs from the checkpoint's
            instead of failing, as Keras' `load_weights(skip_mismatch=True)` does. Default
            False. For a table whose vocabulary grew, `var_name_to_vocab_info` keeps the
            rows of known tokens instead.
        var_name_to_vocab_info: Dict from a variable name in this model to an
            `el.VocabInfo`: the variable's rows (or columns) are remapped by token from the
            old vocabulary to the new one, new rows initialized by its backup initializer.
            These variables are warm-started whether or not `vars_to_warm_start` selects
            them; a name that is not a variable of the model is an error.

    Example:
        >>> ws = WarmStartSettings("/tmp/old_model", vars_to_warm_start="dense.*")
        >>> legacy = WarmStartSettings(  # from a tf.estimator model_dir
        ...     "/tmp/tf1_model", vars_to_warm_start=["out/kernel"],
        ...     var_name_to_prev_var_name={"out/kernel": "dnn/logits/kernel"})
    """

    ckpt_to_initialize_from: str
    vars_to_warm_start: str | Sequence[str] | None = ".*"
    var_name_to_prev_var_name: Mapping[str, str] | None = None
    skip_mismatch: bool = False
    var_name_to_vocab_info: Mapping[str, VocabInfo] | None = None

    def __post_init__(self):
        object.__setattr__(self, "ckpt_to_initialize_from", os.fspath(self.ckpt_to_initialize_from))
        for name, info in (self.var_name_to_vocab_info or {}).items():
            if not isinstance(info, VocabInfo):
                raise TypeError(f"`var_name_to_vocab_info`[{name!r}] must be an el.VocabInfo; "
                                f"received {info!r}.")


def as_warm_start_settings(value) -> WarmStartSettings | None:
    """Accepts a path or `WarmStartSettings` (or None)."""
    if value is None or isinstance(value, WarmStartSettings):
        return value
    if isinstance(value, str | os.PathLike):
        return WarmStartSettings(os.fspath(value))
    raise TypeError(
        f"`warm_start_from` must be a path or WarmStartSettings; received {type(value).__name__}."
    )


def warm_start(settings: WarmStartSettings, variables: Mapping[str, tf.Variable]) -> list[str]:
    """Assigns matching variables from the warm-start checkpoint; returns their names.

    Raises:
        ValueError: If a variable selected by name is not in the checkpoint, or shapes differ.
    """
    path = resolve_checkpoint(settings.ckpt_to_initialize_from)
    saved = list_variables(path)
    patterns = settings.vars_to_warm_start
    if patterns is None:  # Only the variables of var_name_to_vocab_info, as tf.estimator.
        selected = []
    elif isinstance(patterns, str):
        selected = [n for n, v in variables.items() if v.trainable and re.match(patterns, n)]
    else:
        selected = [n for n in variables if any(re.match(p, n) for p in patterns)]
    vocab_infos = dict(settings.var_name_to_vocab_info or {})
    unknown = sorted(set(vocab_infos) - set(variables))
    if unknown:
        raise ValueError(
            f"Warm start: `var_name_to_vocab_info` names {unknown}, which are not variables of "
            f"the model; its variables are {sorted(variables)}."
        )
    selected += [n for n in vocab_infos if n not in selected]
    renames = dict(settings.var_name_to_prev_var_name or {})
    unknown = sorted(set(renames) - set(variables))
    if unknown:
        raise ValueError(
            f"Warm start: `var_name_to_prev_var_name` names {unknown}, which are not variables "
            f"of the model; its variables are {sorted(variables)}."
        )
    reader = tf.train.load_checkpoint(path)
    warmed, skipped, absent = [], [], []
    for name in selected:
        previous = renames.get(name, name)
        if name in vocab_infos:
            if previous not in saved:
                raise ValueError(
                    f"Warm start: {previous!r} (for {name!r}) is not in checkpoint {path!r}."
                )
            variable = variables[name]
            variables[name].assign(vocab_infos[name].remap(
                reader.get_tensor(saved[previous][0]), variable.shape, variable.dtype, name))
            warmed.append(name)
            continue
        if previous not in saved:
            if name in renames or not isinstance(patterns, str):
                raise ValueError(
                    f"Warm start: {previous!r} (for {name!r}) is not in checkpoint {path!r}."
                )
            absent.append(name)
            continue
        value = reader.get_tensor(saved[previous][0])
        if list(value.shape) != list(variables[name].shape):
            if settings.skip_mismatch:
                skipped.append(f"{name} (model {list(variables[name].shape)}, checkpoint "
                               f"{list(value.shape)})")
                continue
            raise ValueError(
                f"Warm start: {name!r} has shape {list(variables[name].shape)} but "
                f"{previous!r} in {path!r} has {list(value.shape)}."
            )
        variables[name].assign(value)
        warmed.append(name)
    logger.info("Warm-started %d variable(s) from %s.", len(warmed), path)
    if skipped:
        logger.warning("Warm start skipped %d variable(s) whose shape changed: %s",
                       len(skipped), ", ".join(skipped))
    if absent:
        logger.warning("Warm start skipped %d variable(s) not in %s (left at their initial "
                       "values): %s", len(absent), path, ", ".join(absent))
    return warmed
