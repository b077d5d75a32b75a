"""Training into a folder: whether it may be, and resuming the run it holds.

A folder that holds any of a run's files (``run_folder.RunFiles``) is either resumed (same
config, except budgets and patience) or refused before anything is written: a run is never
overwritten. The one exception is a run stopped before it wrote its history (only
``config.json``, perhaps ``log.txt`` and its untrained ``last.keras``): it has nothing to lose,
and the same config starts it afresh. No run is trained into the folder of the shipped
reference models (``loading.CHECKPOINTS``).
"""

from __future__ import annotations

from pathlib import Path

from oneshot_lib.backend import keras
from oneshot_lib.training.config import RESUMABLE_CHANGES, TrainingConfig
from oneshot_lib.training.loading import CHECKPOINTS
from oneshot_lib.training.records import History, RunRecord
from oneshot_lib.training.run_folder import (
    RunFiles,
    RunFolderError,
    check_not_locked,
    load_keras_file,
    promote_best,
    read_history,
    read_run_record,
    verify,
)


def check_output_folder(folder: Path) -> None:
    """Raise RunFolderError if ``folder`` cannot hold a run: it (or a parent) is a file, or it lies
    in the shipped reference models' folder (``loading.CHECKPOINTS``), which ``pretrained`` reads."""
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
    (``check_output_folder``), another process is training into it (``run_folder.hold_lock``),
    it holds run files that cannot be resumed (one of config.json, history.json, last.keras is
    missing) or a run with another config (only ``RESUMABLE_CHANGES`` may differ): nothing is
    ever overwritten.
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
    record = read_run_record(files)
    wanted = requested.to_json()
    changed = {
        name: (value, wanted.get(name))
        for name, value in record.config.to_json().items()
        if name in record.config_fields and name not in RESUMABLE_CHANGES and wanted.get(name) != value
    }
    if changed:
        details = ", ".join(f"{name}: run has {old!r}, asked {new!r}" for name, (old, new) in changed.items())
        raise RunFolderError(
            f"{files.folder} holds a run with another config ({details}). Resume it with the same settings "
            f"(only {', '.join(RESUMABLE_CHANGES)} may change), or train into a new output folder."
        )


def resume(files: RunFiles) -> tuple[RunRecord, History, keras.Model]:
    """(record, history, model with its optimiser) of a run to resume.

    The history is written before the checkpoint (``callbacks.RunRecorder``), so a kill between
    the two leaves a record the checkpoint does not have yet: it is dropped here, and that epoch
    is trained again, so epochs and checkpoint agree. A pending best is settled
    (``run_folder.promote_best``). Raises RunFolderError naming a damaged file.
    """
    record, history = read_run_record(files), read_history(files)
    model = load_keras_file(files.last)
    history = history.up_to_step(int(model.optimizer.iterations.numpy()))
    if history.epochs:
        verify(files.last, history.last.last_sha256)
    promote_best(files, history)
    return record, history, model
