"""A training run's folder: its files, the rules for resuming it, and loading what it trained.

A run of ``python -m oneshot_lib.train`` (``trainer.train``) keeps everything in one folder:

- ``config.json``: the config (only the fields that apply to its kind), the command, the
  library versions and what rebuilds the model (its ``record``);
- ``history.json``: one record per epoch, the best validation accuracy, and the SHA-256 of the
  weights files, so that a damaged file is refused instead of scoring nonsense;
- ``best.weights.h5``: the weights of the best validation epoch;
- ``last.keras``: model and optimiser after the last epoch, to resume from (a fresh run saves
  its untrained model there first, so a run stopped in its first epoch resumes too);
- ``log.txt``: the run's log lines.

A folder that holds any of these files is either resumed (same config, except budgets and
patience) or refused before anything is written: a run is never overwritten. The one exception
is a run stopped before it wrote its history (only ``config.json``, perhaps ``log.txt`` and its
untrained ``last.keras``): it has nothing to lose, and the same config starts it afresh.

A kill at any instant leaves a run that loads and resumes. A new best is written beside the
old one (``best.pending.weights.h5``), the history naming it is written next, and only then
does it replace ``best.weights.h5``: whichever of the two files the history names is the best
(``best_weights_file``). One process at a time trains into a folder: it holds the folder's
lock (``.lock``, holding its process id) for the whole run (``hold_lock``).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one writer per folder is then up to the user
    fcntl = None

from oneshot_lib.backend import keras
from oneshot_lib.files import save_atomically, sha256_of
from oneshot_lib.scoring.shifts import average_over_shifts, check_shift
from oneshot_lib.training.config import RESUMABLE_CHANGES, TrainingConfig
from oneshot_lib.training.kinds import kind_named


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

    @property
    def pending_best(self) -> Path:
        """A new best's weights, until the history names them and they replace ``best``."""
        return self.folder / "best.pending.weights.h5"

    @property
    def lock(self) -> Path:
        return self.folder / ".lock"

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


def read_record(files: RunFiles) -> tuple[dict, TrainingConfig]:
    """A run's ``config.json`` record and the config in it.

    Raises RunFolderError naming the file if it is not a run's record (an object with a
    ``"config"`` object) or its config cannot be read (an unknown field, a value of the wrong type).
    """
    record = read_json(files.config)
    if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
        raise RunFolderError(
            f'{files.config} is not a training run\'s config: expected a JSON object with a "config" '
            "object, as python -m oneshot_lib.train writes. Restore the file from a copy."
        )
    try:
        return record, TrainingConfig.from_json(record["config"])
    except (TypeError, ValueError) as error:
        raise RunFolderError(f"{files.config} holds a config that cannot be read: {error}") from None


def read_history(files: RunFiles) -> dict:
    """A run's ``history.json``; raises RunFolderError naming the file if it is not a run's history."""
    history = read_json(files.history)
    if not isinstance(history, dict) or not isinstance(history.get("epochs"), list):
        raise RunFolderError(
            f"{files.history} is not a training run's history: expected a JSON object with an "
            '"epochs" list, as python -m oneshot_lib.train writes. Restore the file from a copy.'
        )
    return {**new_history(), **history}


def verify(path: Path, expected_sha256: str | None) -> None:
    """Raise RunFolderError if the file's SHA-256 differs from the one the run recorded.

    Nothing is checked where the run recorded none (runs made before checksums were kept).
    """
    if expected_sha256 is not None and sha256_of(path) != expected_sha256:
        raise RunFolderError(
            f"{path} is damaged: its SHA-256 differs from the one recorded in history.json when it "
            "was written. Restore it from a copy (a shipped model: reinstall the package), or retrain."
        )


def check_not_behind(files: RunFiles, history: dict) -> None:
    """Raise RunFolderError saying so if ``last.keras`` is a checkpoint from before the history's last
    epoch: the run was stopped between writing the two (``run_folder.resume`` brings them together)."""
    try:
        steps = int(load_keras_file(files.last).optimizer.iterations.numpy())
    except RunFolderError:
        return  # it does not load: damaged, as the caller says
    if steps < history["epochs"][-1]["step"]:
        raise RunFolderError(
            f"{files.last} holds the model at step {steps}, behind history.json's last epoch (step "
            f"{history['epochs'][-1]['step']}): the run was stopped while saving its checkpoint. Run its "
            "training command again: resuming retrains that epoch and brings the two together."
        )


def best_weights_file(files: RunFiles, history: dict) -> Path:
    """The file holding the best weights the history names: ``best.weights.h5``, or after a kill
    between writing the history and moving the new best into place, ``best.pending.weights.h5``.

    Raises RunFolderError if neither matches the recorded SHA-256 (or none exists).
    """
    expected = history.get("best_sha256")
    if expected is not None and not _holds(files.best, expected) and _holds(files.pending_best, expected):
        return files.pending_best
    if not files.best.is_file():
        raise RunFolderError(f"no checkpoint at {files.best}: the run has not finished an epoch yet")
    verify(files.best, expected)
    return files.best


def promote_best(files: RunFiles, history: dict) -> None:
    """Move a pending best into place if the (written) history names it; else delete it.

    Called once the history naming a new best is on disk, and when a run resumes.
    """
    if files.pending_best.is_file():
        if _holds(files.pending_best, history.get("best_sha256")):
            os.replace(files.pending_best, files.best)
        else:  # written by a session killed before its history named it
            files.pending_best.unlink()


def _holds(path: Path, sha256: str | None) -> bool:
    return sha256 is not None and path.is_file() and sha256_of(path) == sha256


# ------------------------------------------------------------------ training into a folder


def new_history() -> dict:
    """The history of a run that has not trained yet."""
    return {"epochs": [], "best_epoch": None, "best_val_oneshot_accuracy": None, "best_sha256": None, "sessions": []}


def check_output_folder(folder: Path) -> None:
    """Raise RunFolderError if ``folder`` cannot hold a run: it (or a parent) is a file, or it lies
    in the shipped reference models' folder (``CHECKPOINTS``), which ``pretrained`` reads."""
    for path in (folder, *folder.parents):
        if path.exists() and not path.is_dir():
            raise RunFolderError(f"cannot train into {folder}: {path} is a file, not a folder. Choose another output.")
    shipped = CHECKPOINTS.resolve()
    if folder.resolve() == shipped or shipped in folder.resolve().parents:
        raise RunFolderError(
            f"cannot train into {folder}: it lies in {shipped}, the package's folder of shipped reference "
            "models (what is there is listed as shipped). Train into a folder of your own, e.g. runs/NAME."
        )


def check_can_train_into(files: RunFiles, config: TrainingConfig) -> bool:
    """Whether ``files.folder`` holds a run to resume (True) or nothing of a run (False).

    Cheap (no model is loaded), so the command line calls it before loading any data. A run
    stopped before it wrote its history counts as nothing (it restarts), if its config is ``config``.

    Raises RunFolderError, before anything is written, if the folder cannot hold a run
    (``check_output_folder``), another process is training into it (``hold_lock``), it holds run
    files that cannot be resumed (one of config.json, history.json, last.keras is missing) or a
    run with another config (only ``RESUMABLE_CHANGES`` may differ): nothing is ever overwritten.
    """
    check_output_folder(files.folder)
    check_not_locked(files)
    present = files.existing()
    if not present:
        return False
    if files.config.is_file() and not files.history.exists() and not files.best.exists():
        _check_same_config(files, config)  # stopped before its first history: nothing to lose
        return False
    missing = [path.name for path in (files.config, files.history, files.last) if not path.is_file()]
    if missing:
        raise RunFolderError(
            f"{files.folder} holds files of a training run ({', '.join(p.name for p in present)}) that "
            f"cannot be resumed: {', '.join(missing)} missing. Nothing was written. Train into a new "
            "output folder, or move those files away first."
        )
    _check_same_config(files, config)
    return True


def _check_same_config(files: RunFiles, requested: TrainingConfig) -> None:
    """Compare the fields the run recorded (those that apply to it) with the requested ones."""
    record, recorded = read_record(files)
    stored = record["config"]
    wanted = requested.to_json()
    changed = {
        name: (value, wanted.get(name))
        for name, value in recorded.to_json().items()
        if name in stored and name not in RESUMABLE_CHANGES and wanted.get(name) != value
    }
    if changed:
        details = ", ".join(f"{name}: run has {old!r}, asked {new!r}" for name, (old, new) in changed.items())
        raise RunFolderError(
            f"{files.folder} holds a run with another config ({details}). Resume it with the same settings "
            f"(only {', '.join(RESUMABLE_CHANGES)} may change), or train into a new output folder."
        )


def resume(files: RunFiles) -> tuple[dict, dict, keras.Model]:
    """(config.json record, history, model with its optimiser) of a run to resume.

    The history is written before the checkpoint (``callbacks.RunRecorder``), so a kill between
    the two leaves a record the checkpoint does not have yet: it is dropped here, and that epoch
    is trained again, so epochs and checkpoint agree. A pending best is settled (``promote_best``).
    Raises RunFolderError naming a damaged file.
    """
    (record, _), history = read_record(files), read_history(files)
    model = load_keras_file(files.last)
    steps = int(model.optimizer.iterations.numpy())
    history["epochs"] = [epoch for epoch in history["epochs"] if epoch["step"] <= steps]
    if history["epochs"]:
        verify(files.last, history["epochs"][-1].get("last_sha256"))
    promote_best(files, history)
    return record, history, model


# ------------------------------------------------------------------ one writer per folder

#: Folders whose lock this process holds (``check_not_locked`` lets their holder through).
_HELD: set[Path] = set()


def check_not_locked(files: RunFiles) -> None:
    """Raise RunFolderError naming the holder's process id if another process trains into the folder."""
    if fcntl is None or files.folder.resolve() in _HELD or not files.lock.is_file():
        return
    with contextlib.suppress(FileNotFoundError), open(files.lock) as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _locked_error(files, lock.read()) from None
        fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def hold_lock(files: RunFiles) -> Iterator[None]:
    """Create the folder if needed and hold its lock while the ``with`` body runs.

    The lock (``fcntl.flock`` on ``.lock``, which holds this process's id) is released, and the
    file removed, however the body ends; the operating system releases it if the process is
    killed. Folders this created are removed again if nothing was written in them. Raises
    RunFolderError naming the holder if another process holds the lock. Without ``fcntl``
    (Windows) nothing is locked.
    """
    try:
        created = _make_folders(files.folder)
    except OSError as error:
        raise RunFolderError(f"cannot create the run folder {files.folder}: {error}") from None
    descriptor = None
    try:
        if fcntl is not None:
            descriptor = _acquire(files)
        _HELD.add(files.folder.resolve())
        yield
    finally:
        _HELD.discard(files.folder.resolve())
        if descriptor is not None:
            files.lock.unlink(missing_ok=True)  # before unlocking: a process waiting on it retries
            os.close(descriptor)
        for folder in created:
            with contextlib.suppress(OSError):  # not empty: the run wrote files
                folder.rmdir()


def _acquire(files: RunFiles) -> int:
    while True:
        try:
            descriptor = os.open(files.lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise RunFolderError(f"cannot write in the run folder {files.folder}: {error}") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 64).decode(errors="replace")
            os.close(descriptor)
            raise _locked_error(files, holder) from None
        with contextlib.suppress(FileNotFoundError):
            if os.stat(files.lock).st_ino == os.fstat(descriptor).st_ino:
                os.ftruncate(descriptor, 0)
                os.write(descriptor, f"{os.getpid()}\n".encode())
                return descriptor
        os.close(descriptor)  # its holder removed the file as this process opened it: take the new one


def _locked_error(files: RunFiles, holder: str) -> RunFolderError:
    pid = holder.strip() or "unknown"
    return RunFolderError(
        f"{files.folder} is being trained into by another process (pid {pid}): one run folder has one "
        "writer. Wait for it to finish (or stop it), or train into another output folder."
    )


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created, deepest first."""
    missing = [path for path in (folder, *folder.parents) if not path.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    return missing


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
    if which not in ("best", "last"):
        raise ValueError(f"which must be 'best' or 'last', got {which!r}")
    files = RunFiles(Path(folder))
    record, config = read_record(files)
    history = read_history(files) if files.history.is_file() else new_history()
    if which == "last":
        if history["epochs"]:
            try:
                verify(files.last, history["epochs"][-1].get("last_sha256"))
            except RunFolderError:
                check_not_behind(files, history)
                raise
        return load_keras_file(files.last), config
    kind = kind_named(config.model)  # not kind_of: a saved run need not fit today's training checks
    model = kind.rebuild(record, config)
    best = best_weights_file(files, history)
    try:
        return kind.load_weights(model, best), config
    except OSError as error:  # h5py: not an HDF5 file, or truncated
        raise RunFolderError(
            f"{best} cannot be read as a Keras weights file ({error}): it is damaged or truncated."
        ) from error


def load_run_scorer(folder: str | Path, which: str = "best"):
    """A scorer of a run's best (or last) model; see ``load_run_model``.

    A run with ``test_shifts`` scores as it was validated: embeddings averaged over shifts. A
    ``"scoring"`` entry in ``config.json`` (``{"test_shifts": pixels, "chosen": why}``), added after
    training when the shifts were chosen on the validation alphabets with the kept weights,
    overrides it; the config itself stays as it trained. Raises RunFolderError naming
    ``config.json`` if that entry cannot be used.
    """
    model, config = load_run_model(folder, which)
    files = RunFiles(Path(folder))
    scoring = read_json(files.config).get("scoring", {})
    if not isinstance(scoring, dict):
        raise RunFolderError(f'{files.config}: its "scoring" entry must be an object, got {scoring!r}')
    pixels = scoring.get("test_shifts", config.test_shifts)
    try:
        check_shift(pixels, "scoring.test_shifts")
    except ValueError as error:
        raise RunFolderError(f"{files.config} cannot be used: {error}") from None
    return average_over_shifts(kind_named(config.model).scorer(model), pixels)
