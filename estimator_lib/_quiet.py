"""Keeps TensorFlow's start-up noise (CUDA probing, oneDNN notices) out of the terminal.

Imported first by estimator_lib: it only sets defaults the user has not set.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
