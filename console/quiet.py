"""Keeps TensorFlow's start-up noise (CUDA probing, oneDNN notices) out of the terminal.

TensorFlow 2.21 writes those lines from C++ before its logging is configured, so
TF_CPP_MIN_LOG_LEVEL does not silence them. `quiet_tensorflow()` imports TensorFlow (and
probes devices) with stderr sent to a temporary file, and shows that file only if the import
fails. Set ESTIMATOR_LIB_VERBOSE_TF=1 to see everything.

This module imports nothing heavy itself, so an entry point can call it before anything
else.
"""

import logging
import os
import sys
import tempfile

__all__ = ["quiet_tensorflow"]


def quiet_tensorflow() -> None:
    """Imports TensorFlow with its start-up lines held back, and quiets absl and TF logging.

    Call it first in a command-line entry point. A second call, or one after TensorFlow was
    imported, only sets the logging levels.

    Example:
        >>> quiet_tensorflow()
        >>> import tensorflow as tf   # already imported; nothing printed
    """
    if not (os.environ.get("ESTIMATOR_LIB_VERBOSE_TF") or "tensorflow" in sys.modules):
        _import_tensorflow_quietly()
    for name in ("absl", "tensorflow"):
        if logging.getLogger(name).level == logging.NOTSET:
            logging.getLogger(name).setLevel(logging.WARNING)


def _import_tensorflow_quietly() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)

