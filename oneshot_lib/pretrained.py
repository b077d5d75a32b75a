"""Reference models shipped with the package: ``load(name)`` gives a ready scorer, offline.

Each reference model is a training run of ``python -m oneshot_lib.train`` on this course's
machine (2 CPU cores), kept in ``oneshot_lib/checkpoints/<name>/``: its best weights
(``best.weights.h5``, chosen on the validation alphabets only), ``config.json`` (the exact
config, the command and the library versions), ``history.json`` (every validation) and
``log.txt`` (the run's log). ``README.md`` in that folder says how each was made.

    >>> from oneshot_lib import pretrained
    >>> scorer = pretrained.load("siamese")      # the reference siamese network
    >>> scores = scorer.scores(query, support)   # (Q, S), see oneshot_lib.evaluate
"""

from __future__ import annotations

import json
from pathlib import Path

from .training import RunFiles, load_run_scorer

#: The folder holding one sub-folder per reference model.
CHECKPOINTS = Path(__file__).parent / "checkpoints"


def available() -> list[str]:
    """Names of the reference models shipped with this installation, sorted."""
    if not CHECKPOINTS.is_dir():
        return []
    return sorted(path.name for path in CHECKPOINTS.iterdir() if RunFiles(path).config.is_file())


def folder(name: str) -> Path:
    """The folder of reference model ``name``. Raises ValueError for an unknown name."""
    names = available()
    if name not in names:
        raise ValueError(f"no reference model named {name!r}: choose one of {names}")
    return CHECKPOINTS / name


def load(name: str):
    """A ready scorer of reference model ``name`` (e.g. ``"siamese"``, ``"siamese-noaug"``).

    The scorer's ``name`` is the model's name. Raises ValueError for an unknown name, and
    ``siamese.CheckpointMismatchError`` if the shipped weights do not fit the model.
    """
    scorer = load_run_scorer(folder(name))
    scorer.name = name
    return scorer


def run_record(name: str) -> dict:
    """What ``config.json`` records of model ``name``: ``config``, ``command``, ``versions``, ..."""
    return json.loads(RunFiles(folder(name)).config.read_text())


def history(name: str) -> dict:
    """The training history of model ``name`` (``history.json``): one record per validation."""
    return json.loads(RunFiles(folder(name)).history.read_text())


def checkpoint_megabytes(name: str) -> float:
    """Size of model ``name``'s weights file, in MB (10^6 bytes)."""
    return RunFiles(folder(name)).best.stat().st_size / 1e6
