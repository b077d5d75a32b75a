"""The callbacks of a training run: one-shot validation, the time budget, the run recorder.

They talk through the epoch's logs and through each other's attributes, and ``model.fit`` is
the one loop (see ``oneshot_lib.training.trainer``):

- ``OneShotValidation``: after every epoch, N-way one-shot accuracy on fixed, seeded tasks from
  the validation alphabets (Koch's criterion: 20-way within an alphabet); keeps the best
  weights (written atomically) and stops early.
- ``Budget``: stops training once a wall-clock or step budget is used up.
- ``RunRecorder``: after every epoch, one history record, the last checkpoint and a log line.
"""

from __future__ import annotations

import math
import sys
import time
import weakref
from collections.abc import Callable
from pathlib import Path

import numpy as np

from oneshot_lib.backend import keras
from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.data.tasks import sample_task_indices
from oneshot_lib.files import save_atomically, sha256_of, staged
from oneshot_lib.scoring.evaluate import Accuracy, accuracy
from oneshot_lib.training.optimizers import KochSGD
from oneshot_lib.training.records import EpochRecord, History
from oneshot_lib.training.run_folder import RunFiles, promote_best, write_history

_BARE_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def save_weights_only(model: keras.Model, path: str | Path) -> None:
    """Save ``model``'s weights to a ``.weights.h5`` file, without its optimiser's state, atomically.

    ``model.save_weights`` of a compiled model also stores the optimiser's variables (with
    Adam, twice the weights again); the weights go through an uncompiled copy of the model
    instead (made once per model, from its config), so the file holds the weights alone. A
    model that cannot be rebuilt from its config is saved as it is.
    """
    if model not in _BARE_COPIES:
        try:
            bare = type(model).from_config(model.get_config())
        except (NotImplementedError, TypeError, ValueError):
            bare = None
        _BARE_COPIES[model] = bare if bare is not None and bare.built else model
    bare = _BARE_COPIES[model]
    if bare is not model:
        bare.set_weights(model.get_weights())
    save_atomically(bare.save_weights, path)


class TrainingDiverged(RuntimeError):
    """The loss or the weights are no longer finite numbers: training cannot go on (lower the learning rate)."""


def check_validation_tasks(data: OmniglotSplit, n_way: int, within_alphabet: bool) -> None:
    """Raise ValueError, saying why, if ``data`` cannot give ``n_way``-way validation tasks."""
    sample_task_indices(data, 1, n_way, within_alphabet=within_alphabet, rng=0)


class OneShotValidation(keras.callbacks.Callback):
    """After every epoch: N-way one-shot accuracy on fixed validation tasks; best; early stop.

    The tasks are drawn once from ``data`` with ``seed`` (Koch's criterion by default: 320
    20-way tasks within one alphabet), so every epoch is measured on the same tasks. The
    accuracy goes into the epoch's logs as ``val_oneshot_accuracy`` (and its standard error as
    ``val_oneshot_stderr``). On a new best, the weights are saved to ``best_path`` (a
    ``.weights.h5`` file, written atomically), if given. After ``patience`` epochs without a
    new best, training stops.

    Args:
        data: the validation alphabets (never the training ones, never the evaluation split).
        make_scorer: trained model -> scorer (e.g. ``siamese.SiameseScorer``).
        best, best_epoch, best_sha256: the best accuracy so far, its epoch and the SHA-256 of
            its weights file, when resuming a run.
        select: False when the validation alphabets are also trained on, so they cannot choose:
            then every epoch's weights replace the last ("best" is the latest) and nothing stops early.
    """

    def __init__(
        self,
        data: OmniglotSplit,
        make_scorer: Callable[[keras.Model], object],
        *,
        n_way: int = 20,
        n_tasks: int = 320,
        within_alphabet: bool = True,
        seed: int = 0,
        best_path: str | Path | None = None,
        patience: int | None = 20,
        best: float = -math.inf,
        best_epoch: int | None = None,
        best_sha256: str | None = None,
        select: bool = True,
    ):
        super().__init__()
        self.select = select
        self.data = data
        self.make_scorer = make_scorer
        self.task_arguments = {"n_tasks": n_tasks, "within_alphabet": within_alphabet, "seed": seed}
        self.n_way = n_way
        self.best_path = None if best_path is None else Path(best_path)
        self.patience = patience
        self.best = best
        self.best_epoch = best_epoch
        self.best_sha256 = best_sha256  # of the file at best_path, recorded by the run
        check_validation_tasks(data, n_way, within_alphabet)  # fail now, not after an epoch

    def measure(self) -> Accuracy:
        """The model's accuracy on the validation tasks, now (silently: the training reports it)."""
        return accuracy(self.make_scorer(self.model), self.data, self.n_way, **self.task_arguments, progress=False)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss", 0.0)
        advice = "The run keeps the epochs before; train again into a new output folder with a lower learning rate."
        if not math.isfinite(loss) or not all(np.isfinite(weights).all() for weights in self.model.get_weights()):
            raise TrainingDiverged(
                f"training diverged in epoch {epoch + 1}: its loss is {loss:g}, or its weights are no longer "
                f"finite numbers. {advice}"
            )
        try:
            result = self.measure()
        except ValueError as error:  # the tasks were checked when this was made: the scores are at fault
            raise TrainingDiverged(
                f"validation after epoch {epoch + 1} failed: {error}. A model whose training diverged scores so. "
                + advice
            ) from error
        if logs is not None:
            logs["val_oneshot_accuracy"] = result.mean
            logs["val_oneshot_stderr"] = result.stderr
        if result.mean > self.best or not self.select:
            self.best, self.best_epoch = result.mean, epoch + 1
            if self.best_path is not None:
                save_weights_only(self.model, self.best_path)
                self.best_sha256 = sha256_of(self.best_path)
        if self.patience is not None and self.best_epoch is not None and epoch + 1 - self.best_epoch >= self.patience:
            self.model.stop_training = True


class Budget(keras.callbacks.Callback):
    """Stop training once ``seconds`` of wall time or ``max_steps`` optimiser steps are used.

    ``elapsed_before`` counts the time earlier sessions of a resumed run already used. The
    check runs after every batch; Keras then finishes the epoch (so it is validated).
    """

    def __init__(self, seconds: float | None = None, max_steps: int | None = None, elapsed_before: float = 0.0):
        super().__init__()
        self.seconds, self.max_steps, self.elapsed_before = seconds, max_steps, elapsed_before
        self.started = time.perf_counter()
        self.reason: str | None = None

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.started

    def exhausted(self, steps: int) -> str | None:
        """Why the budget is used up after ``steps`` steps, or None."""
        if self.max_steps is not None and steps >= self.max_steps:
            return f"step budget reached ({self.max_steps} steps)"
        if self.seconds is not None and self.elapsed() >= self.seconds:
            return f"time budget reached ({self.seconds / 60:g} minutes)"
        return None

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.reason = self.exhausted(int(self.model.optimizer.iterations.numpy()))
        if self.reason:
            self.model.stop_training = True


class RunRecorder(keras.callbacks.Callback):
    """After every epoch: one history record, history.json, the last checkpoint, a log line.

    Each record holds the SHA-256 of the checkpoint saved with it (``last_sha256``), and the
    history the one of the best weights (``best_sha256``), so a damaged file is caught on loading.
    ``validation`` writes a new best to ``files.pending_best``; it replaces ``files.best`` only
    once the history naming it is written, so a kill at any instant leaves a best that loads.

    Runs after ``OneShotValidation`` (put it later in the callback list), so the record holds
    the epoch's validation accuracy; ``history`` is the run's ``records.History`` so far, replaced
    by a longer one after every epoch.
    """

    def __init__(
        self,
        files: RunFiles,
        history: History,
        budget: Budget,
        validation: OneShotValidation,
        batch_size: int,
        verbose: int = 1,
        seen: str = "pairs_seen",
        accuracy_name: str = "pair acc",
    ):
        super().__init__()
        self.files, self.history, self.budget, self.validation = files, history, budget, validation
        self.batch_size = batch_size  # examples per step, counted under the history key ``seen``
        self.seen, self.accuracy_name = seen, accuracy_name
        self.verbose = verbose
        self.progress: keras.utils.Progbar | None = None

    def log(self, line: str) -> None:
        if self.verbose:
            print(line, flush=True)
        with open(self.files.log, "a") as file:
            file.write(line + "\n")

    def on_epoch_begin(self, epoch, logs=None):
        dynamic = sys.stdout.isatty() or "ipykernel" in sys.modules
        self.progress = None
        if self.verbose == 1 and dynamic:
            self.progress = keras.utils.Progbar(self.params.get("steps"), stateful_metrics=["loss", "accuracy"])

    def on_train_batch_end(self, batch, logs=None):
        if self.progress is not None:
            self.progress.update(batch + 1, [(k, float(v)) for k, v in (logs or {}).items()])

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        optimizer = self.model.optimizer
        steps = int(optimizer.iterations.numpy())
        values = {
            "epoch": epoch + 1,
            "step": steps,
            self.seen: steps * self.batch_size,
            "elapsed_seconds": round(self.budget.elapsed(), 2),
            **{name: float(value) for name, value in logs.items()},
            "learning_rate": float(keras.ops.convert_to_numpy(optimizer.learning_rate)),
        }
        if isinstance(optimizer, KochSGD):
            values["momentum"] = float(keras.ops.convert_to_numpy(optimizer.momentum()))
        with staged(self.model.save, self.files.last) as checkpoint:
            record = EpochRecord.from_json({**values, "last_sha256": sha256_of(checkpoint)})
            validation = self.validation
            self.history = self.history.with_epoch(
                record, validation.best_epoch, validation.best, validation.best_sha256
            )
            # The history is written before the checkpoint lands: after a kill in between, the
            # record is one epoch ahead of last.keras, and a resume drops it (resuming.resume).
            write_history(self.files, self.history)
            promote_best(self.files, self.history)
        self.log(describe_epoch(record, validation.best, validation.best_epoch, validation.n_way, self.accuracy_name))


def describe_epoch(
    record: EpochRecord, best: float, best_epoch: int | None, n_way: int = 20, accuracy_name: str = "pair acc"
) -> str:
    """One readable log line for an epoch record; ``accuracy_name`` labels its training accuracy."""
    parts = [
        f"epoch {record.epoch:3d}",
        f"step {record.step:6d}",
        f"{record.minutes:6.1f} min",
        f"loss {_or_nan(record.loss):.4f}",
        f"{accuracy_name} {_or_nan(record.accuracy):.1%}",
        f"val {n_way}-way {_or_nan(record.val_oneshot_accuracy):.1%}",
        f"best {best:.1%} (epoch {best_epoch})",
        f"lr {record.learning_rate:.2g}",
    ]
    return " | ".join(parts)


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else value
