"""A training run's folder: its files, reading and writing them safely, and its lock.

A run of ``python -m oneshot_lib.train`` (``trainer.train``) keeps everything in one folder:

- ``config.json``: the run's record (``records.RunRecord``): the config (only the fields that
  apply to its kind), the command, the library versions and what rebuilds the model;
- ``history.json``: its history (``records.History``): one record per epoch, the best validation
  accuracy, and the SHA-256 of the weights files, so that a damaged file is refused instead of
  scoring nonsense;
- ``best.weights.h5``: the weights of the best validation epoch;
- ``last.keras``: model and optimiser after the last epoch, to resume from (a fresh run saves
  its untrained model there first, so a run stopped in its first epoch resumes too);
- ``log.txt``: the run's log lines.

A kill at any instant leaves a run that loads and resumes. A new best is written beside the
old one (``best.pending.weights.h5``), the history naming it is written next, and only then
does it replace ``best.weights.h5``: whichever of the two files the history names is the best
(``best_weights_file``). One process at a time trains into a folder: it holds the folder's
lock (``.lock``, holding its process id) for the whole run (``hold_lock``).

Whether a folder may be trained into, and resuming the run in it, are
``oneshot_lib.training.resuming``'s; loading what a run trained is ``oneshot_lib.training.loading``'s.
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
from oneshot_lib.training.records import History, MalformedRecord, RunRecord


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


def read_run_record(files: RunFiles) -> RunRecord:
    """A run's ``config.json``, with the config in it.

    Raises RunFolderError naming the file if it is not a run's record (an object with a
    ``"config"`` object), its config cannot be read (an unknown field, a value of the wrong type)
    or another entry is not what a run writes (e.g. a ``"scoring"`` entry with a shift out of range).
    """
    try:
        return RunRecord.from_json(read_json(files.config), str(files.config))
    except MalformedRecord as error:
        raise RunFolderError(str(error)) from None


def read_history(files: RunFiles) -> History:
    """A run's ``history.json``; raises RunFolderError naming the file if it is not a run's history."""
    try:
        return History.from_json(read_json(files.history), str(files.history))
    except MalformedRecord as error:
        raise RunFolderError(str(error)) from None


def write_run_record(files: RunFiles, record: RunRecord) -> None:
    """Write ``config.json``, atomically."""
    write_json(files.config, record.to_json())


def write_history(files: RunFiles, history: History) -> None:
    """Write ``history.json``, atomically."""
    write_json(files.history, history.to_json())


def verify(path: Path, expected_sha256: str | None) -> None:
    """Raise RunFolderError if the file's SHA-256 differs from the one the run recorded.

    Nothing is checked where the run recorded none (runs made before checksums were kept).
    """
    if expected_sha256 is not None and sha256_of(path) != expected_sha256:
        raise RunFolderError(
            f"{path} is damaged: its SHA-256 differs from the one recorded in history.json when it "
            "was written. Restore it from a copy (a shipped model: reinstall the package), or retrain."
        )


def check_not_behind(files: RunFiles, history: History) -> None:
    """Raise RunFolderError saying so if ``last.keras`` is a checkpoint from before the history's last
    epoch: the run was stopped between writing the two (``resuming.resume`` brings them together)."""
    try:
        steps = int(load_keras_file(files.last).optimizer.iterations.numpy())
    except RunFolderError:
        return  # it does not load: damaged, as the caller says
    if steps < history.steps:
        raise RunFolderError(
            f"{files.last} holds the model at step {steps}, behind history.json's last epoch (step "
            f"{history.steps}): the run was stopped while saving its checkpoint. Run its "
            "training command again: resuming retrains that epoch and brings the two together."
        )


def best_weights_file(files: RunFiles, history: History) -> Path:
    """The file holding the best weights the history names: ``best.weights.h5``, or after a kill
    between writing the history and moving the new best into place, ``best.pending.weights.h5``.

    Raises RunFolderError if neither matches the recorded SHA-256 (or none exists).
    """
    expected = history.best_sha256
    if expected is not None and not _holds(files.best, expected) and _holds(files.pending_best, expected):
        return files.pending_best
    if not files.best.is_file():
        raise RunFolderError(f"no checkpoint at {files.best}: the run has not finished an epoch yet")
    verify(files.best, expected)
    return files.best


def promote_best(files: RunFiles, history: History) -> None:
    """Move a pending best into place if the (written) history names it; else delete it.

    Called once the history naming a new best is on disk, and when a run resumes.
    """
    if files.pending_best.is_file():
        if _holds(files.pending_best, history.best_sha256):
            os.replace(files.pending_best, files.best)
        else:  # written by a session killed before its history named it
            files.pending_best.unlink()


def _holds(path: Path, sha256: str | None) -> bool:
    return sha256 is not None and path.is_file() and sha256_of(path) == sha256


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
