"""The training loop of every model kind: ``train`` a run in a folder, or resume it.

The loop knows no concrete model: the run's kind (``kinds.kind_of``) builds the model and
streams its batches, ``optimizers.make_optimizer`` gives the optimiser, the callbacks
(``oneshot_lib.training.callbacks``) validate, stop and record, and ``model.fit`` is the loop itself.
The folder's files are ``oneshot_lib.training.run_folder``'s, the rules for resuming
``oneshot_lib.training.resuming``'s, and the typed history and record of a run
``oneshot_lib.training.records``'s.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import numpy as np

from oneshot_lib.backend import keras, tf
from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.files import save_atomically
from oneshot_lib.machine import cores_available
from oneshot_lib.scoring.shifts import average_over_shifts
from oneshot_lib.training.callbacks import Budget, OneShotValidation, RunRecorder
from oneshot_lib.training.config import TrainingConfig
from oneshot_lib.training.distribute import check_mixed_precision, distributed_dataset, dtype_policy, short_names
from oneshot_lib.training.kinds import check_replicas, kind_of
from oneshot_lib.training.loading import find_run, load_run_model
from oneshot_lib.training.optimizers import make_optimizer
from oneshot_lib.training.records import History, RunRecord, Session
from oneshot_lib.training.resuming import check_can_train_into, resume
from oneshot_lib.training.run_folder import RunFiles, RunFolderError, hold_lock, write_history, write_run_record


class CannotTrain(ValueError):
    """The config cannot run on this data (raised by ``train`` before anything is written)."""


def training_characters(train_data: OmniglotSplit, config: TrainingConfig) -> OmniglotSplit:
    """The characters a run trains on: a seeded ``label_fraction`` of ``train_data`` (all of them at 1)."""
    if config.label_fraction >= 1:
        return train_data
    return train_data.sample_characters(config.label_fraction, config.seed)


def compile_model(model: keras.Model, config: TrainingConfig) -> keras.Model:
    """Compile ``model`` with the config's optimiser and its kind's loss and metrics."""
    kind = kind_of(config)
    model.compile(optimizer=make_optimizer(config), loss=kind.loss(), metrics=kind.metrics())
    return model


def train(
    config: TrainingConfig,
    output: str | Path,
    *,
    train_data: OmniglotSplit,
    validation_data: OmniglotSplit,
    command: str | None = None,
    verbose: int = 1,
    strategy: tf.distribute.Strategy | None = None,
) -> History:
    """Train (or resume) a run in ``output``; return its history (``records.History``, as written).

    The folder receives the files ``run_folder`` describes. If ``output`` already holds a run,
    it resumes from ``last.keras`` with its history, its step count and its time used; its
    config must match ``config`` except for the budgets and patience. Training stops when a
    budget is used up or the validation accuracy has not improved for ``patience`` epochs.
    The folder is locked for the whole call (``run_folder.hold_lock``): one writer at a time.

    Args:
        train_data: the training alphabets (of which the run keeps ``training_characters``);
            validation_data: the validation alphabets.
        command: the command line to record (the CLI passes its own).
        verbose: 0 silent, 1 progress bar and a log line per epoch, 2 log lines only.
        strategy: a ``tf.distribute`` strategy to train under (``distribute.make_strategy``):
            the model is built (or loaded) in its scope, and each batch is shared among its
            replicas (``ModelKind.shares``). None: the default device, one replica. A run may
            resume on another number of replicas than it started on.

    Raises, before anything is written, ``run_folder.RunFolderError`` if the folder holds a run
    it must not touch (or another process is training into it), ValueError (``CannotTrain`` once
    the data is read) if the config cannot run on this data or these devices;
    ``callbacks.TrainingDiverged`` if the loss or weights stop being finite (the epochs before
    are kept).
    """
    kind_of(config)  # an impossible config is refused before the folder is looked at
    check_replicas(config, 1 if strategy is None else strategy.num_replicas_in_sync)
    check_mixed_precision(config.mixed_precision, strategy)
    files = RunFiles(Path(output))
    check_can_train_into(files, config)  # refuse a folder it must not touch without creating it
    with hold_lock(files):
        train_data = training_characters(train_data, config)
        return _train_locked(config, files, train_data, validation_data, command, verbose, strategy)


def _train_locked(
    config: TrainingConfig,
    files: RunFiles,
    train_data: OmniglotSplit,
    validation_data: OmniglotSplit,
    command: str | None,
    verbose: int,
    strategy: tf.distribute.Strategy | None,
) -> History:
    kind = kind_of(config)
    replicas = 1 if strategy is None else strategy.num_replicas_in_sync
    resuming = check_can_train_into(files, config)  # again: the folder may have changed before the lock
    try:
        with (strategy or tf.distribute.get_strategy()).scope():
            prepared = _prepare(config, files, train_data, validation_data, command, resuming)
    except RunFolderError:
        raise
    except ValueError as error:
        raise CannotTrain(str(error)) from error
    record, history, model, dataset, validation = prepared
    if strategy is not None:
        dataset = distributed_dataset(strategy, dataset, lambda inputs, targets: kind.shares(inputs, targets, replicas))
    write_run_record(files, record)
    if not resuming:  # a run stopped in its first epoch resumes from step 0 like any other
        save_atomically(model.save, files.last)
    steps_done = int(model.optimizer.iterations.numpy())  # .numpy(): int() fails on a mirrored variable
    elapsed = history.last.elapsed_seconds if history.epochs else 0.0
    budget = Budget(None if config.minutes is None else 60.0 * config.minutes, config.max_steps, elapsed)

    seen, per_step = kind.seen(config)
    recorder = RunRecorder(files, history, budget, validation, per_step, verbose, seen, kind.accuracy_name)
    epochs_done = len(history.epochs)
    reason = budget.exhausted(steps_done) or _patience_used_up(history.best_epoch, epochs_done, config.patience)
    if reason:
        recorder.log(f"nothing to do in {files.folder}: {reason}")
        return history

    name = f"{config.model} ({config.size})" if config.model == "siamese" else config.model
    session = Session(
        command=command,
        start_step=steps_done,
        start_epoch=epochs_done,
        cpu_cores=cores_available(),
        replicas=replicas,
        devices=None if strategy is None else tuple(short_names(strategy)),
    )
    recorder.log(
        ("resuming" if resuming else "training")
        + f" {name} in {files.folder}: epoch {epochs_done + 1}, step {steps_done}, "
        + f"{elapsed / 60:.1f} min used"
        + (f", on {replicas} replica(s): {', '.join(session.devices)}" if strategy is not None else "")
    )
    recorder.history = history.with_session(session)
    write_history(files, recorder.history)  # from now on the folder resumes, even if stopped in this epoch
    epochs = (
        10**6
        if config.max_steps is None
        else epochs_done + math.ceil((config.max_steps - steps_done) / config.steps_per_epoch)
    )
    model.fit(
        dataset,
        epochs=epochs,
        initial_epoch=epochs_done,
        steps_per_epoch=config.steps_per_epoch,
        callbacks=[budget, validation, recorder],
        verbose=0,
        shuffle=False,
    )
    reason = (
        budget.reason
        or _patience_used_up(validation.best_epoch, len(recorder.history.epochs), config.patience)
        or "all epochs done"
    )
    history = dataclasses.replace(recorder.history, stopped=reason)
    write_history(files, history)
    recorder.log(
        f"done: {reason}; best validation {config.val_way}-way accuracy {validation.best:.1%} "
        f"at epoch {validation.best_epoch}, saved in {files.best}"
    )
    return history


def _prepare(
    config: TrainingConfig,
    files: RunFiles,
    train_data: OmniglotSplit,
    validation_data: OmniglotSplit,
    command: str | None,
    resuming: bool,
) -> tuple[RunRecord, History, keras.Model, tf.data.Dataset, OneShotValidation]:
    """(record, history, compiled model, training stream, validation) of a run.

    Writes nothing, except that a resumed run settles a best left pending (``resuming.resume``).
    Called in the scope of the run's distribution strategy, if it has one.
    """
    kind = kind_of(config)
    if resuming:
        with dtype_policy(config.mixed_precision):  # a functional model takes the policy it loads under
            record, history, model = resume(files)
        record = record.resumed(config, kind.options, command)
    else:
        history = History()
        keras.utils.set_random_seed(config.seed)
        with dtype_policy(config.mixed_precision):
            model = kind.build(config, train_data)
        if config.start_from is not None:
            copy_embedding(config.start_from, model)
        model = compile_model(model, config)
        model.optimizer.build(model.trainable_variables)  # so its untrained checkpoint holds its variables
        record = RunRecord(
            config=config,
            config_fields=tuple(config.applicable_fields(kind.options)),
            command=command,
            versions=_versions(),
            rebuild=kind.record(model, config),
            parameters=model.count_params(),
        )

    steps_done = int(model.optimizer.iterations.numpy())
    dataset = kind.dataset(train_data, config, steps_done)  # raises now if the data cannot feed it
    best = history.best_val_oneshot_accuracy
    validation = OneShotValidation(
        validation_data,
        lambda model: average_over_shifts(kind.scorer(model), config.test_shifts),
        n_way=config.val_way,
        n_tasks=config.val_tasks,
        within_alphabet=config.val_within_alphabet,
        seed=config.seed,
        best_path=files.pending_best,
        patience=config.patience,
        best=-math.inf if best is None else best,
        best_epoch=history.best_epoch,
        best_sha256=history.best_sha256,
        select=not config.train_on_validation_alphabets,
    )
    return record, history, model, dataset, validation


def embedding_of(model: keras.Model) -> keras.Model:
    """The embedding network of a model: a backbone model's ``embedding``, the siamese twin."""
    embedding = getattr(model, "embedding", None)
    return embedding if isinstance(embedding, keras.Model) else model.get_layer("embedding")


def copy_embedding(source: str | Path, model: keras.Model) -> None:
    """Start ``model``'s embedding network from the best weights of run (or shipped model) ``source``.

    Raises ValueError, before anything is written, if the two embedding networks differ.
    """
    trained, trained_config = load_run_model(find_run(source))
    weights = embedding_of(trained).get_weights()
    target = embedding_of(model)
    shapes = [tuple(w.shape) for w in weights], [tuple(w.shape) for w in target.get_weights()]
    if shapes[0] != shapes[1]:
        raise ValueError(
            f"the embedding network of {source} ({trained_config.model}) does not fit this run's: "
            f"weight shapes {shapes[0]} against {shapes[1]}. Use the backbone and image size it was "
            "trained with (see its config.json)"
        )
    target.set_weights(weights)


def _patience_used_up(best_epoch: int | None, epochs_done: int, patience: int) -> str | None:
    if best_epoch is not None and epochs_done - best_epoch >= patience:
        return f"stopped early: no better validation accuracy for {patience} epochs"
    return None


def _versions() -> dict:
    return {
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }
