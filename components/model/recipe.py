"""The model recipe: how to rebuild the trainer's Estimator from its model_dir.

The trainer writes `model_recipe.json` (and, for a user module, a copy of the module) into
the model_dir before it trains. Anyone holding the model_dir can then rebuild the same
Estimator and read its checkpoints: the evaluator, which runs beside the trainer and
evaluates each checkpoint as it appears (the paper's evaluation worker), and a later run
that warm-starts from it. The recipe names either a canned estimator with its
hyperparameters, built over the transform step's features (`feature_columns.json`), or a
user module defining `model_fn(features, labels, mode, params)`.

```
<model_dir>/model_recipe.json    this recipe
<model_dir>/trainer_module.py    the user module (module recipes only)
<model_dir>/ckpt-N.*, checkpoint  the Estimator's checkpoints; train/ and eval/ summaries
<model_dir>/training_done        written by the trainer when training ended (el's mark)
```

Example:
    >>> recipe = ModelRecipe(estimator="DNNLinearCombinedClassifier",
    ...                      transform_graph_uri="/runs/1/transform_graph",
    ...                      params={"dnn_hidden_units": [64, 32]})
    >>> recipe.write(model_dir)
    >>> estimator = ModelRecipe.read(model_dir).build_estimator(model_dir)
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
import os
import re
from collections.abc import Mapping
from typing import Any

import tensorflow as tf

import estimator_lib as el
from components.artifacts import io, model, transform_graph

__all__ = [
    "CANNED_ESTIMATORS",
    "ModelRecipe",
    "RecipeError",
    "feature_columns",
    "read_training_done",
    "write_training_done",
]

FORMAT_VERSION = 1

# name -> (kind of model, task). Kinds decide which columns the estimator takes.
CANNED_ESTIMATORS = {
    "LinearClassifier": ("linear", "classification"),
    "LinearRegressor": ("linear", "regression"),
    "DNNClassifier": ("dnn", "classification"),
    "DNNRegressor": ("dnn", "regression"),
    "DNNLinearCombinedClassifier": ("combined", "classification"),
    "DNNLinearCombinedRegressor": ("combined", "regression"),
    "BaselineClassifier": ("baseline", "classification"),
    "BaselineRegressor": ("baseline", "regression"),
}

# Hyperparameters a canned recipe accepts, with their defaults. `embedding_dimension` 0
# means "choose by the number of buckets" (6 * buckets ** 0.25, the usual rule of thumb).
CANNED_PARAMS: dict[str, Any] = {
    "dnn_hidden_units": [64, 32],
    "dnn_dropout": None,
    "dnn_optimizer": "Adagrad",
    "dnn_learning_rate": None,
    "linear_optimizer": "Ftrl",
    "linear_learning_rate": None,
    "embedding_dimension": 0,
    "embedding_dimensions": {},  # per feature, over the rule (warm starts pin them)
    "max_embedding_dimension": 16,
    "batch_norm": False,
}


# The canned estimators' own argument names (`el.DNNClassifier(hidden_units=...)`), by the
# kind of model they mean something for, and the recipe parameter each one is.
_ESTIMATOR_ARGUMENTS = {
    "dnn": {"hidden_units": "dnn_hidden_units", "dropout": "dnn_dropout",
            "optimizer": "dnn_optimizer", "learning_rate": "dnn_learning_rate"},
    "linear": {"optimizer": "linear_optimizer", "learning_rate": "linear_learning_rate"},
    "baseline": {"optimizer": "linear_optimizer", "learning_rate": "linear_learning_rate"},
    "combined": {},
}


def canned_params(estimator: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` in the recipe's names: an estimator's own argument names (`hidden_units` for
    a DNN) become the recipe's (`dnn_hidden_units`).

    Raises:
        RecipeError: For a name that is neither, with the closest known one.

    Example:
        >>> canned_params("DNNClassifier", {"hidden_units": [32, 16]})
        {'dnn_hidden_units': [32, 16]}
    """
    aliases = _ESTIMATOR_ARGUMENTS[CANNED_ESTIMATORS[estimator][0]]
    known = sorted(set(CANNED_PARAMS) | set(aliases))
    result, given, problems = {}, {}, []
    for key, value in params.items():
        name = aliases.get(key, key)
        if name not in CANNED_PARAMS:
            close = difflib.get_close_matches(key, known, n=1)
            problems.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        elif name in result:
            raise RecipeError(f"`{given[name]}` and `{key}` name the same hyperparameter of "
                              f"{estimator}; give one.")
        else:
            result[name], given[name] = value, key
    if problems:
        raise RecipeError(f"Unknown hyperparameters {', '.join(problems)} for {estimator}; "
                          f"it takes {known}.")
    return result


class RecipeError(ValueError):
    """A recipe that cannot build an Estimator; the message says what and where."""


@dataclasses.dataclass(frozen=True)
class ModelRecipe:
    """What the trainer built, enough to build it again.

    Args:
        transform_graph_uri: The transform step's graph folder (a tf.Transform output with
            `feature_columns.json`): the features the model reads and the label.
        estimator: A canned estimator's name (see `CANNED_ESTIMATORS`). Exactly one of
            `estimator` and `module_file`.
        module_file: A Python file defining `model_fn(features, labels, mode, params)`,
            and optionally `input_fn(files, feature_spec, *, label_key, batch_size,
            training)` to read the transformed examples itself.
        params: Hyperparameters: for a canned estimator those of `CANNED_PARAMS`; for a
            module, passed to model_fn as `params` (with `feature_description` added).
        label_key: The label feature; defaults to the transform step's.

    Example:
        >>> ModelRecipe(transform_graph_uri=graph, module_file="my_model.py",
        ...             params={"learning_rate": 0.01})
    """

    transform_graph_uri: str
    estimator: str | None = None
    module_file: str | None = None
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    label_key: str | None = None

    def __post_init__(self):
        if not isinstance(self.transform_graph_uri, str) or not self.transform_graph_uri:
            raise RecipeError("`transform_graph_uri` must be a non-empty string; "
                              f"received {self.transform_graph_uri!r}.")
        if (self.estimator is None) == (self.module_file is None):
            raise RecipeError("Give exactly one of `estimator` (a canned estimator's name) and "
                              f"`module_file`; received estimator={self.estimator!r}, "
                              f"module_file={self.module_file!r}.")
        if not isinstance(self.params, Mapping):
            raise RecipeError(f"`params` must be a mapping; received {self.params!r}.")
        if self.estimator is not None:
            if self.estimator not in CANNED_ESTIMATORS:
                raise RecipeError(f"Unknown canned estimator {self.estimator!r}; choose one of "
                                  f"{sorted(CANNED_ESTIMATORS)}.")
            object.__setattr__(self, "params", canned_params(self.estimator, self.params))
            units = self.params.get("dnn_hidden_units", CANNED_PARAMS["dnn_hidden_units"])
            if not units or not all(isinstance(u, int) and u > 0 for u in units):
                raise RecipeError("`dnn_hidden_units` must be a non-empty list of positive "
                                  f"integers; received {units!r}.")
        object.__setattr__(self, "params", dict(self.params))

    # -- persistence ----------------------------------------------------------------------
    def write(self, model_dir: str) -> None:
        """Writes the recipe (and a copy of the module) into `model_dir`, atomically."""
        tf.io.gfile.makedirs(model_dir)
        module_file = self.module_file
        if module_file is not None:
            target = os.path.join(model_dir, model.MODULE_FILE)
            if os.path.abspath(module_file) != os.path.abspath(target):
                io.write_text_atomic(target, io.read_text(module_file))
            module_file = model.MODULE_FILE  # relative to the model_dir: it moves with it
        payload = {"format_version": FORMAT_VERSION,
                   **dataclasses.asdict(self), "module_file": module_file}
        io.write_text_atomic(os.path.join(model_dir, model.RECIPE_FILE),
                             json.dumps(payload, indent=2, sort_keys=True, default=_jsonable))

    @classmethod
    def read(cls, model_dir: str) -> ModelRecipe:
        """The recipe the trainer wrote into `model_dir`.

        Raises:
            FileNotFoundError: If `model_dir` has no recipe (not a trainer's model_dir).
        """
        path = os.path.join(model_dir, model.RECIPE_FILE)
        if not tf.io.gfile.exists(path):
            raise FileNotFoundError(
                f"{path!r} does not exist: {model_dir!r} is not a model_dir written by the "
                "trainer (or the trainer has not started yet).")
        payload = json.loads(io.read_text(path))
        version = payload.pop("format_version", None)
        if version != FORMAT_VERSION:
            raise RecipeError(f"{path!r} has format_version {version!r}; this code reads "
                              f"{FORMAT_VERSION}.")
        if payload.get("module_file"):
            payload["module_file"] = os.path.join(model_dir, payload["module_file"])
        return cls(**payload)

    # -- what it builds --------------------------------------------------------------------
    # Read once per recipe: building an Estimator, its input_fns and its task all need them,
    # and a module must not run (and register itself) again for each.
    @functools.cached_property
    def _description(self) -> dict[str, Any]:
        return transform_graph.read_feature_description(self.transform_graph_uri)

    @functools.cached_property
    def _module(self):
        return load_module(self.module_file) if self.module_file is not None else None

    def feature_description(self) -> dict[str, Any]:
        """The transform step's `feature_columns.json`."""
        return self._description

    def resolved_label_key(self) -> str:
        """The label feature: the recipe's, else the transform step's."""
        label = self.label_key or self.feature_description().get("label_key")
        if not label:
            raise RecipeError(
                "No label: the transform step names none (`label` in its spec, LABEL_KEY in "
                "its module) and the recipe gives no `label_key`.")
        return label

    def vocabulary_files(self) -> dict[str, str]:
        """{feature: its vocabulary file} for the features a vocabulary made into ids (the
        transform graph's assets), the label left out."""
        label = self.resolved_label_key()
        return {name: io.join(self.transform_graph_uri, entry["vocabulary_file"])
                for name, entry in self.feature_description()["features"].items()
                if entry.get("vocabulary_file") and name != label}

    def warm_start(self, base_model_dir: str) -> el.WarmStartSettings:
        """Warm start from an earlier model of this pipeline (e.g. the previous span's).

        A canned model keeps every learned row of a token its vocabularies still hold, even
        where they grew or reordered (`el.vocab_infos`: linear weights and embedding rows
        remapped by token; new tokens and the out-of-vocabulary rows of a changed vocabulary
        start from zeros); a table whose shape changed in any other way starts fresh
        (`skip_mismatch`), and the warm start says what it skipped.

        Example:
            >>> recipe.build_estimator(model_dir, warm_start_from=recipe.warm_start(base))
        """
        infos = {}
        previous_recipe = io.join(base_model_dir, model.RECIPE_FILE)
        if self.estimator is not None and io.exists(previous_recipe):
            previous = ModelRecipe.read(base_model_dir).vocabulary_files()
            new = self.vocabulary_files()
            # Unchanged vocabularies warm-start as they are (out-of-vocabulary rows included).
            shared = sorted(k for k in previous.keys() & new.keys()
                            if io.read_bytes(previous[k]) != io.read_bytes(new[k]))
            if shared:
                linear, dnn = self.feature_columns()
                # A shared table's rows are indexed by several vocabularies: no one remap
                # fits it, so it warm-starts as it is (or fresh, if its shape changed).
                dnn = [c for c in dnn
                       if not isinstance(c, el.feature_column.SharedEmbeddingColumn)]
                infos = el.vocab_infos(base_model_dir, [*linear, *dnn],
                                       {k: previous[k] for k in shared},
                                       new_vocabularies={k: new[k] for k in shared})
        return el.WarmStartSettings(base_model_dir, var_name_to_vocab_info=infos,
                                    skip_mismatch=True)

    def feature_columns(self) -> tuple[list, list]:
        """A canned recipe's (linear columns, dnn columns)."""
        params = {**CANNED_PARAMS, **self.params}
        return feature_columns(self.feature_description(), label_key=self.resolved_label_key(),
                               embedding_dimension=params["embedding_dimension"],
                               max_embedding_dimension=params["max_embedding_dimension"],
                               embedding_dimensions=params["embedding_dimensions"])

    def continued_from(self, base_model_dir: str) -> ModelRecipe:
        """This recipe, with the embedding widths of an earlier model of the pipeline pinned.

        The default width follows the vocabulary's size, which changes from span to span; a
        warm start can carry a token's learned row over only into a table of the same width.
        Widths the user chose (`embedding_dimension`, `embedding_dimensions`) are kept.

        Example:
            >>> recipe = recipe.continued_from(previous_model_dir)
        """
        if self.estimator is None or self.params.get("embedding_dimension"):
            return self
        chosen = dict(self.params.get("embedding_dimensions") or {})
        features = self.feature_description()["features"]
        for name, (_, shape) in el.checkpoint.list_variables(base_model_dir).items():
            match = _EMBEDDING_TABLE.search(name)
            if match and len(shape) == 2 and match.group(1) in features:  # not a shared table
                chosen.setdefault(match.group(1), int(shape[1]))
        return dataclasses.replace(self, params={**self.params, "embedding_dimensions": chosen})

    def build_estimator(self, model_dir: str, config: el.RunConfig | None = None,
                        warm_start_from: Any = None) -> el.Estimator:
        """The Estimator this recipe describes, on `model_dir`.

        Example:
            >>> estimator = recipe.build_estimator("/runs/1/model_dir",
            ...                                    el.RunConfig(tf_random_seed=1))
        """
        description = self.feature_description()
        label = self.resolved_label_key()
        if self.module_file is not None:
            params = {**self.params, "feature_description": description, "label_key": label}
            return el.Estimator(self._module.model_fn, model_dir=model_dir, config=config,
                                params=params, warm_start_from=warm_start_from)
        return _canned(self.estimator, {**CANNED_PARAMS, **self.params}, description, label,
                       model_dir, config, warm_start_from)

    def input_fn(self, examples_uri: str, split: str, *, batch_size: int, train: bool,
                 seed: int | None = None):
        """The input_fn over one split of the transformed examples.

        A module that defines `input_fn(files, feature_spec, *, label_key, batch_size,
        training)` (returning a tf.data.Dataset of (features, labels)) reads its own data;
        otherwise `model_inputs.make_input_fn` does. Trainer and evaluator both call this,
        so they read the data the same way.

        Example:
            >>> train_fn = recipe.input_fn(transformed_uri, "train", batch_size=256, train=True)
        """
        from components import artifacts
        from components.model.inputs import make_input_fn

        label_key = self.resolved_label_key()
        module = self._module
        if module is None or not callable(getattr(module, "input_fn", None)):
            entry = self.feature_description()["features"].get(label_key, {})
            return make_input_fn(examples_uri, split, self.transform_graph_uri,
                                 label_key=label_key, batch_size=batch_size, train=train,
                                 seed=seed, label_vocabulary=entry.get("label_vocabulary"))
        files = artifacts.examples_files(examples_uri, split)
        spec = transform_graph.transformed_feature_spec(self.transform_graph_uri)

        def input_fn():
            return module.input_fn(files, spec, label_key=label_key, batch_size=batch_size,
                                   training=train)

        return input_fn

    def task(self) -> str:
        """"classification" or "regression" for canned recipes; a module's `TASK` or
        "classification" when the label is a class id."""
        if self.estimator is not None:
            return CANNED_ESTIMATORS[self.estimator][1]
        task = getattr(self._module, "TASK", None)
        if task is not None:
            return task
        entry = self.feature_description()["features"].get(self.resolved_label_key(), {})
        return "classification" if "num_classes" in entry else "regression"


# -- features ------------------------------------------------------------------------------
_EMBEDDING_TABLE = re.compile(r"(?:^|/)([^/]+)_embedding/embedding_weights$")

def feature_columns(description: Mapping[str, Any], *, label_key: str,
                    embedding_dimension: int = 0, max_embedding_dimension: int = 16,
                    embedding_dimensions: Mapping[str, int] | None = None
                    ) -> tuple[list, list]:
    """(linear columns, dnn columns) for the transformed features, label left out.

    What the transform spec declares per feature is built as declared: `part` (wide, deep
    or both), `embedding` (its width), `indicator` (one-hot in the deep part), `weight`
    (`weighted_categorical_column` by that feature) and membership of a shared embedding
    (`shared_embeddings`: one table for the group, as wide as the members' largest
    `num_buckets`). Where nothing is declared: numbers become numeric columns in both parts;
    integer ids become identity columns (linear) and embeddings of them (dnn), about
    6 * buckets ** 0.25 wide; strings are hashed into 1000 buckets.

    Example:
        >>> linear, dnn = feature_columns(transform_graph.read_feature_description(graph),
        ...                               label_key="label")
    """
    fc = el.feature_column
    features = description["features"]
    shared = {name: group for group in description.get("shared_embeddings") or ()
              for name in group["features"]}
    linear, dnn = [], []
    for name, entry in sorted(features.items()):
        if name == label_key or entry["kind"] == "label":
            continue
        part = entry.get("part") or "both"
        if entry["kind"] == "numeric":
            column = fc.numeric_column(name)
            if part in ("wide", "both"):
                linear.append(column)
            if part in ("deep", "both"):
                dnn.append(column)
            continue
        categorical = _categorical_column(name, entry)
        if part in ("wide", "both"):
            linear.append(categorical)
        if part not in ("deep", "both") or name in shared:  # a group is built below
            continue
        buckets = categorical.num_buckets
        dimension = (entry.get("embedding") or (embedding_dimensions or {}).get(name)
                     or embedding_dimension
                     or min(max_embedding_dimension, max(2, math.ceil(6 * buckets ** 0.25))))
        dnn.append(fc.indicator_column(categorical) if entry.get("indicator")
                   else fc.embedding_column(categorical, dimension))
    for group in description.get("shared_embeddings") or ():
        members = group["features"]
        # el shares a table between columns of one size: the largest member's (the ids of
        # every member are in range, so a smaller one never reads the rows past its own).
        buckets = max(_categorical_column(n, features[n]).num_buckets for n in members)
        dnn.extend(fc.shared_embeddings(
            [_categorical_column(n, features[n], num_buckets=buckets) for n in members],
            int(group["dimension"]), combiner=group.get("combiner", "mean"),
            shared_embedding_collection_name=group["name"]))
    return linear, dnn


def _categorical_column(name: str, entry: Mapping[str, Any], num_buckets: int | None = None):
    """The id column of a categorical feature (`num_buckets`: its own, unless given), weighted
    by the feature its `weight` names."""
    fc = el.feature_column
    kind = entry["kind"]
    if kind == "categorical_identity":
        buckets = num_buckets or int(entry["num_buckets"])
        column = fc.categorical_column_with_identity(name, buckets, default_value=buckets - 1)
    elif kind == "string":
        column = fc.categorical_column_with_hash_bucket(name, num_buckets or 1000)
    else:
        raise RecipeError(f"Feature {name!r} has kind {kind!r}, which the canned "
                          "estimators cannot read; use a module with a model_fn.")
    if entry.get("weight"):
        column = fc.weighted_categorical_column(column, entry["weight"])
    return column


def _canned(name: str, params: dict, description, label: str, model_dir, config,
            warm_start_from) -> el.Estimator:
    kind, task = CANNED_ESTIMATORS[name]
    linear, dnn = feature_columns(description, label_key=label,
                                  embedding_dimension=params["embedding_dimension"],
                                  max_embedding_dimension=params["max_embedding_dimension"],
                                  embedding_dimensions=params["embedding_dimensions"])
    common: dict[str, Any] = {"model_dir": model_dir, "config": config,
                              "warm_start_from": warm_start_from}
    if task == "classification":
        num_classes = description["features"].get(label, {}).get("num_classes")
        if num_classes is None:
            raise RecipeError(f"{name} needs a class-id label; the transform step's label "
                              f"{label!r} is not one (give it a vocabulary, identity or a "
                              "condition expression).")
        common["n_classes"] = int(num_classes)
        vocabulary = description["features"][label].get("label_vocabulary")
        if vocabulary is not None:  # a class label: the head answers in its class names
            common["label_vocabulary"] = list(vocabulary)
    estimator_class = getattr(el, name)
    linear_optimizer = _optimizer(params["linear_optimizer"], params["linear_learning_rate"])
    dnn_optimizer = _optimizer(params["dnn_optimizer"], params["dnn_learning_rate"])
    if kind == "baseline":
        return estimator_class(**common)
    if kind == "linear":
        return estimator_class(linear, optimizer=linear_optimizer, **common)
    if kind == "dnn":
        return estimator_class(list(params["dnn_hidden_units"]), dnn, optimizer=dnn_optimizer,
                               dropout=params["dnn_dropout"], batch_norm=params["batch_norm"],
                               **common)
    return estimator_class(linear_feature_columns=linear, linear_optimizer=linear_optimizer,
                           dnn_feature_columns=dnn, dnn_optimizer=dnn_optimizer,
                           dnn_hidden_units=list(params["dnn_hidden_units"]),
                           dnn_dropout=params["dnn_dropout"], batch_norm=params["batch_norm"],
                           **common)


def _optimizer(name: str, learning_rate: float | None):
    """The canned estimators take an optimizer name, or a factory (a fresh one per model)."""
    if learning_rate is None:
        return name
    import keras

    def factory():
        return keras.optimizers.get({"class_name": name,
                                     "config": {"learning_rate": float(learning_rate)}})

    factory()  # fails now, with Keras's message, on an unknown optimizer name
    return factory


# -- modules -------------------------------------------------------------------------------
def load_module(path: str):
    """Imports the user module at `path`; it must define `model_fn`.

    Raises:
        FileNotFoundError: If there is no such file.
        RecipeError: If importing it fails or it does not define a callable `model_fn`.
    """
    from components.common.user_modules import import_file

    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"The trainer module {path!r} does not exist.")
    try:
        module = import_file(path, prefix="_trainer_module")
    except Exception as error:
        raise RecipeError(f"Importing the trainer module {path!r} failed: "
                          f"{type(error).__name__}: {error}") from error
    if not callable(getattr(module, "model_fn", None)):
        raise RecipeError(f"The trainer module {path!r} defines no `model_fn(features, labels, "
                          "mode, params)`.")
    return module


# -- the training-done mark ------------------------------------------------------------------
# One mark for everyone: estimator_lib's `<model_dir>/training_done` (el.TRAINING_DONE_FILENAME),
# which the tasks of a distributed training read too. These two spell it in the pipeline's
# terms (`final_step`, `final_checkpoint`).
def write_training_done(model_dir: str, *, final_step: int, final_checkpoint: str | None) -> None:
    """Marks training in `model_dir` as ended: the evaluator stops after this checkpoint."""
    from estimator_lib.training_status import mark_training_done

    mark_training_done(model_dir, final_step, final_checkpoint)


def read_training_done(model_dir: str) -> dict[str, Any] | None:
    """The training-done mark in `model_dir` (`final_step`, `final_checkpoint`, `time`), or
    None while training runs."""
    from estimator_lib.training_status import read_training_done as read_mark

    mark = read_mark(model_dir)
    if mark is None:
        return None
    return {"final_step": mark["global_step"], "final_checkpoint": mark["checkpoint"],
            "time": mark.get("time")}


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable: {value!r}")
