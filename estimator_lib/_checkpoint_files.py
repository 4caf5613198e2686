"""Reading checkpoints by stable variable name: what a checkpoint holds, and where one is.

`checkpoint.py` (warm start, restore) and `vocab_info.py` (remapping rows by token) both read
checkpoints; this module holds what they share, so neither imports the other.
"""

from __future__ import annotations

import tensorflow as tf

__all__ = ["list_variables", "load_variable", "resolve_checkpoint"]

_PREFIX = "variables/"
_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
_OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


def _key_to_name(key: str) -> str | None:
    if key == "global_step" + _SUFFIX:
        return "global_step"
    if key.startswith(_PREFIX) and key.endswith(_SUFFIX):
        escaped = key[len(_PREFIX):-len(_SUFFIX)]
        return escaped.replace(".S", "/").replace("..", ".")
    if not any(mark in key for mark in ("/.ATTRIBUTES/", "/.OPTIMIZER_SLOT/", _OBJECT_GRAPH_KEY)):
        # A name-based checkpoint (TF1, legacy tf.estimator): keys are variable names, so
        # a warm start can map this model's names onto them (`var_name_to_prev_var_name`).
        return key
    return None


def list_variables(checkpoint_path: str) -> dict[str, tuple[str, list[int]]]:
    """Stable variable name to (checkpoint key, shape) for a checkpoint."""
    result = {}
    for key, shape in tf.train.list_variables(checkpoint_path):
        name = _key_to_name(key)
        if name is not None:
            result[name] = (key, shape)
    return result


def load_variable(checkpoint_path: str, name: str):
    """The value (numpy) of the variable `name` in a checkpoint.

    Raises:
        ValueError: If the checkpoint has no such variable (the message lists them).
    """
    names = list_variables(checkpoint_path)
    if name not in names:
        raise ValueError(
            f"Checkpoint {checkpoint_path!r} has no variable {name!r}; it has {sorted(names)}."
        )
    return tf.train.load_variable(checkpoint_path, names[name][0])


def resolve_checkpoint(path: str, argument: str = "warm_start_from") -> str:
    """`path` if it is a checkpoint prefix, else the latest checkpoint of model_dir `path`.

    Raises:
        ValueError: If there is no checkpoint there; `argument` names the path's source.
    """
    if tf.io.gfile.isdir(path):
        latest = tf.train.latest_checkpoint(path)
        if latest is None:
            raise ValueError(f"{argument} directory {path!r} holds no checkpoint.")
        return latest
    if not tf.io.gfile.exists(path + ".index"):
        raise ValueError(f"{argument} {path!r} is neither a checkpoint nor a model_dir.")
    return path
