"""estimator_lib: the TensorFlow Estimators framework, TensorFlow 2 native.

Example:
    >>> import estimator_lib as el
    >>> estimator = el.Estimator(model_fn, model_dir="/tmp/model")
"""

from estimator_lib import (
    checkpoint,
    distribute,
    early_stopping,
    export,
    exporters,
    heads,
    hooks,
    inputs,
    keras,
    losses,
    metrics,
    migrate,
    training_status,
)
from estimator_lib import feature_columns as feature_column
from estimator_lib.canned import (
    BaselineClassifier,
    BaselineRegressor,
    DNNClassifier,
    DNNLinearCombinedClassifier,
    DNNLinearCombinedRegressor,
    DNNRegressor,
    LinearClassifier,
    LinearRegressor,
)
from estimator_lib.checkpoint import WarmStartSettings
from estimator_lib.distribute import ClusterInfo
from estimator_lib.estimator import Estimator
from estimator_lib.exporters import BestExporter, Exporter, FinalExporter, LatestExporter
from estimator_lib.hooks import (
    CheckpointSaverHook,
    CheckpointSaverListener,
    Hook,
    LoggingTensorHook,
    NanLossDuringTrainingError,
    NanTensorHook,
    ProfilerHook,
    RunArgs,
    RunContext,
    RunValues,
    StepCounterHook,
    StopAtStepHook,
    SummarySaverHook,
)
from estimator_lib.run_config import RunConfig
from estimator_lib.spec import EstimatorSpec, ModeKeys
from estimator_lib.train_and_evaluate import EvalSpec, TrainSpec, train_and_evaluate
from estimator_lib.training_status import TRAINING_DONE_FILENAME, training_done
from estimator_lib.vocab_info import VocabInfo, vocab_infos

SessionRunHook = Hook  # The paper's name.

__all__ = [
    "BaselineClassifier",
    "BaselineRegressor",
    "BestExporter",
    "CheckpointSaverHook",
    "CheckpointSaverListener",
    "ClusterInfo",
    "DNNClassifier",
    "DNNLinearCombinedClassifier",
    "DNNLinearCombinedRegressor",
    "DNNRegressor",
    "Estimator",
    "EstimatorSpec",
    "EvalSpec",
    "Exporter",
    "FinalExporter",
    "Hook",
    "LatestExporter",
    "LinearClassifier",
    "LinearRegressor",
    "LoggingTensorHook",
    "ModeKeys",
    "NanLossDuringTrainingError",
    "NanTensorHook",
    "ProfilerHook",
    "RunArgs",
    "RunConfig",
    "RunContext",
    "RunValues",
    "SessionRunHook",
    "StepCounterHook",
    "StopAtStepHook",
    "SummarySaverHook",
    "TRAINING_DONE_FILENAME",
    "TrainSpec",
    "VocabInfo",
    "WarmStartSettings",
    "checkpoint",
    "distribute",
    "early_stopping",
    "export",
    "exporters",
    "feature_column",
    "heads",
    "hooks",
    "inputs",
    "keras",
    "losses",
    "metrics",
    "migrate",
    "train_and_evaluate",
    "training_done",
    "training_status",
    "vocab_infos",
]
