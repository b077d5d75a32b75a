"""Reference models shipped with the package: ``load(name)`` gives a ready scorer, offline.

Each reference model is a training run of ``python -m oneshot_lib.train`` on this course's
machine (2 CPU cores), kept in ``oneshot_lib/checkpoints/<name>/``: its best weights
(``best.weights.h5``, chosen on the validation alphabets only), ``config.json`` (the exact
config, the command and the library versions), ``history.json`` (every validation) and
``log.txt`` (the run's log). ``README.md`` in that folder says how each was made.

    >>> from oneshot_lib import pretrained
    >>> scorer = pretrained.load("siamese")      # the reference siamese network
    >>> scores = scorer.scores(query, support)   # (Q, S), see oneshot_lib.scoring.contract

Every function here takes a run folder as well as a shipped model's name. The loading itself is
``oneshot_lib.training.loading``'s (training reads shipped models too, to start a run from one).
"""

from __future__ import annotations

from pathlib import Path

from oneshot_lib.models.metalearning import METHODS as METALEARNING_METHODS
from oneshot_lib.training.loading import find_run, load_run_scorer, shipped_models
from oneshot_lib.training.records import History, RunRecord, ScoringChoice
from oneshot_lib.training.run_folder import RunFiles, read_history, read_run_record, write_run_record


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


def run_record(name: str | Path) -> RunRecord:
    """What ``config.json`` records of model ``name``: its ``config``, ``command``, ``versions``, ..."""
    return read_run_record(RunFiles(folder(name)))


def history(name: str | Path) -> History:
    """The training history of model ``name`` (``history.json``): one record per validation."""
    return read_history(RunFiles(folder(name)))


def checkpoint_megabytes(name: str) -> float:
    """Size of model ``name``'s weights file, in MB (10^6 bytes)."""
    return RunFiles(folder(name)).best.stat().st_size / 1e6


def record_scoring_choice(
    run: str | Path,
    test_shifts: int,
    chosen: str,
    *,
    test_inner_steps: int | None = None,
    fill: str = "wrap",
    grid: int = 3,
) -> RunRecord:
    """Record in the ``config.json`` of the run in folder ``run`` the test-time shift to score with.

    ``test_shifts`` (pixels, 0 for none) with its ``fill`` (``"wrap"``: the image rolls round;
    ``"paper"``: the drawing moves on blank paper) and ``grid`` (3: 3x3, 5: 5x5; see
    ``scoring.shifts``), and for a meta-learner ``test_inner_steps`` (the inner steps it adapts
    with on a task's support set), must have been chosen on the validation alphabets with the
    run's kept weights, and ``chosen`` says how (which tasks, which values gave what): from then
    on ``load`` scores the run with them, whatever it trained with (its config stays as it
    trained). A choice recorded earlier is replaced; the file is replaced atomically. Returns the
    new record. ``run`` is a folder, never a shipped model's name: a shipped model's choice was
    made before it shipped.

    Raises ValueError if the shift is not one ``shifts.check_shift`` accepts (a whole number, 0 or
    more, at most ``shifts.MAX_SHIFT`` when it wraps, keeping some of the drawing in the frame
    when on paper; a fill in ``shifts.FILLS``, a grid in ``shifts.GRIDS``), ``test_inner_steps``
    is not None or a whole number >= 1 or the run is no meta-learner's, or ``chosen`` is empty,
    and ``run_folder.RunFolderError`` if the folder holds no run that can be read, both before
    anything is written.
    """
    choice = ScoringChoice(test_shifts, chosen, test_inner_steps, fill, grid)
    files = RunFiles(Path(run))
    record = read_run_record(files)
    if test_inner_steps is not None and record.config.model not in METALEARNING_METHODS:
        raise ValueError(
            f"test_inner_steps applies to meta-learners (maml, reptile), and {run} holds a {record.config.model} run"
        )
    record = record.with_scoring(choice)
    write_run_record(files, record)
    return record
