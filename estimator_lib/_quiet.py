"""Keeps TensorFlow's start-up noise (CUDA probing, oneDNN notices) out of the terminal.

TensorFlow 2.21 writes those lines from C++ before its logging is configured, so
TF_CPP_MIN_LOG_LEVEL does not silence them. When estimator_lib is imported before
TensorFlow, it imports TensorFlow (and probes devices) with stderr sent to a temporary
file, and shows that file only if the import fails. Set ESTIMATOR_LIB_VERBOSE_TF=1 to
see everything.
"""

import logging
import os
import sys
import tempfile


def _import_tensorflow_quietly():
    if os.environ.get("ESTIMATOR_LIB_VERBOSE_TF") or "tensorflow" in sys.modules:
        import tensorflow  # noqa: F401
        return
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


_import_tensorflow_quietly()
for _name in ("absl", "tensorflow"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.WARNING)
