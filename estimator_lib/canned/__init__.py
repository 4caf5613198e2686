"""Canned estimators: Estimator subclasses that only supply a model_fn (the paper's rule)."""

from estimator_lib.canned.baseline import BaselineClassifier, BaselineRegressor
from estimator_lib.canned.dnn import DNNClassifier, DNNRegressor
from estimator_lib.canned.dnn_linear_combined import (
    DNNLinearCombinedClassifier,
    DNNLinearCombinedRegressor,
)
from estimator_lib.canned.linear import LinearClassifier, LinearRegressor

__all__ = [
    "BaselineClassifier",
    "BaselineRegressor",
    "DNNClassifier",
    "DNNLinearCombinedClassifier",
    "DNNLinearCombinedRegressor",
    "DNNRegressor",
    "LinearClassifier",
    "LinearRegressor",
]
