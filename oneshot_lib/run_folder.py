"""A training run's folder: its files, the rules for resuming it, and loading what it trained.

A run of ``python -m oneshot_lib.train`` (``trainer.train``) keeps everything in one folder:

- ``config.json``: the config (only the fields that apply to its kind), the command, the
  library versions and what rebuilds the model (its ``record``);
- ``history.json``: one record per epoch, the best validation accuracy, and the SHA-256 of the
  weights files, so that a damaged file is refused instead of scoring nonsense;
- ``best.weights.h5``: the weights of the best validation epoch;
- ``last.keras``: model and optimiser after the last epoch, to resume from;
- ``log.txt``: the run's log lines.

A folder that holds any of these files is either resumed (same config, except budgets and
patience) or refused before anything is written: a run is never overwritten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .backend import keras
from .config import RESUMABLE_CHANGES, TrainingConfig
from .files import save_atomically, sha256_of
from .kinds import kind_named
from .shifts import average_over_shifts


class RunFolderError(ValueError):
    """A run folder cannot be trained into or loaded: the message says which file and what to do."""


@dataclass(frozen=True)
class RunFiles:
    """The files of a training run in ``folder``."""

    folder: Path

    @property
    def config(self) -> Path:
        return self.folder / "config.json"

    @property
    def history(self) -> Path:
        return self.folder / "history.json"

    @property
    def best(self) -> Path:
        return self.folder / "best.weights.h5"

    @property
    def last(self) -> Path:
        return self.folder / "last.keras"

    @property
    def log(self) -> Path:
        return self.folder / "log.txt"

    def existing(self) -> list[Path]:
        """The run files that exist in the folder."""
        return [path for path in (self.config, self.history, self.best, self.last, self.log) if path.exists()]


# ------------------------------------------------------------------ files


def write_json(path: str | Path, value) -> None:
    """Write ``value`` as indented JSON, atomically."""
    save_atomically(lambda name: Path(name).write_text(json.dumps(value, indent=2) + "\n"), path)


def read_json(path: Path) -> dict:
    """A run's JSON file. Raises RunFolderError naming the file if it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunFolderError(f"no training run in {path.parent}: {path.name} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunFolderError(
            f"{path} cannot be read as JSON ({error}): the run folder is damaged. "
            "Restore the file from a copy, or train into a new output folder."
        ) from None


def verify(path: Path, expected_sha256: str | None) -> None:
    """Raise RunFolderError if the file's SHA-256 differs from the one the run recorded.

    Nothing is checked where the run recorded none (runs made before checksums were kept).
    """
    if expected_sha256 is not None and sha256_of(path) != expected_sha256:
        raise RunFolderError(
            f"{path} is damaged: its SHA-256 differs from the one recorded in history.json when it "
            "was written. Restore it from a copy (a shipped model: reinstall the package), or retrain."
        )


# ------------------------------------------------------------------ training into a folder


def new_history() -> dict:
    """The history of a run that has not trained yet."""
    return {"epochs": [], "best_epoch": None, "best_val_oneshot_accuracy": None, "best_sha256": None, "sessions": []}


def check_can_train_into(files: RunFiles, config: TrainingConfig) -> bool:
    """Whether ``files.folder`` holds a run to resume (True) or nothing of a run (False).

    Cheap (no model is loaded), so the command line calls it before loading any data.

    Raises RunFolderError, before anything is written, if the folder holds run files that
    cannot be resumed (one of config.json, history.json, last.keras is missing) or a run with
    another config (only ``RESUMABLE_CHANGES`` may differ): nothing is ever overwritten.
    """
    present = files.existing()
    if not present:
        return False
    missing = [path.name for path in (files.config, files.history, files.last) if not path.is_file()]
    if missing:
        raise RunFolderError(
            f"{files.folder} holds files of a training run ({', '.join(p.name for p in present)}) that "
            f"cannot be resumed: {', '.join(missing)} missing. Nothing was written. Train into a new "
            "output folder, or move those files away first."
        )
    _check_same_config(read_json(files.config)["config"], config, files.folder)
    return True


def _check_same_config(stored: dict, requested: TrainingConfig, folder: Path) -> None:
    """Compare the fields the run recorded (those that apply to it) with the requested ones."""
    wanted = requested.to_json()
    changed = {
        name: (value, wanted.get(name))
        for name, value in TrainingConfig.from_json(stored).to_json().items()
        if name in stored and name not in RESUMABLE_CHANGES and wanted.get(name) != value
    }
    if changed:
        details = ", ".join(f"{name}: run has {old!r}, asked {new!r}" for name, (old, new) in changed.items())
        raise RunFolderError(
            f"{folder} holds a run with another config ({details}). Resume it with the same settings "
            f"(only {', '.join(RESUMABLE_CHANGES)} may change), or train into a new output folder."
        )


def resume(files: RunFiles) -> tuple[dict, dict, keras.Model]:
    """(config.json record, history, model with its optimiser) of a run to resume.

    The history is written before the checkpoint (``callbacks.RunRecorder``), so a kill between
    the two leaves a record the checkpoint does not have yet: it is dropped here, and that epoch
    is trained again, so epochs and checkpoint agree. Raises RunFolderError naming a damaged file.
    """
    record, history = read_json(files.config), read_json(files.history)
    model = load_keras_file(files.last)
    steps = int(model.optimizer.iterations.numpy())
    history["epochs"] = [epoch for epoch in history["epochs"] if epoch["step"] <= steps]
    if history["epochs"]:
        verify(files.last, history["epochs"][-1].get("last_sha256"))
    return record, history, model


def load_keras_file(path: Path) -> keras.Model:
    """``keras.saving.load_model(path)``, with an error that names a missing or damaged file."""
    if not path.is_file():
        raise RunFolderError(f"no checkpoint at {path}")
    try:
        return keras.saving.load_model(path)
    except Exception as error:  # Keras raises many types for a damaged zip or config
        raise RunFolderError(
            f"{path} cannot be loaded ({type(error).__name__}: {error}): the file is damaged or "
            "truncated. Restore it from a copy, or train into a new output folder."
        ) from error


# ------------------------------------------------------------------ loading what a run trained

#: The folder of the shipped reference models, one run folder each (``oneshot_lib.pretrained``).
CHECKPOINTS = Path(__file__).parent / "checkpoints"


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
    if which not in ("best", "last"):
        raise ValueError(f"which must be 'best' or 'last', got {which!r}")
    files = RunFiles(Path(folder))
    record = read_json(files.config)
    config = TrainingConfig.from_json(record["config"])
    history = read_json(files.history) if files.history.is_file() else new_history()
    if which == "last":
        if history["epochs"]:
            verify(files.last, history["epochs"][-1].get("last_sha256"))
        return load_keras_file(files.last), config
    kind = kind_named(config.model)  # not kind_of: a saved run need not fit today's training checks
    model = kind.rebuild(record, config)
    if not files.best.is_file():
        raise RunFolderError(f"no checkpoint at {files.best}: the run has not finished an epoch yet")
    verify(files.best, history.get("best_sha256"))
    try:
        return kind.load_weights(model, files.best), config
    except OSError as error:  # h5py: not an HDF5 file, or truncated
        raise RunFolderError(
            f"{files.best} cannot be read as a Keras weights file ({error}): it is damaged or truncated."
        ) from error


def load_run_scorer(folder: str | Path, which: str = "best"):
    """A scorer of a run's best (or last) model; see ``load_run_model``.

    A run with ``test_shifts`` scores as it was validated: embeddings averaged over shifts. A
    ``"scoring"`` entry in ``config.json`` (``{"test_shifts": pixels, "chosen": why}``), added after
    training when the shifts were chosen on the validation alphabets with the kept weights,
    overrides it; the config itself stays as it trained.
    """
    model, config = load_run_model(folder, which)
    scoring = read_json(RunFiles(Path(folder)).config).get("scoring", {})
    pixels = scoring.get("test_shifts", config.test_shifts)
    return average_over_shifts(kind_named(config.model).scorer(model), pixels)
