"""The model artifact the trainer writes, and the model_dir the trainer and evaluator share.

```
<model>/serving_model/            SavedModel: serialized raw tf.Example in (TF Serving's
                                  predict/classify/regress), the transform graph inside
<model>/trainer_result.json       what the run did (`TrainerResult`); written last
<model>/model_dir/                checkpoints, unless the pipeline plans a shared model_dir
<model_dir>/model_recipe.json     how to rebuild the Estimator (components/model/recipe.py)
<model_dir>/trainer_module.py     the user's model_fn module (module recipes only)
<model_dir>/ckpt-N.*, checkpoint  checkpoints; train/ and eval/ TensorBoard summaries
<model_dir>/training_done         estimator_lib's mark that training ended
                                  (`el.TRAINING_DONE_FILENAME`, declared there)
```

Example:
    >>> result = read_trainer_result(model_uri)
    >>> result.metrics["auc"]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from components.artifacts import io

__all__ = [
    "MODEL_DIR",
    "MODULE_FILE",
    "RECIPE_FILE",
    "SERVING_MODEL_DIR",
    "TRAINER_RESULT_FILE",
    "TrainerResult",
    "read_trainer_result",
    "write_trainer_result",
]

SERVING_MODEL_DIR = "serving_model"
TRAINER_RESULT_FILE = "trainer_result.json"
MODEL_DIR = "model_dir"
RECIPE_FILE = "model_recipe.json"
MODULE_FILE = "trainer_module.py"


@dataclasses.dataclass(frozen=True)
class TrainerResult:
    """What a trainer run did; `<model>/trainer_result.json`.

    Attributes:
        model_dir: Where the checkpoints are.
        final_step: The global step training ended at.
        final_checkpoint: The checkpoint exported.
        metrics: The final checkpoint's evaluation on the eval split; empty where the
            trainer did not evaluate (`TrainerConfig.evaluate`: the evaluator step did).
        serving_model_dir: The export (None on a non-chief task).
        label_key: The label feature.
        task: "classification" or "regression".
        train_seconds / seconds: Wall time of training, and of the whole run.
        cluster_task: This task in TF_CONFIG ("chief:0", "worker:1", ...), or "local".

    Example:
        >>> TrainerResult.from_json(result.to_json()) == result
        True
    """

    model_dir: str
    final_step: int
    final_checkpoint: str
    metrics: Mapping[str, float]
    serving_model_dir: str | None
    label_key: str
    task: str
    train_seconds: float
    seconds: float
    cluster_task: str = "local"

    def to_json(self) -> dict[str, Any]:
        """The result as JSON data."""
        return dataclasses.asdict(self) | {"metrics": dict(self.metrics)}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> TrainerResult:
        """Parses what `to_json` gives; unknown keys (from a newer writer, or an older
        one's `eval_model_dir`) are ignored."""
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in value.items() if k in names})


def write_trainer_result(model_uri: str, result: TrainerResult) -> str:
    """Writes `<model_uri>/trainer_result.json` atomically; returns its path."""
    path = io.join(model_uri, TRAINER_RESULT_FILE)
    io.write_json_atomic(path, result.to_json())
    return path


def read_trainer_result(model_uri: str) -> TrainerResult:
    """Reads `<model_uri>/trainer_result.json`.

    Raises:
        FileNotFoundError: If it is absent: the trainer did not finish.
    """
    path = io.join(model_uri, TRAINER_RESULT_FILE)
    if not io.exists(path):
        raise FileNotFoundError(f"{path!r} does not exist: the trainer did not finish writing "
                                f"the model artifact {model_uri!r}.")
    return TrainerResult.from_json(io.read_json(path))
