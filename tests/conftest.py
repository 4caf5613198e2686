"""Shared test setup: estimator_lib is imported first so TensorFlow starts quietly."""

import estimator_lib  # noqa: F401
