"""The evaluator step: streams metrics from checkpoints, judges the final one, blesses it.

The light surface is re-exported here (the config and thresholds: no TensorFlow, no KFP).
The heavy parts are imported by module:

    from components.evaluator.executor import run            # TensorFlow: watch, analyze, judge
    from components.evaluator.component import evaluator    # the KFP component

See `config.py` for the files it writes, `validation.py` for what blessing means.
"""

from components.evaluator.config import EvaluatorConfig
from components.evaluator.thresholds import MetricThreshold, parse_thresholds

__all__ = ["EvaluatorConfig", "MetricThreshold", "parse_thresholds"]
