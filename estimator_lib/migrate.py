"""Legacy tf.estimator checkpoints in estimator_lib: names mapped, values carried over.

A model trained with tf.estimator (TensorFlow <= 2.15) keeps its variables in a
name-based checkpoint: `dnn/hiddenlayer_0/kernel`, `linear/linear_model/age/weights`,
`training/Adagrad/dnn/logits/bias/accumulator`, `global_step`. estimator_lib names the same
variables by their Keras paths (`dnn_hiddenlayer_0/kernel`, `linear/age/weights`) and its
optimizer slots by position. `warm_start_from_legacy` builds the estimator's training
model, maps every variable to its legacy name and writes an estimator_lib checkpoint into
the estimator's model_dir, at the legacy global step, so `predict`, `evaluate`,
`export_saved_model` and `train` (which resumes with the legacy optimizer state) all start
from the legacy model.

The canned estimators (linear, DNN, wide & deep, baseline; tf.estimator's and
tf.compat.v1.estimator's) are mapped by rule, with their embeddings, batch normalization
and optimizer slots (tf.keras's `training/<Optimizer>/<variable>/<slot>` and TF1's
`<variable>/<Optimizer>`). A user model_fn's variables
keep their names when the legacy model_fn created them under the same names
(`tf.compat.v1.layers.dense(..., name="hidden")` and `keras.layers.Dense(name="hidden")`
both give `hidden/kernel`); give the others in `var_name_to_prev_var_name`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Callable, Mapping

import tensorflow as tf

from estimator_lib import checkpoint as ckpt
from estimator_lib.spec import ModeKeys

logger = logging.getLogger("estimator_lib")

# estimator_lib name -> tf.estimator (V2 canned estimators, TF 2.x) name, for the canned
# estimators' variables. Applied in order; the first pattern that matches wins.
_CANNED_RULES = (
    (r"^linear/(.+)$", r"linear/linear_model/\1"),
    (r"^dnn_input/(.+)$", r"dnn/input_from_feature_columns/input_layer/\1"),
    (r"^dnn_hiddenlayer_(\d+)/(.+)$", r"dnn/hiddenlayer_\1/\2"),
    (r"^dnn_batchnorm_(\d+)/(.+)$", r"dnn/hiddenlayer_\1/batchnorm_\1/\2"),
    (r"^dnn_logits/(.+)$", r"dnn/logits/\1"),
    (r"^baseline/(.+)$", r"baseline/\1"),
)
# Keras 3 slot names whose tf.keras (optimizer_v2) names differ, by optimizer.
_SLOT_NAMES = {("adam", "momentum"): "m", ("adam", "velocity"): "v",
               ("adamax", "momentum"): "m", ("adamax", "norm"): "v",
               ("nadam", "momentum"): "m", ("nadam", "velocity"): "v",
               ("rmsprop", "velocity"): "rms"}
# The slot names of tf.compat.v1.train optimizers (tf.compat.v1.estimator's canned
# estimators, TF1 model_fns): `<variable>/<suffix>`.
_V1_SLOT_SUFFIXES = {("adagrad", "accumulator"): "Adagrad", ("ftrl", "accumulator"): "Ftrl",
                     ("ftrl", "linear"): "Ftrl_1", ("adam", "momentum"): "Adam",
                     ("adam", "velocity"): "Adam_1", ("sgd", "momentum"): "Momentum",
                     ("rmsprop", "velocity"): "RMSProp", ("rmsprop", "momentum"): "RMSProp_1"}
_GLOBAL_STEP = "global_step"


@dataclasses.dataclass(frozen=True)
class LegacyCheckpoint:
    """What `warm_start_from_legacy` wrote.

    Attributes:
        checkpoint_path: The estimator_lib checkpoint written into the model_dir.
        global_step: Its global step: the legacy checkpoint's.
        names: estimator_lib variable name -> the legacy name its value came from.
        not_in_legacy: estimator_lib variables the legacy checkpoint has no value for,
            kept at their initial values (e.g. the slots of an optimizer legacy did not
            use, a dropout seed).

    Example:
        >>> loaded = warm_start_from_legacy(estimator, "/models/legacy", train_input_fn)
        >>> loaded.global_step, loaded.names["dnn_logits/bias"]
        (300, 'dnn/logits/bias')
    """

    checkpoint_path: str
    global_step: int
    names: Mapping[str, str]
    not_in_legacy: tuple[str, ...]


def legacy_name_map(estimator, legacy_checkpoint: str, input_fn: Callable, *,
                    var_name_to_prev_var_name: Mapping[str, str] | None = None
                    ) -> dict[str, str]:
    """estimator_lib variable name -> legacy tf.estimator name, for `estimator`'s variables.

    Builds the estimator's training model (from the first batch of `input_fn`) and maps
    each of its variables: first `var_name_to_prev_var_name`, then the same name, then
    the canned estimators' rules, then optimizer slots through the variable they belong
    to. The result can go to `el.WarmStartSettings(var_name_to_prev_var_name=...)` to
    warm-start a changed model.

    Args:
        estimator: An `el.Estimator` (a canned one or a user model_fn's).
        legacy_checkpoint: A tf.estimator checkpoint prefix or model_dir.
        input_fn: The training input_fn: `(features, labels)` batches.
        var_name_to_prev_var_name: estimator_lib name -> legacy name, for what the rules
            cannot know (a user model_fn's renamed layers).

    Returns:
        The mapping, for every variable found in the legacy checkpoint.

    Raises:
        ValueError: If a trainable variable has no counterpart in the legacy checkpoint
            (the message lists them, and the legacy names nothing was mapped to), or a
            mapped name is not in the legacy checkpoint, or shapes differ.

    Example:
        >>> names = el.migrate.legacy_name_map(estimator, "/models/legacy", train_input_fn)
        >>> names["dnn_hiddenlayer_0/kernel"]
        'dnn/hiddenlayer_0/kernel'
    """
    path = _legacy_path(legacy_checkpoint)
    variables, _ = _training_variables(estimator, input_fn)
    return _map_names(estimator, variables, path, dict(var_name_to_prev_var_name or {}))


def warm_start_from_legacy(estimator, legacy_checkpoint: str, input_fn: Callable, *,
                           var_name_to_prev_var_name: Mapping[str, str] | None = None
                           ) -> LegacyCheckpoint:
    """Starts `estimator`'s model_dir from a tf.estimator checkpoint.

    Maps the variables as `legacy_name_map` does and writes `model.ckpt-<legacy global
    step>` into `estimator.model_dir`: model weights, embeddings, batch-normalization
    statistics and optimizer slots from the legacy checkpoint; anything the legacy
    checkpoint has no value for keeps its initial value (listed in `not_in_legacy`).
    Learning rates are not carried over: they are the estimator's own settings. After
    this, `predict` reproduces the legacy model's predictions and `train` resumes at the
    legacy step.

    `input_fn` is needed because estimator_lib creates a model's variables while it
    traces model_fn on real inputs (their shapes and dtypes decide, e.g., the width of
    the first DNN layer).

    Args:
        estimator: An `el.Estimator` whose model_dir holds no checkpoint yet.
        legacy_checkpoint: A tf.estimator checkpoint prefix or model_dir.
        input_fn: The training input_fn: `(features, labels)` batches.
        var_name_to_prev_var_name: estimator_lib name -> legacy name, for names the
            rules cannot know.

    Returns:
        A `LegacyCheckpoint`: the written path, its step and the name mapping.

    Raises:
        ValueError: If the model_dir already holds a checkpoint or is the legacy
            model_dir, or a trainable variable cannot be mapped (see `legacy_name_map`).

    Example:
        >>> estimator = el.DNNLinearCombinedClassifier(
        ...     model_dir="/models/el", linear_feature_columns=wide, dnn_feature_columns=deep,
        ...     dnn_hidden_units=[100, 50], legacy_defaults=True)
        >>> el.migrate.warm_start_from_legacy(estimator, "/models/legacy", train_input_fn)
        >>> predictions = list(estimator.predict(predict_input_fn))  # legacy's predictions
    """
    path = _legacy_path(legacy_checkpoint)
    model_dir = estimator.model_dir
    existing = estimator.latest_checkpoint()
    if existing is not None:
        raise ValueError(
            f"`estimator`'s model_dir {model_dir!r} already holds checkpoint {existing!r}; "
            "warm_start_from_legacy starts a model_dir. Give the estimator a new model_dir.")
    if os.path.abspath(os.path.dirname(path)) == os.path.abspath(model_dir):
        raise ValueError(
            f"`estimator`'s model_dir {model_dir!r} is the legacy model_dir: writing there "
            "would replace its `checkpoint` file. Give the estimator a new model_dir.")
    variables, global_step = _training_variables(estimator, input_fn)
    names = _map_names(estimator, variables, path, dict(var_name_to_prev_var_name or {}))
    reader = tf.train.load_checkpoint(path)
    for name, legacy in names.items():
        variables[name].assign(reader.get_tensor(legacy))
    step = int(reader.get_tensor(_GLOBAL_STEP)) if reader.has_tensor(_GLOBAL_STEP) else 0
    global_step.assign(step)
    manager = tf.train.CheckpointManager(
        ckpt.make_checkpoint(global_step, variables), model_dir, max_to_keep=None,
        checkpoint_name=ckpt.CHECKPOINT_NAME)
    written = manager.save(checkpoint_number=step)
    not_in_legacy = tuple(n for n in variables if n not in names)
    logger.info("Wrote %s from legacy checkpoint %s: %d variable(s) mapped, %d at their "
                "initial values (%s).", written, path, len(names), len(not_in_legacy),
                ", ".join(not_in_legacy) or "none")
    return LegacyCheckpoint(written, step, names, not_in_legacy)


def _legacy_path(path) -> str:
    path = os.fspath(path)
    if tf.io.gfile.isdir(path):
        latest = tf.train.latest_checkpoint(path)
        if latest is None:
            raise ValueError(f"`legacy_checkpoint` directory {path!r} holds no checkpoint.")
        path = latest
    elif not tf.io.gfile.exists(path + ".index"):
        raise ValueError(
            f"`legacy_checkpoint` {path!r} is neither a checkpoint prefix nor a model_dir.")
    if any("/.ATTRIBUTES/" in key for key, _ in tf.train.list_variables(path)):
        raise ValueError(
            f"`legacy_checkpoint` {path!r} is an object-based checkpoint (estimator_lib's or "
            "Keras's), not a tf.estimator one; start from it with `warm_start_from` instead.")
    return path


def _training_variables(estimator, input_fn):
    """The variables (name -> variable) and global step of estimator's TRAIN model."""
    data = estimator._input(input_fn, ModeKeys.TRAIN, None)
    model = estimator._built_model(ModeKeys.TRAIN, None, data)
    return model.saveable_variables(), model.global_step


def _is_canned(estimator) -> bool:
    from estimator_lib import canned  # The canned estimators import this package's core.

    return isinstance(estimator, tuple(getattr(canned, n) for n in canned.__all__))


def _map_names(estimator, variables: Mapping[str, tf.Variable], path: str,
               renames: dict[str, str]) -> dict[str, str]:
    legacy = dict(tf.train.load_checkpoint(path).get_variable_to_shape_map())
    unknown = [n for n in renames if n not in variables]
    if unknown:
        raise ValueError(
            f"`var_name_to_prev_var_name` names {sorted(unknown)}, which the model does not "
            f"have; its variables are {sorted(variables)}.")
    rules = _CANNED_RULES if _is_canned(estimator) else ()
    trainable = [n for n, v in variables.items() if v.trainable]
    names: dict[str, str] = {}
    for name, variable in variables.items():
        if name in renames:
            if renames[name] not in legacy:
                raise ValueError(
                    f"`var_name_to_prev_var_name` maps {name!r} to {renames[name]!r}, which is "
                    f"not in legacy checkpoint {path!r}.")
            names[name] = renames[name]
            continue
        found = _by_rule(name, legacy, rules)
        if found is None and not variable.trainable:
            found = _slot_source(name, variable, trainable, names, legacy, rules)
        if found is not None:
            names[name] = found
    missing = [n for n in trainable if n not in names]
    if missing:
        used = set(names.values())
        unused = sorted(n for n in legacy if n not in used and not n.startswith("training/")
                        and n != _GLOBAL_STEP)
        raise ValueError(
            f"No legacy variable for {missing} in {path!r}. Map them with "
            "`var_name_to_prev_var_name={el name: legacy name}`; the legacy model variables "
            f"nothing is mapped to are {unused}.")
    mismatched = [f"{n}: model {list(variables[n].shape)}, legacy {names[n]!r} {legacy[names[n]]}"
                  for n in names if list(variables[n].shape) != list(legacy[names[n]])]
    if mismatched:
        raise ValueError(f"Shapes differ from legacy checkpoint {path!r}: {mismatched}.")
    return names


def _by_rule(name: str, legacy, rules) -> str | None:
    if name in legacy:
        return name
    for pattern, replacement in rules:
        if re.match(pattern, name):
            candidate = re.sub(pattern, replacement, name)
            return candidate if candidate in legacy else None
    return None


def _slot_source(name, variable, trainable, names, legacy, rules) -> str | None:
    """The legacy name of an optimizer variable: a slot or the iteration count."""
    raw = re.sub(r":\d+$", "", variable.name)
    optimizer = _optimizer_of(name, raw)
    if name.endswith("/iteration") or raw.endswith("/iteration"):
        # tf.estimator's canned estimators count an optimizer's iterations in global_step,
        # except the linear part of wide & deep (`training/Ftrl/iter`).
        own = [n for n in legacy if re.fullmatch(r"training/[^/]+/iter", n)
               and n.split("/")[1].lower() == optimizer]
        return own[0] if len(own) == 1 else (_GLOBAL_STEP if _GLOBAL_STEP in legacy else None)
    found = _slot_reference(name, raw, trainable)
    if found is None:
        return None
    reference, text, key = found
    slot = text[text.rindex(key) + len(key):].strip("_/")
    slot = re.sub(r"^\d+_", "", slot)  # Keras names slots `<variable name>:0` -> `..._0_<slot>`.
    legacy_reference = names.get(reference) or _by_rule(reference, legacy, rules)
    if legacy_reference is None:
        return None
    # tf.keras (optimizer_v2) slots: `training/<Optimizer>/<variable>/<slot>`.
    v2_slot = _SLOT_NAMES.get((optimizer, slot), slot)
    pattern = re.compile(r"training/[^/]+/" + re.escape(legacy_reference) + "/" + re.escape(v2_slot))
    found = [n for n in legacy if pattern.fullmatch(n)]
    if len(found) == 1:
        return found[0]
    v1_suffix = _V1_SLOT_SUFFIXES.get((optimizer, slot))
    v1_name = f"{legacy_reference}/{v1_suffix}"
    return v1_name if v1_suffix is not None and v1_name in legacy else None


def _optimizer_of(name: str, raw: str) -> str:
    """The Keras optimizer's name (`ftrl`, `adagrad`) a variable belongs to, lower case."""
    for text in (name, raw):
        for part in text.split("/"):
            base = re.sub(r"_\d+$", "", part).lower()
            if base in {"adagrad", "adam", "adamax", "adamw", "ftrl", "nadam", "rmsprop", "sgd",
                        "adadelta", "lion"}:
                return base
    return ""


def _slot_reference(name: str, raw: str, trainable):
    """(trainable variable, text, key) for the variable whose slot `name` (raw TF name
    `raw`) is: the longest trainable name that appears in the slot's names, as a path
    or with `/` as `_` (Keras's slot naming); `key` is how it appears in `text`."""
    best = None
    for candidate in trainable:
        flat = candidate.replace("/", "_")
        for text, key in ((raw, flat), (name, flat), (name, candidate), (raw, candidate)):
            if key in text and (best is None or len(candidate) > len(best[0])):
                best = (candidate, text, key)
    return best
