"""The trainer step: trains an estimator_lib Estimator on the transformed examples.

The light surface is re-exported here (the config: no TensorFlow model code, no KFP). The heavy
parts are imported by module:

    from components.trainer.executor import run            # TensorFlow training + export
    from components.trainer.component import trainer       # the KFP component
    python -m components.trainer --examples-uri ...          # the CLI (cli.py), a TFJob's command
    from components.trainer.tfjob import trainer_job       # the TFJob of a TrainerConfig

What it writes (the model artifact, the model_dir with checkpoints, the model recipe and the
training-done mark) is laid out in `components/artifacts/model.py`; the model it builds
comes from `components/model/` (recipe, inputs, export).
"""

from components.trainer.config import TrainerConfig

__all__ = ["TrainerConfig"]
