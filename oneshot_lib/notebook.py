"""Helpers for the chapters: showing library source, and quiet, reproducible set-up."""

from __future__ import annotations

import inspect
import random

import numpy as np


def show_source(obj) -> None:
    """Display the source of a library function or class, syntax-highlighted.

    Chapters call this instead of copying code into a cell, so what the reader reads is what
    runs. Outside IPython it prints plain text.
    """
    source = inspect.getsource(obj)
    try:
        from IPython.display import Code, display
    except ImportError:
        print(source)
        return
    display(Code(source, language="python"))


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, numpy's global and (if it is imported) TensorFlow's generators.

    The library itself takes explicit ``rng``/``seed`` arguments; this covers the rest,
    such as Keras weight initialisers and dropout.
    """
    random.seed(seed)
    np.random.seed(seed)
    import sys

    if "keras" in sys.modules or "tensorflow" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)


def quiet_tensorflow() -> None:
    """Import TensorFlow without its start-up noise, and keep its Python loggers quiet.

    Call it before anything imports TensorFlow or Keras (see ``oneshot_lib.backend``).
    """
    from . import backend  # noqa: F401  (the import does the work)

    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass
