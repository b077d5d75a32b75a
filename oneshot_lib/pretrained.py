"""Reference models shipped with the package: ``load(name)`` gives a ready scorer, offline.

Each reference model is a training run of ``python -m oneshot_lib.train`` on this course's
machine (2 CPU cores), kept in ``oneshot_lib/checkpoints/<name>/``: its best weights
(``best.weights.h5``, chosen on the validation alphabets only), ``config.json`` (the exact
config, the command and the library versions), ``history.json`` (every validation) and
``log.txt`` (the run's log). ``README.md`` in that folder says how each was made.

    >>> from oneshot_lib import pretrained
    >>> scorer = pretrained.load("siamese")      # the reference siamese network
    >>> scores = scorer.scores(query, support)   # (Q, S), see oneshot_lib.scoring.contract
"""

from __future__ import annotations

from pathlib import Path

from oneshot_lib.training.run_folder import RunFiles, find_run, load_run_scorer, read_json, shipped_models


def available() -> list[str]:
    """Names of the reference models shipped with this installation, sorted."""
    return shipped_models()


def folder(name: str | Path) -> Path:
    """The folder of reference model ``name``, or ``name`` itself if it is a run folder.

    A run folder is one made by ``python -m oneshot_lib.train --output FOLDER`` (it holds a
    ``config.json``), so what a reader trains loads like a shipped model, with the same checks.

    Raises ValueError for a name that is neither a shipped model nor a run folder.
    """
    return find_run(name)


def load(name: str | Path):
    """A ready scorer of reference model ``name`` (e.g. ``"siamese"``), or of a run folder's best model.

    The scorer's ``name`` is the model's name (the folder's name for a run folder). Raises
    ValueError for an unknown name, ``run_folder.RunFolderError`` naming a damaged file, and
    ``siamese.CheckpointMismatchError`` if the weights do not fit the model.
    """
    path = folder(name)
    scorer = load_run_scorer(path)
    scorer.name = path.name
    return scorer


def run_record(name: str | Path) -> dict:
    """What ``config.json`` records of model ``name``: ``config``, ``command``, ``versions``, ..."""
    return read_json(RunFiles(folder(name)).config)


def history(name: str | Path) -> dict:
    """The training history of model ``name`` (``history.json``): one record per validation."""
    return read_json(RunFiles(folder(name)).history)


def checkpoint_megabytes(name: str) -> float:
    """Size of model ``name``'s weights file, in MB (10^6 bytes)."""
    return RunFiles(folder(name)).best.stat().st_size / 1e6
