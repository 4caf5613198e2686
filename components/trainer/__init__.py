"""The trainer step: trains an estimator_lib Estimator on the transformed examples.

The light surface is re-exported here (the config: no TensorFlow model code, no KFP). The heavy
parts are imported by module:

    from components.trainer.executor import run            # TensorFlow training + export
    from components.trainer.component import trainer       # the KFP component
    python -m components.trainer --examples-uri ...          # the CLI (cli.py), a TFJob's command
    from components.trainer.tfjob import trainer_job       # the TFJob of a TrainerConfig

The model_dir it writes (checkpoints, the model recipe, the training-done mark) is described in
`components/common/recipe.py`; the exports in `components/common/model_export.py`.
"""

from components.trainer.config import TrainerConfig

__all__ = ["TrainerConfig"]
