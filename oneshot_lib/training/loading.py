"""Loading what a run trained: its model or its scorer, from a run folder or a shipped model's name.

The shipped reference models are run folders too, one per model in the package's
``checkpoints/`` folder (``CHECKPOINTS``), so one loader serves both: ``find_run`` turns a
shipped model's name (or a folder) into a folder, ``load_run_model`` rebuilds its model and loads
the weights after checking them against the SHA-256 the run recorded, and ``load_run_scorer``
gives the scorer it is validated with. ``oneshot_lib.pretrained`` is the public face of this
module; it lives here, in the training layer, because training reads shipped models too: a run
may start from one (``TrainingConfig.start_from``), and none may be trained into their folder
(``resuming.check_output_folder``).
"""

from __future__ import annotations

from pathlib import Path

from oneshot_lib.backend import keras
from oneshot_lib.scoring.shifts import average_over_shifts
from oneshot_lib.training.config import TrainingConfig
from oneshot_lib.training.kinds import kind_named
from oneshot_lib.training.records import History, RunRecord
from oneshot_lib.training.run_folder import (
    RunFiles,
    RunFolderError,
    best_weights_file,
    check_not_behind,
    load_keras_file,
    read_history,
    read_run_record,
    verify,
)

#: The folder of the shipped reference models, one run folder each (``oneshot_lib.pretrained``).
CHECKPOINTS = Path(__file__).parents[1] / "checkpoints"


def shipped_models() -> list[str]:
    """Names of the reference models shipped with this installation, sorted."""
    if not CHECKPOINTS.is_dir():
        return []
    return sorted(path.name for path in CHECKPOINTS.iterdir() if RunFiles(path).config.is_file())


def find_run(name: str | Path) -> Path:
    """The folder of shipped model ``name``, or ``name`` itself if it is a run folder.

    Raises ValueError for a name that is neither.
    """
    names = shipped_models()
    if str(name) in names:
        return CHECKPOINTS / str(name)
    path = Path(name)
    if RunFiles(path).config.is_file():
        return path
    raise ValueError(
        f"no reference model named {str(name)!r}, and no training run in a folder of that name: "
        f"choose one of {names}, or give the folder of a run of python -m oneshot_lib.train"
    )


def load_run_model(folder: str | Path, which: str = "best") -> tuple[keras.Model, TrainingConfig]:
    """The model of a finished (or stopped) run, and its config.

    ``which="best"`` rebuilds the model as its kind records it in ``config.json`` (a siamese
    network from its architecture, the other kinds from their Keras config) and loads
    ``best.weights.h5``; ``which="last"`` loads ``last.keras``, with its optimiser. Either file
    is checked against the SHA-256 the run recorded when it wrote it.

    Raises RunFolderError if the folder holds no such run or a file is damaged, ValueError for
    another ``which``, ``siamese.CheckpointMismatchError`` if the weights do not fit the model.
    """
    _check_which(which)
    files = RunFiles(Path(folder))
    record = read_run_record(files)
    return _load_model(files, record, which), record.config


def _load_model(files: RunFiles, record: RunRecord, which: str) -> keras.Model:
    history = read_history(files) if files.history.is_file() else History()
    if which == "last":
        if history.epochs:
            try:
                verify(files.last, history.last.last_sha256)
            except RunFolderError:
                check_not_behind(files, history)
                raise
        return load_keras_file(files.last)
    kind = kind_named(record.config.model)  # not kind_of: a saved run need not fit today's training checks
    model = kind.rebuild(record.rebuild, record.config)
    best = best_weights_file(files, history)
    try:
        return kind.load_weights(model, best)
    except OSError as error:  # h5py: not an HDF5 file, or truncated
        raise RunFolderError(
            f"{best} cannot be read as a Keras weights file ({error}): it is damaged or truncated."
        ) from error


def load_run_scorer(folder: str | Path, which: str = "best"):
    """A scorer of a run's best (or last) model; see ``load_run_model``.

    A run with ``test_shifts`` scores as it was validated: embeddings averaged over shifts. A
    ``"scoring"`` entry in ``config.json`` (``records.ScoringChoice``), added after training when
    the shifts (their size, fill and grid; or a meta-learner's inner steps at test time) were
    chosen on the validation alphabets with the kept weights, overrides it; the config itself
    stays as it trained. Raises RunFolderError naming ``config.json`` if that entry cannot be used.
    """
    _check_which(which)
    files = RunFiles(Path(folder))
    record = read_run_record(files)
    model = _load_model(files, record, which)
    scorer = kind_named(record.config.model).scorer(model)
    if record.test_inner_steps != record.config.test_inner_steps:
        scorer = scorer.with_options(steps=record.test_inner_steps)
    return average_over_shifts(scorer, record.test_shifts, record.shift_fill, record.shift_grid)


def _check_which(which: str) -> None:
    if which not in ("best", "last"):
        raise ValueError(f"which must be 'best' or 'last', got {which!r}")
