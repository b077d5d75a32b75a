"""TensorFlow and Keras, imported once and quietly.

TensorFlow 2.21 prints C++ start-up lines (oneDNN, absl) to the process's stderr at import,
whatever ``TF_CPP_MIN_LOG_LEVEL`` says, and Jupyter shows them under a cell. Every module of
the library that needs TensorFlow imports it from here (``from .backend import keras, tf``),
so the first import happens with stderr silenced. Later errors still reach stderr.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@contextlib.contextmanager
def _stderr_silenced():
    """Point file descriptor 2 at /dev/null for the duration (C++ writes bypass sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


with _stderr_silenced():
    import keras
    import tensorflow as tf

logging.getLogger("tensorflow").setLevel(logging.ERROR)

__all__ = ["keras", "tf"]
