"""Shared test setup: TensorFlow starts quietly, as in the command-line entry points."""

from console import quiet_tensorflow

quiet_tensorflow()
